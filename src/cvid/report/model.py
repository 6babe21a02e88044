"""What a report says about one agreement's ledger at one instant, ready to render.

:func:`build_section` is pure: from a loaded package, the logged records, an instant and a
view it computes the statuses (with :func:`cvid.agreements.evaluate`, so they are exactly what
``cvid status`` prints), every change of status from the first record to the instant, the
charts of each limit's quantity, and the evidence list with its marks. Rendering is
:mod:`cvid.report.render`; reading a ledger is :func:`cvid.report.section_for_ledger`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from cvid.agreements.engine import Evaluation, Instant, evaluate, instant
from cvid.agreements.evidence_index import Evidence, View
from cvid.agreements.instants import show
from cvid.agreements.package import Package
from cvid.agreements.terms import CompiledTerm
from cvid.agreements.timeline import Change, timeline
from cvid.errors import InputError
from cvid.evidence.record import Quantity, Record
from cvid.evidence.units import convert
from cvid.report.charts import Band, LimitChart, Observation, limit_chart, status_strip
from cvid.report.evidence import EvidenceRow, evidence_rows, safe_url
from cvid.report.svg import number

_DAY = 86_400_000_000


@dataclass(frozen=True)
class TermRow:
    """One term's status for one party (``other``: its status in the comparison view)."""

    term: str
    title: str
    kind: str
    clause: str
    party: str
    status: str
    evidence: tuple[int, ...]
    explanation: str
    other: str | None = None


@dataclass(frozen=True)
class TermText:
    """A term as the package states it: the clause quoted, and the package's reading."""

    term: str
    title: str
    kind: str
    parties: tuple[str, ...]
    clause: str
    quote: str
    url: str | None
    description: str | None


@dataclass(frozen=True)
class StepRow:
    """One reciprocal step's state (``other``: its state in the comparison view)."""

    step: str
    title: str
    by: str
    to: tuple[str, ...]
    clause: str
    quote: str
    state: str
    evidence: tuple[int, ...]
    explanation: str
    other: str | None = None


@dataclass(frozen=True)
class History:
    """A term's (or the steps') changes of status, drawn as a strip and listed."""

    id: str
    title: str
    strip: Markup
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class ChartBlock:
    """A limit chart and the figures it plots (party, date, value, log index, superseded)."""

    term: str
    title: str
    svg: Markup
    points: tuple[tuple[str, str, str, int, bool], ...]


@dataclass(frozen=True)
class Section:
    """Everything the report shows about one ledger; ``slug`` prefixes its HTML anchors."""

    slug: str
    agreement: str
    title: str
    description: str | None
    as_of: int
    view: str
    compare: str | None
    package_sha256: str | None
    checkpoint: dict[str, Any] | None
    summary: dict[str, int]
    terms: tuple[TermRow, ...]
    texts: tuple[TermText, ...]
    steps: tuple[StepRow, ...]
    histories: tuple[History, ...]
    charts: tuple[ChartBlock, ...]
    evidence: tuple[EvidenceRow, ...]
    span: tuple[int, int]
    evaluation: Evaluation
    log_vkey: str | None = None
    ledger: str | None = None
    tiles: str | None = None
    notes: tuple[str, ...] = field(default=())
    witnesses: WitnessQuorum | None = None


@dataclass(frozen=True)
class WitnessQuorum:
    """Who witnessed the checkpoint a section rests on: the policy's ``needed`` of
    ``members``, the members whose cosignature verifies on it (with its time, ISO 8601 UTC),
    and whether the quorum holds."""

    needed: int
    members: tuple[str, ...]
    cosigned: tuple[tuple[str, str], ...]
    holds: bool


def slugify(text: str) -> str:
    """An HTML id fragment from ``text`` (letters, digits and dashes)."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "agreement"


def build_section(
    package: Package,
    records: Iterable[tuple[int, Record]],
    as_of: Instant,
    view: View | str = View.NOW,
    *,
    checkpoint: dict[str, Any] | None = None,
    compare: View | str | None = None,
    log_vkey: str | None = None,
    ledger: str | None = None,
    tiles: str | None = None,
    notes: Sequence[str] = (),
    witnesses: WitnessQuorum | None = None,
) -> Section:
    """The report section for ``package`` over ``records`` at ``as_of`` in ``view``.

    ``compare`` adds each term's status in another view beside it. ``checkpoint`` (origin,
    size, root) names the log prefix the records are; the other keywords are shown as given.
    Pure: nothing is read or written.
    """
    v = View(view)
    t = instant(as_of)
    ev = Evidence(records)
    result = evaluate(package, ev, t, v)
    other = evaluate(package, ev, t, View(compare)) if compare is not None else None
    slug = slugify(package.id)
    vis = ev.vis[v]
    lo = min([x for x in vis if x <= t], default=t - 365 * _DAY)
    lo = min(lo, t - _DAY)
    changes = timeline(package, ev, lo, t, v)
    summary = result.to_json()["summary"]
    return Section(
        slug=slug,
        agreement=package.id,
        title=package.title,
        description=package.model.description,
        as_of=t,
        view=v.value,
        compare=View(compare).value if compare is not None else None,
        package_sha256=package.sha256,
        checkpoint=checkpoint,
        summary=summary,
        terms=_term_rows(package, result, other),
        texts=_texts(package),
        steps=_step_rows(package, result, other),
        histories=_histories(package, changes, slug, lo, t),
        charts=_charts(package, ev, v, t, slug),
        evidence=evidence_rows(ev, v, t),
        span=(lo, t),
        evaluation=result,
        log_vkey=log_vkey,
        ledger=ledger,
        tiles=tiles,
        notes=tuple(notes),
        witnesses=witnesses,
    )


def _term_rows(package: Package, ev: Evaluation, other: Evaluation | None) -> tuple[TermRow, ...]:
    titles = {t.id: t.title for t in package.terms}
    others = {(r.term, r.party): r.status.value for r in other.terms} if other else {}
    return tuple(
        TermRow(
            r.term,
            titles[r.term],
            r.kind,
            r.clause,
            r.party,
            r.status.value,
            r.evidence,
            r.explanation,
            others.get((r.term, r.party)),
        )
        for r in ev.terms
    )


def _texts(package: Package) -> tuple[TermText, ...]:
    compiled = {t.id: t for t in package.terms}
    return tuple(
        TermText(
            t.id,
            t.title,
            compiled[t.id].kind,
            compiled[t.id].parties,
            t.clause.ref,
            t.clause.quote,
            safe_url(t.clause.url),
            t.description,
        )
        for t in package.model.terms
    )


def _step_rows(package: Package, ev: Evaluation, other: Evaluation | None) -> tuple[StepRow, ...]:
    model = {s.id: s for s in package.model.steps}
    others = {s.step: s.state.value for s in other.steps} if other else {}
    rows = []
    for s in ev.steps:
        m = model[s.step]
        rows.append(
            StepRow(
                s.step,
                m.title,
                s.by,
                tuple(m.to),
                s.clause,
                m.clause.quote,
                s.state.value,
                s.evidence,
                s.explanation,
                others.get(s.step),
            )
        )
    return tuple(rows)


def _bands(changes: Sequence[Change], hi: int) -> list[Band]:
    return [
        Band(c.at, changes[i + 1].at if i + 1 < len(changes) else hi, c.after, c.explanation)
        for i, c in enumerate(changes)
    ]


def _histories(
    package: Package, changes: Sequence[Change], slug: str, lo: int, t: int
) -> tuple[History, ...]:
    # Draw a little past the as-of date, so that a status reached on that very day shows.
    hi = t + max((t - lo) // 30, 7 * _DAY)
    out = []
    for term in package.terms:
        mine = [c for c in changes if c.subject == "term" and c.id == term.id]
        rows = [(p, _bands([c for c in mine if c.party == p], hi)) for p in term.parties]
        svg = status_strip(f"{slug}-strip-{term.id}", term.title, rows, lo, hi, t)
        out.append(History(term.id, term.title, Markup(svg), tuple(mine)))
    if package.steps:
        mine = [c for c in changes if c.subject == "step"]
        rows = [(s.id, _bands([c for c in mine if c.id == s.id], hi)) for s in package.steps]
        svg = status_strip(f"{slug}-strip-steps", "Reciprocal steps", rows, lo, hi, t)
        out.append(History("steps", "Reciprocal steps", Markup(svg), tuple(mine)))
    return tuple(out)


def _charts(
    package: Package, ev: Evidence, view: View, t: int, slug: str
) -> tuple[ChartBlock, ...]:
    out = []
    for term in package.terms:
        if term.kind != "limit" or term.parameter is None:
            continue
        unit = term.unit or term.parameter.unit or ""
        series = tuple((p, _observations(term, ev, view, t, p, slug)) for p in term.parties)
        chart = LimitChart(
            id=f"{slug}-chart-{term.id}",
            title=term.title,
            unit=unit,
            bound=term.bound,
            series=series,
            limits=tuple(zip(term.parameter.starts, term.parameter.values, strict=True)),
            as_of=t,
        )
        points = tuple(
            (p, show(o.at), f"{number(o.value)} {unit}", o.index, o.superseded)
            for p, obs in series
            for o in obs
        )
        out.append(ChartBlock(term.id, term.title, Markup(limit_chart(chart)), points))
    return tuple(out)


def _observations(
    term: CompiledTerm, ev: Evidence, view: View, t: int, party: str, slug: str
) -> tuple[Observation, ...]:
    series = ev.by_value.get((party, term.quantity))
    out = []
    for p in series.pos if series else ():
        r = ev.records[p]
        if ev.vis[view][p] > t or r.kind not in term.kinds:
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
                continue  # the status table says why the record cannot be used
        idx = ev.index[p]
        out.append(
            Observation(
                ev.obs[p],
                float(q.value),
                idx,
                ev.superseded(view, p, t),
                f"#{slug}-log-{idx}",
                r.submitter if r.submitter != party else None,
            )
        )
    return tuple(out)
