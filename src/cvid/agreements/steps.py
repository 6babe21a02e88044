"""Reciprocal steps: what a step waits on, whether the owing party delivered it, and undid it.

A step's state at T (:func:`evaluate_step`) is, in this order:

- ``delivered`` when the owing party's latest record about the step (its ``delivered_by``
  kinds and subject, visible and not corrected at T) *says* it is delivered: the step's
  ``delivered_by.condition`` holds on it, or without one, its value ``delivered`` is not
  ``false``. A record saying relief was *not* granted does not deliver it;
- ``reversed`` when a later such record says it is no longer delivered (relief granted, then
  re-imposed) — a record delivering it again makes it ``delivered`` again;
- for a step in ``parts``, each part is decided so by the records naming it in their value
  ``part`` (a record naming no part speaks for every part): ``delivered`` when every part is,
  ``partly_delivered`` when some are;
- otherwise ``suspended`` or ``withdrawn`` when the owing party's notice is in effect
  (:mod:`cvid.agreements.notices`), else ``unlocked`` (owed) when what it requires holds —
  every ``requires`` term met_verified (or its ``condition``), every step it waits on
  delivered, and T not before ``owed_from`` — and ``locked`` when not.

A record *about* the owing party from anyone else (a newspaper, the other side) neither
delivers nor undoes its step: only the party that owes it can.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cvid.agreements.cel import ConditionError
from cvid.agreements.instants import from_us, show
from cvid.agreements.kinds import evaluate_term
from cvid.agreements.notices import describe, in_effect, suspend_term
from cvid.agreements.reader import Reader
from cvid.agreements.terms import CompiledStep, Finding, Status, StepState


@dataclass
class _Track:
    """The delivery of one step (or part) along its records: last delivery, then an undoing."""

    delivered: int | None = None
    undone: int | None = None
    denied: list[int] = field(default_factory=list)

    def take(self, p: int, delivers: bool) -> None:
        if delivers:
            self.delivered, self.undone = p, None
        elif self.delivered is not None:
            self.undone = p
        else:
            self.denied.append(p)

    @property
    def state(self) -> StepState | None:
        if self.delivered is None:
            return None
        return StepState.REVERSED if self.undone is not None else StepState.DELIVERED


def evaluate_step(
    e: Reader,
    step: CompiledStep,
    findings: Mapping[tuple[str, str], Finding],
    t: int,
    steps: Mapping[str, StepState] | None = None,
) -> tuple[StepState, tuple[int, ...], str]:
    """A step's state at ``t`` given every term's finding and earlier steps' states at ``t``."""
    cited = [findings[k] for k in step.cites if k in findings]
    evidence = {i for f in cited for i in f.evidence}
    ok, why = _requirement(e, step, findings, t, steps or {})
    what = step.subject.replace("-", " ")
    tracks = _deliveries(e, step, t)
    idx = e.ev.index
    done = _done(e, step, tracks, what)
    if done is not None:
        state, said = done
        for track in tracks.values():
            evidence.update(idx[p] for p in (track.delivered, track.undone) if p is not None)
        note = "" if ok else _unmet(e, step, tracks, steps or {}, why)
        return state, tuple(sorted(evidence)), f"{said}{note}"
    obs = e.ev.obs
    denied = sorted({p for tr in tracks.values() for p in tr.denied}, key=lambda p: (obs[p], p))[
        -1:
    ]
    said = "".join(f"; {e.wording.record(p, what)}, which does not deliver it" for p in denied)
    evidence.update(idx[p] for p in denied)
    notice = in_effect(e, step.by, step.id, t)
    if notice is not None:
        state = StepState.WITHDRAWN if notice.withdrawal else StepState.SUSPENDED
        evidence.add(idx[notice.p])
        owed = "owed" if ok else "not owed"
        return (
            state,
            tuple(sorted(evidence)),
            f"{describe(e, notice)}: {state.value} (it would be {owed}: {why}{said})",
        )
    if ok:
        return (
            StepState.UNLOCKED,
            tuple(sorted(evidence)),
            f"{why}{said}: owed by {step.by}: unlocked",
        )
    return StepState.LOCKED, tuple(sorted(evidence)), f"{why}{said}: locked"


def _unmet(
    e: Reader,
    step: CompiledStep,
    tracks: Mapping[str | None, _Track],
    steps: Mapping[str, StepState],
    why: str,
) -> str:
    """The words for a delivered step whose requirement does not hold now: ``no longer
    holds`` only if it held when the step was delivered (when the delivering record it rests
    on — for parts, the earliest of them — became visible), else that it did not hold then
    either."""
    first = min(
        (e.vis[tr.delivered] for tr in tracks.values() if tr.delivered is not None),
        default=None,
    )
    if first is None:  # pragma: no cover - only called for a delivered step
        return f"; what it requires does not hold ({why})"
    terms = {x.id: x for x in e.package.terms}
    then = {
        k: suspend_term(e, terms[k[0]], k[1], first, evaluate_term(e, terms[k[0]], k[1], first))
        for k in step.cites
    }
    held, _ = _requirement(e, step, then, first, steps)
    if held:
        return f"; what it requires no longer holds ({why})"
    return f"; what it requires did not hold when it was delivered and does not now ({why})"


def _requirement(
    e: Reader,
    step: CompiledStep,
    findings: Mapping[tuple[str, str], Finding],
    t: int,
    steps: Mapping[str, StepState],
) -> tuple[bool, str]:
    """Whether what the step requires holds at ``t``, and the words for it."""
    parts: list[str] = []
    ok = True
    if step.condition is not None:
        status = {f"{term}/{party}": f.status.value for (term, party), f in findings.items()}
        data = {"status": status, "params": e.params(t), "as_of": from_us(t)}
        try:
            ok = step.condition({k: v for k, v in data.items() if k in step.condition.uses})
        except ConditionError as exc:
            ok = False
            parts.append(f"its condition fails: {exc}")
        else:
            # In words, not CEL: what the condition reads, and whether it holds.
            read = "; ".join(_term_words(e, k, f) for k, f in findings.items())
            held = "holds" if ok else "does not hold"
            parts.append(f"its condition {held} ({read})" if read else f"its condition {held}")
    elif step.requires:
        ok = all(findings[k].status is Status.MET_VERIFIED for k in step.requires)
        parts.extend(_term_words(e, k, findings[k]) for k in step.requires)
    titles = {s.id: s.title for s in e.package.steps}
    for other in step.after:
        state = steps.get(other, StepState.LOCKED)
        ok = ok and state is StepState.DELIVERED
        parts.append(f"step “{titles.get(other, other)}” {state.value.replace('_', ' ')}")
    if step.owed_from is not None:
        if t < step.owed_from:
            ok = False
            parts.append(f"owed from {show(step.owed_from)}")
        else:
            parts.append(f"owed since {show(step.owed_from)}")
    return ok, ", ".join(parts)


def _term_words(e: Reader, key: tuple[str, str], finding: Finding) -> str:
    """``“Eliminate the stand” for KP: met verified``: a term by its title, not its id."""
    term, party = key
    title = next((t.title for t in e.package.terms if t.id == term), term)
    return f"“{title}” for {party}: {finding.status.value.replace('_', ' ')}"


def _done(
    e: Reader, step: CompiledStep, tracks: Mapping[str | None, _Track], what: str
) -> tuple[StepState, str] | None:
    """The delivered, partly delivered or reversed state and its words, or None."""
    w = e.wording
    if not step.parts:
        track = tracks.get(None)
        if track is None or track.state is None:
            return None
        assert track.delivered is not None
        said = w.record(track.delivered, what)
        if track.undone is None:
            return StepState.DELIVERED, f"{said}: delivered"
        undone = w.record(track.undone, what)
        return StepState.REVERSED, f"{said}: delivered; then {undone}, which undoes it: reversed"
    states = {part: tracks[part].state for part in step.parts}
    delivered = [part for part, s in states.items() if s is StepState.DELIVERED]
    reversed_ = [part for part, s in states.items() if s is StepState.REVERSED]
    if not delivered and not reversed_:
        return None

    def at(part: str) -> str:
        p = tracks[part].undone if part in reversed_ else tracks[part].delivered
        assert p is not None
        return f"{part} (log {e.ev.index[p]})"

    words = []
    if delivered:
        words.append("parts delivered: " + ", ".join(map(at, delivered)))
    if reversed_:
        words.append("undone: " + ", ".join(map(at, reversed_)))
    rest = [part for part in step.parts if part not in delivered and part not in reversed_]
    if rest:
        words.append("outstanding: " + ", ".join(rest))
    if len(delivered) == len(step.parts):
        state = StepState.DELIVERED
    elif delivered:
        state = StepState.PARTLY_DELIVERED
    else:
        state = StepState.REVERSED
    return state, f"{what}: {'; '.join(words)}: {state.value}"


def _says_delivered(e: Reader, step: CompiledStep, p: int) -> bool:
    """Whether record ``p`` says the step (or its part) is delivered."""
    r = e.ev.records[p]
    cond = step.delivers
    if cond is None:
        return r.values.get("delivered") is not False
    data = {
        "values": e.ev.plain_values(p),
        "kind": r.kind.value,
        "subject": r.subject,
        "submitter": r.submitter,
        "observed_at": from_us(e.ev.obs[p]),
    }
    try:
        return bool(cond({k: v for k, v in data.items() if k in cond.uses}))
    except ConditionError:
        return False  # a record the condition cannot read does not say it is delivered


def _deliveries(e: Reader, step: CompiledStep, t: int) -> dict[str | None, _Track]:
    """The owing party's visible, uncorrected records about the step at ``t``, tracked by part
    (``None``: the whole step), in observed order."""
    tracks: dict[str | None, _Track] = (
        {part: _Track() for part in step.parts} if step.parts else {None: _Track()}
    )
    for p in delivery_records(e, step, t):
        delivers = _says_delivered(e, step, p)
        if not step.parts:
            tracks[None].take(p, delivers)
            continue
        part = e.ev.records[p].values.get("part")
        if part is None:
            for track in tracks.values():
                track.take(p, delivers)
        elif isinstance(part, str) and part in tracks:
            tracks[part].take(p, delivers)
    return tracks


def delivery_records(e: Reader, step: CompiledStep, t: int) -> list[int]:
    """Positions of the owing party's records about the step visible and uncorrected at ``t``."""
    series = e.ev.by_subject.get((step.by, step.subject))
    if series is None:
        return []
    out = []
    for p in series.pos:
        r = e.ev.records[p]
        if (
            e.vis[p] <= t
            and r.kind in step.kinds
            and r.submitter == step.by
            and not e.ev.superseded(e.view, p, t)
        ):
            out.append(p)
    return out


def delivery(e: Reader, step: CompiledStep, t: int) -> int | None:
    """The latest record of the owing party that says the step is delivered at ``t``, or None
    (for a step in parts: one delivering any part)."""
    found = None
    for p in delivery_records(e, step, t):
        if _says_delivered(e, step, p):
            found = p
    return found
