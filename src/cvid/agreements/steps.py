"""Reciprocal steps: ``locked`` until what they require holds, ``unlocked`` (owed), ``delivered``.

A step's state at T depends on every term's finding at T (:func:`evaluate_step`) and on the
owing party's own records about the step's subject (:func:`delivery`).
"""

from __future__ import annotations

from collections.abc import Mapping

from cvid.agreements.cel import ConditionError
from cvid.agreements.instants import from_us
from cvid.agreements.reader import Reader
from cvid.agreements.terms import CompiledStep, Finding, Status, StepState


def evaluate_step(
    e: Reader, step: CompiledStep, findings: Mapping[tuple[str, str], Finding], t: int
) -> tuple[StepState, tuple[int, ...], str]:
    """A step's state at ``t`` given every term's finding at ``t``."""
    cited = [findings[k] for k in step.cites if k in findings]
    evidence = {i for f in cited for i in f.evidence}
    if step.condition is not None:
        status = {f"{term}/{party}": f.status.value for (term, party), f in findings.items()}
        data = {"status": status, "params": e.params(t), "as_of": from_us(t)}
        try:
            ok = step.condition({k: v for k, v in data.items() if k in step.condition.uses})
        except ConditionError as exc:
            ok = False
            why = f"its condition fails: {exc}"
        else:
            why = f"condition {step.condition.source!r} {'holds' if ok else 'does not hold'}"
    else:
        ok = all(findings[k].status is Status.MET_VERIFIED for k in step.requires)
        parts = [
            f"{term}/{party} {findings[(term, party)].status.value}"
            for term, party in step.requires
        ]
        why = ", ".join(parts)
    delivered = delivery(e, step, t)
    if delivered is not None:
        said = e.wording.record(delivered, step.subject.replace("-", " "))
        note = "" if ok else f"; its requirement no longer holds ({why})"
        return (
            StepState.DELIVERED,
            tuple(sorted({*evidence, e.ev.index[delivered]})),
            f"{said}: delivered{note}",
        )
    if ok:
        return (
            StepState.UNLOCKED,
            tuple(sorted(evidence)),
            f"{why}: owed by {step.by}: unlocked",
        )
    return StepState.LOCKED, tuple(sorted(evidence)), f"{why}: locked"


def delivery(e: Reader, step: CompiledStep, t: int) -> int | None:
    """The latest visible, uncorrected record submitted by the owing party showing delivery.

    A record *about* the owing party from anyone else (a newspaper, the other side) does
    not deliver its step: only the party that owes it can.
    """
    series = e.ev.by_subject.get((step.by, step.subject))
    if series is None:
        return None
    for p in reversed(series.pos):
        r = e.ev.records[p]
        if (
            e.vis[p] <= t
            and r.kind in step.kinds
            and r.submitter == step.by
            and not e.ev.superseded(e.view, p, t)
        ):
            return p
    return None
