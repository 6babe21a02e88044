"""Computing the view model: the engine's statuses and timelines, series and evidence, once.

:func:`build_view` is pure: from a loaded package, the logged records, an instant and the
views it evaluates the package (:func:`cvid.agreements.evaluate`, so every status is exactly
what ``cvid status`` prints) and the timeline of changes in each view
(:func:`cvid.agreements.timeline`, exactly ``cvid timeline``'s), and derives the findings, the
steps' requirements, each limit's series with its gaps and axis, and the evidence list.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cvid.agreements import (
    DAY,
    Chain,
    Change,
    CompiledTerm,
    Evidence,
    Package,
    View,
    evaluate,
    parse_instant,
    rfc3339,
    timeline,
    to_us,
    versioned_timeline,
)
from cvid.errors import InputError
from cvid.evidence import Quantity, Record, convert
from cvid.view.judged import Judgement, judgement
from cvid.view.model import (
    FINDING_STATUSES,
    FORMAT,
    Axis,
    Band,
    EvidenceAttachment,
    EvidenceItem,
    EvidenceSource,
    Finding,
    Gap,
    LimitPeriod,
    Point,
    Requirement,
    Series,
    Step,
    TermInfo,
    Timeline,
    Track,
    Value,
    ViewModel,
    Witnesses,
)

if TYPE_CHECKING:
    from cvid.evidence import Ledger
    from cvid.sources import Source

Instant = dt.datetime | str | int


def to_instant(value: Instant, name: str = "as_of") -> int:
    """An instant given as microseconds, a date/RFC 3339 text or an aware datetime, in µs.

    :class:`InputError` naming ``name`` for text that is not a date or instant, or a datetime
    without a time zone.
    """
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return parse_instant(value)
        except ValueError as exc:
            raise InputError(f"{name}: not a date or instant: {value!r} ({exc})") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(f"{name}: an instant must carry a time zone")
    return to_us(value)


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an http(s) address (never a ``javascript:`` or ``data:`` link)."""
    if url and re.match(r"^https?://[^\s]+$", url, re.IGNORECASE):
        return url
    return None


def build_view(
    package: Package,
    records: Iterable[tuple[int, Record]] | Evidence,
    as_of: Instant,
    views: Sequence[View | str] = (View.NOW, View.THEN),
    *,
    checkpoint: Mapping[str, Any] | None = None,
    log_vkey: str | None = None,
    witnesses: Witnesses | None = None,
    package_versions: Sequence[Mapping[str, Any]] = (),
    chains: Mapping[View, Chain] | None = None,
    records_for: Callable[[Package], Evidence] | None = None,
) -> ViewModel:
    """The view model of ``package`` over ``records`` at ``as_of``, in each of ``views``.

    The first view is the primary one. A later view the records cannot give (``then`` from
    tiles under the ``log`` clock) is left out; the first must be available (the engine's
    :class:`InputError` says why not). ``checkpoint`` (origin, size, root), ``log_vkey``,
    ``witnesses`` and ``package_versions`` (the package hash chain) are carried as given.

    With ``chains`` (each view's package chain, docs/amendments.md) every view is judged
    under the version in force at ``as_of`` in its own chain (``then`` and ``now`` differ
    when an amendment was logged after what was known then), and its timeline splits at
    that chain's version changes; ``package`` is then the primary view's version (it gives
    the terms, steps, series and evidence). ``records_for(version)`` gives the records an
    evaluation of another version needs (default: ``records``). Pure: nothing is read or
    written.
    """
    t = to_instant(as_of)
    ev = records if isinstance(records, Evidence) else Evidence(records)
    wanted = list(dict.fromkeys(View(v) for v in views))
    if not wanted:
        raise InputError("views: give at least one of then, now")
    chosen = [wanted[0]] + [v for v in wanted[1:] if v in ev.vis]
    primary = chosen[0]
    # The timelines start at the first record known by then (at least a day before as_of).
    vis = ev.vis.get(primary, ev.obs)
    lo = min([x for x in vis if x <= t], default=t - 365 * DAY)
    lo = min(lo, t - DAY)

    def evidence_for(pkg: Package) -> Evidence:
        return ev if records_for is None or pkg is package else records_for(pkg)

    status: dict[str, Judgement] = {}
    timelines: dict[str, Timeline] = {}
    for v in chosen:
        chain = chains.get(v) if chains is not None else None
        # The primary view's version is ``package``; another view's is its own chain's.
        pkg = package if chain is None or v is primary else chain.at(t).package
        mine = evidence_for(pkg)
        doc = evaluate(pkg, mine, t, v).to_json(checkpoint)
        if chain is not None and len(chain.versions) > 1:
            changes = versioned_timeline(chain, evidence_for, lo, t, v)
        else:
            changes = timeline(pkg, mine, lo, t, v)
        since = _since(changes)
        status[v.value] = judgement(v, doc, since, {term.id: term.title for term in pkg.terms})
        timelines[v.value] = _timeline(pkg, v, changes, lo, t)
    clock = str(evaluate(package, ev, t, primary).to_json(checkpoint)["clock"])
    return ViewModel(
        format=FORMAT,
        agreement=package.id,
        title=package.title,
        description=package.model.description,
        package_sha256=package.sha256,
        checkpoint=dict(checkpoint) if checkpoint is not None else None,
        clock=clock,
        log_vkey=log_vkey,
        as_of=rfc3339(t),
        views=tuple(v.value for v in chosen),
        start=rfc3339(lo),
        terms=_terms(package),
        status=status,
        findings=_findings(package, status, [v.value for v in chosen]),
        steps=_steps(package, status, primary.value),
        timelines=timelines,
        series=_series(package, ev, chosen, t),
        evidence=_evidence(package, ev, chosen, t),
        witnesses=witnesses,
        package_versions=tuple(package_versions),
    )


def view_of_ledger(
    ledger: Ledger,
    first: Package | None,
    as_of: Instant,
    views: Sequence[View | str] = (View.NOW, View.THEN),
    *,
    witnesses: Witnesses | None = None,
) -> tuple[Source, ViewModel]:
    """The source read (the primary view's) and the view model of an open ledger at
    ``as_of``, each view judged under the package version in force then in its own chain
    (:func:`cvid.agreements.ledger_chain` in that view; docs/amendments.md), from the records
    that version needs. ``first`` stands for the first version (None: the ledger's own copy).
    Reads the ledger; writes nothing."""
    from cvid.agreements import checkpoint_json, ledger_chain
    from cvid.sources import source_of

    t = to_instant(as_of)
    wanted = list(dict.fromkeys(View(v) for v in views)) or [View.NOW]
    chains = {v: ledger_chain(ledger, first, v) for v in wanted}
    primary = chains[wanted[0]]
    read: dict[str | None, tuple[Source, Evidence]] = {}

    def records_for(pkg: Package) -> Evidence:
        if pkg.sha256 not in read:
            got = source_of(ledger, package=pkg)
            read[pkg.sha256] = (got, got.evidence())
        return read[pkg.sha256][1]

    package = primary.at(t).package
    ev = records_for(package)
    source = read[package.sha256][0]
    vkey = source.meta.get("log_vkey")
    model = build_view(
        package,
        ev,
        t,
        views,
        checkpoint=checkpoint_json(source.checkpoint) if source.checkpoint else None,
        log_vkey=vkey if isinstance(vkey, str) else None,
        witnesses=witnesses,
        package_versions=primary.upto_json(t),
        chains=chains,
        records_for=records_for,
    )
    return source, model


# -- statuses -------------------------------------------------------------------------------------


def _since(changes: Sequence[Change]) -> dict[tuple[str, str, str | None], int]:
    """(type, id, party) → the instant of its last change (changes are in time order)."""
    out: dict[tuple[str, str, str | None], int] = {}
    for c in changes:
        out[(c.subject, c.id, c.party)] = c.at
    return out


def _number(facts: Mapping[str, Any], key: str) -> float | None:
    v = facts.get(key)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _findings(
    package: Package, status: Mapping[str, Judgement], views: Sequence[str]
) -> tuple[Finding, ...]:
    bounds = {term.id: term.bound for term in package.terms}
    units = {term.id: term.unit for term in package.terms}
    out = []
    for v in views:
        others = [status[o] for o in views if o != v]
        other = {(x.term, x.party): x.status for x in others[0].terms} if others else {}
        mine = [x for x in status[v].terms if x.status in FINDING_STATUSES]
        mine.sort(key=lambda x: FINDING_STATUSES.index(x.status))  # stable: package order
        for x in mine:
            value, limit = _number(x.facts, "value"), _number(x.facts, "limit")
            margin = pct = None
            if value is not None and limit is not None:
                margin = limit - value if bounds.get(x.term, "max") == "max" else value - limit
                pct = margin / abs(limit) * 100 if limit else None
            unit = x.facts.get("unit")
            observed = x.facts.get("observed_at")
            out.append(
                Finding(
                    view=v,
                    term=x.term,
                    party=x.party,
                    title=x.title,
                    clause=x.clause,
                    status=x.status,
                    other=other.get((x.term, x.party)),
                    since=x.since,
                    value=value,
                    limit=limit,
                    unit=str(unit) if unit is not None else units.get(x.term),
                    margin=margin,
                    margin_percent=pct,
                    observed_at=str(observed) if observed is not None else None,
                    evidence=x.evidence,
                    explanation=x.explanation,
                )
            )
    return tuple(out)


def _word(status: str) -> str:
    if status.startswith("met_"):
        return f"met ({status[4:]})"
    return status.replace("_", " ")


def _steps(package: Package, status: Mapping[str, Judgement], primary: str) -> tuple[Step, ...]:
    model = {s.id: s for s in package.model.steps}
    titles = {term.id: term.title for term in package.terms}
    now = {(x.term, x.party): x.status for x in status[primary].terms}
    states = {v: {s.step: s for s in j.steps} for v, j in status.items()}
    out = []
    for step in package.steps:
        m = model[step.id]
        mine = states[primary][step.id]
        reqs = tuple(
            Requirement(
                term=term,
                party=party,
                title=titles.get(term, term),
                status=now.get((term, party), "unknown"),
                met=now.get((term, party)) == "met_verified",
            )
            for term, party in step.requires
        )
        missing = tuple(r for r in reqs if not r.met)
        conditional = step.condition is not None
        out.append(
            Step(
                step=step.id,
                title=step.title,
                by=step.by,
                to=tuple(step.to),
                clause=step.clause_ref,
                quote=m.clause.quote,
                description=m.description,
                # A view judged under a version without the step: not in force there.
                states={
                    v: s[step.id].state if step.id in s else "not_in_force"
                    for v, s in states.items()
                },
                owed_now=mine.state == "unlocked",
                requires=reqs,
                missing=missing,
                conditional=conditional,
                says=_step_words(step.by, tuple(step.to), mine.state, missing, conditional),
                evidence=mine.evidence,
            )
        )
    return tuple(out)


def _step_words(
    by: str, to: tuple[str, ...], state: str, missing: Sequence[Requirement], conditional: bool
) -> str:
    """What a step's state means, in plain words (no condition text, no ids)."""
    whom = f" to {', '.join(to)}" if to else ""
    if state == "delivered":
        return f"Delivered by {by}{whom}."
    if state == "unlocked":
        return f"Owed now by {by}{whom}: what it depends on holds."
    if state == "partly_delivered":
        return f"Partly delivered by {by}{whom}: some of its parts are outstanding."
    if state == "reversed":
        return f"Delivered by {by}{whom}, then undone by a later record of {by}."
    if state in ("suspended", "withdrawn"):
        return f"{state.capitalize()} by {by}'s notice: {by} says it no longer owes it."
    lead = f"Not owed yet by {by}{whom}"
    if conditional:
        lead += ": the clause's condition does not hold yet"
    if missing:
        needs = "; ".join(f"{r.title} for {r.party} (now {_word(r.status)})" for r in missing)
        return f"{lead}. It unlocks once these are met and verified: {needs}."
    return f"{lead}."


# -- timelines ------------------------------------------------------------------------------------


def _timeline(package: Package, view: View, changes: Sequence[Change], lo: int, t: int) -> Timeline:
    by: dict[tuple[str, str, str | None], list[Change]] = {}
    for c in changes:
        by.setdefault((c.subject, c.id, c.party), []).append(c)
    tracks = []
    for term in package.terms:
        for party in term.parties:
            tracks.append(
                _track("term", term.id, party, term.title, by.get(("term", term.id, party), []), t)
            )
    for step in package.steps:
        tracks.append(
            _track("step", step.id, None, step.title, by.get(("step", step.id, None), []), t)
        )
    return Timeline(
        view=view.value,
        start=rfc3339(lo),
        end=rfc3339(t),
        tracks=tuple(tracks),
        changes=tuple(c.to_json() for c in changes),
    )


def _track(
    kind: str, id_: str, party: str | None, title: str, changes: Sequence[Change], t: int
) -> Track:
    bands = tuple(
        Band(
            start=rfc3339(c.at),
            end=rfc3339(changes[i + 1].at if i + 1 < len(changes) else t),
            status=c.after,
            evidence=c.evidence,
            explanation=c.explanation,
        )
        for i, c in enumerate(changes)
    )
    return Track(type=kind, id=id_, party=party, title=title, bands=bands)


# -- package --------------------------------------------------------------------------------------


def _limits(term: CompiledTerm) -> tuple[LimitPeriod, ...]:
    p = term.parameter
    if p is None:
        return ()
    n = len(p.starts)
    out = []
    for i, (start, value, ref) in enumerate(zip(p.starts, p.values, p.references, strict=True)):
        end = rfc3339(p.starts[i + 1]) if i + 1 < n else None
        number = float(value) if value is not None else None
        out.append(LimitPeriod(rfc3339(start), end, number, ref))
    return tuple(out)


def _terms(package: Package) -> tuple[TermInfo, ...]:
    compiled = {t.id: t for t in package.terms}
    out = []
    for m in package.model.terms:
        c = compiled[m.id]
        limit = c.kind == "limit" and c.parameter is not None
        out.append(
            TermInfo(
                term=m.id,
                title=m.title,
                kind=c.kind,
                parties=tuple(c.parties),
                clause=m.clause.ref,
                quote=m.clause.quote,
                url=safe_url(m.clause.url),
                description=m.description,
                unit=(c.unit or (c.parameter.unit if c.parameter else None)) if limit else c.unit,
                bound=c.bound if limit else None,
                limits=_limits(c),
            )
        )
    return tuple(out)


# -- series ---------------------------------------------------------------------------------------


def role_of(package: Package, submitter: str, party: str | None, verifiers: Iterable[Any]) -> str:
    """``declared`` (the party itself), ``verified`` (a role the terms accept as verifying),
    else ``observed`` (another party's or an observer's word)."""
    if party is not None and submitter == party:
        return "declared"
    if package.roles.get(submitter, frozenset()) & frozenset(verifiers):
        return "verified"
    return "observed"


def _series(package: Package, ev: Evidence, views: Sequence[View], t: int) -> tuple[Series, ...]:
    out = []
    infos = {i.term: i for i in _terms(package)}
    for term in package.terms:
        if term.kind != "limit" or term.parameter is None:
            continue
        info = infos[term.id]
        unit = info.unit or ""
        for party in term.parties:
            points = _points(package, term, ev, views, t, party)
            used = [
                p for p in points if p.known[views[0].value] and not p.superseded[views[0].value]
            ]
            out.append(
                Series(
                    term=term.id,
                    party=party,
                    title=term.title,
                    unit=unit,
                    bound=term.bound,
                    limits=info.limits,
                    points=points,
                    gaps=_gaps(used, term.freshness, t),
                    axis=_axis(points, term, t),
                )
            )
    return tuple(out)


def _points(
    package: Package,
    term: CompiledTerm,
    ev: Evidence,
    views: Sequence[View],
    t: int,
    party: str,
) -> tuple[Point, ...]:
    series = ev.by_value.get((party, term.quantity))
    out = []
    for p in series.pos if series else ():
        r = ev.records[p]
        known = {v.value: ev.vis[v][p] <= t for v in views}
        if not any(known.values()) or r.kind not in term.kinds:
            continue
        if term.subject is not None and r.subject != term.subject:
            continue
        q = r.values[term.quantity]
        if not isinstance(q, Quantity):
            continue
        if term.unit is not None and q.unit != term.unit:
            try:
                q = convert(q, term.unit, material=term.material)
            except InputError:
                continue  # the status explains why the record cannot be used
        lower, upper = getattr(q, "lower", None), getattr(q, "upper", None)
        out.append(
            Point(
                at=rfc3339(ev.obs[p]),
                value=float(q.value),
                uncertainty=float(q.uncertainty) if q.uncertainty is not None else None,
                lower=float(lower) if isinstance(lower, int | float) else None,
                upper=float(upper) if isinstance(upper, int | float) else None,
                index=ev.index[p],
                submitter=r.submitter,
                role=role_of(package, r.submitter, party, term.verified_by),
                kind=r.kind.value,
                known=known,
                superseded={v.value: ev.superseded(v, p, t) for v in views},
                disputed_by=tuple(
                    ev.index[d] for d in ev.disputers.get(p, ()) if ev.vis[views[0]][d] <= t
                ),
            )
        )
    return tuple(out)


def _gaps(points: Sequence[Point], freshness: int | None, t: int) -> tuple[Gap, ...]:
    """Where no figure holds between the first figure and ``t``.

    With the term's freshness window, a figure holds from its date for the window: a gap is
    any time after the first figure that no figure covers. Without one, a gap is an interval
    between two figures (or the last figure and ``t``) longer than 1.5 times the median
    interval between figures (at least three figures are needed to tell).
    """
    times = sorted({parse_instant(p.at) for p in points})
    if not times:
        return ()
    ends = [*times[1:], t] if t > times[-1] else times[1:]
    out = []
    if freshness is not None:
        for a, b in zip(times, ends, strict=False):
            if b - a > freshness:
                out.append(Gap(rfc3339(a + freshness), rfc3339(b)))
        return tuple(out)
    if len(times) < 3:
        return ()
    typical = statistics.median(b - a for a, b in itertools.pairwise(times))
    for a, b in zip(times, ends, strict=False):
        if b - a > 1.5 * typical:
            out.append(Gap(rfc3339(a), rfc3339(b)))
    return tuple(out)


def _axis(points: Sequence[Point], term: CompiledTerm, t: int) -> Axis:
    """A value range holding every figure (with its bounds) and every limit, padded by 8 % of
    its span and at least 2 % of the limit either side; zero only if the data reach near it."""
    p = term.parameter
    limits = [float(v) for v in (p.values if p else ()) if v is not None]
    values = [x.value for x in points]
    values += [x.lower for x in points if x.lower is not None]
    values += [x.upper for x in points if x.upper is not None]
    values += [x.value - x.uncertainty for x in points if x.uncertainty]
    values += [x.value + x.uncertainty for x in points if x.uncertainty]
    everything = values + limits
    if not everything:
        return Axis(0.0, 1.0)
    lo, hi = min(everything), max(everything)
    ref = abs(limits[-1]) if limits else max(abs(hi), 1.0)
    pad = max((hi - lo) * 0.08, ref * 0.02, 1e-9)
    bottom = lo - pad
    if lo >= 0 > bottom:
        bottom = 0.0
    return Axis(bottom, hi + pad)


# -- evidence -------------------------------------------------------------------------------------


def _evidence(
    package: Package, ev: Evidence, views: Sequence[View], t: int
) -> tuple[EvidenceItem, ...]:
    verifiers = frozenset(r for term in package.terms for r in term.verified_by)
    superseded_by: dict[int, int] = {}
    disputed_by: dict[int, list[int]] = {}
    for i, r in ev.logged():
        if r.supersedes is not None:
            superseded_by.setdefault(r.supersedes, i)
        if r.disputes is not None:
            disputed_by.setdefault(r.disputes, []).append(i)
    out = []
    # Once per logged record (its own position), whatever its figures dated apart.
    for p in ev.bases:
        i, r = ev.index[p], ev.records[p]
        src = r.source
        out.append(
            EvidenceItem(
                index=i,
                kind=r.kind.value,
                subject=r.subject,
                party=r.party,
                submitter=r.submitter,
                submitter_roles=tuple(sorted(x.value for x in package.roles.get(r.submitter, ()))),
                role=role_of(package, r.submitter, r.party, verifiers),
                observed_at=rfc3339(to_us(r.observed_at)),
                reported_at=rfc3339(to_us(r.reported_at)),
                summary=r.summary,
                values=tuple(_value(k, v) for k, v in r.values.items()),
                source=(
                    EvidenceSource(
                        src.title,
                        safe_url(src.url),
                        src.quote,
                        src.speaker,
                        src.venue,
                        src.published,
                    )
                    if src is not None
                    else None
                ),
                attachments=tuple(
                    EvidenceAttachment(a.sha256, a.size, a.name, a.media_type)
                    for a in r.attachments
                ),
                supersedes=r.supersedes,
                superseded_by=superseded_by.get(i),
                disputes=r.disputes,
                disputed_by=tuple(disputed_by.get(i, ())),
                known={v.value: ev.vis[v][p] <= t for v in views},
                signer=r.signer,
            )
        )
    return tuple(out)


def _value(name: str, v: object) -> Value:
    if isinstance(v, Quantity):
        u = float(v.uncertainty) if v.uncertainty is not None else None
        when = rfc3339(to_us(v.as_of)) if v.as_of is not None else None
        return Value(name, float(v.value), v.unit, u, when)
    if isinstance(v, bool | str):
        return Value(name, v, None, None)
    if isinstance(v, int | float):
        return Value(name, float(v), None, None)
    return Value(name, str(v), None, None)
