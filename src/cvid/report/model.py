"""What a report says about one agreement's ledger at one instant, ready to render.

:func:`build_section` is pure: it builds the view model (:func:`cvid.view.build_view`, so every
status is exactly what ``cvid status`` prints, in the primary view and the other one beside
it) and draws from it the charts of each limit (:func:`cvid.report.charts.series_chart`) and
each term's timeline as known now and as known then. Rendering is :mod:`cvid.report.render`;
reading a ledger is :func:`cvid.report.section_for_ledger`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from cvid.agreements import (
    Change,
    Evidence,
    Package,
    View,
    make_verdict,
    parse_instant,
    verdict_bytes,
    version_chain,
)
from cvid.evidence import Record
from cvid.report.charts import Band, series_chart, status_strip
from cvid.report.evidence import EvidenceRow, rows_from_view
from cvid.report.svg import number
from cvid.tlog import Checkpoint
from cvid.view import (
    EvidenceItem,
    Finding,
    Instant,
    Step,
    TermInfo,
    ViewModel,
    Witnesses,
    build_view,
    to_instant,
)

_DAY = 86_400_000_000

#: Statuses that say nothing is judged yet: collapsed into one compact list.
QUIET = ("pending", "not_in_force")

WitnessQuorum = Witnesses
"""Who witnessed the checkpoint a section rests on (the view model's :class:`Witnesses`)."""


@dataclass(frozen=True)
class TermRow:
    """One term's status for one party in each view (``statuses``: view → status)."""

    term: str
    title: str
    kind: str
    clause: str
    party: str
    status: str
    statuses: Mapping[str, str]
    since: str | None
    evidence: tuple[int, ...]
    explanation: str

    @property
    def other(self) -> str | None:
        """Its status in the second view, if there is one."""
        values = list(self.statuses.values())
        return values[1] if len(values) > 1 else None


@dataclass(frozen=True)
class History:
    """A term's (or the steps') timeline: a strip per party and view, and the changes of the
    primary view."""

    id: str
    title: str
    strip: Markup
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class ChartBlock:
    """A limit chart of one party and the figures it plots
    (party, date, value, log index, role, superseded)."""

    term: str
    party: str
    title: str
    svg: Markup
    points: tuple[tuple[str, str, str, int, str, bool], ...]
    beyond: int


@dataclass(frozen=True)
class VersionRow:
    """One version of the package hash chain (docs/amendments.md), as a verdict carries it:
    its SHA-256, the previous version's, when it took effect (None: from the start), the log
    index of the record that completed it and of every consenting record, and whether it is
    the version in force at the section's date (the last of the chain up to it)."""

    number: int
    sha256: str
    previous: str | None
    effective: str | None
    index: int | None
    signed_by: tuple[int, ...]
    in_force: bool


@dataclass(frozen=True)
class Section:
    """Everything the report shows about one ledger; ``slug`` prefixes its HTML anchors."""

    slug: str
    model: ViewModel
    as_of: int
    view: str
    compare: str | None
    findings: tuple[Finding, ...]
    terms: tuple[TermRow, ...]
    pending: tuple[TermRow, ...]
    steps: tuple[Step, ...]
    texts: tuple[TermInfo, ...]
    histories: tuple[History, ...]
    charts: tuple[ChartBlock, ...]
    evidence: tuple[EvidenceRow, ...]
    span: tuple[int, int]
    verdicts: Mapping[str, str] = field(default_factory=dict)
    ledger: str | None = None
    tiles: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def agreement(self) -> str:
        return self.model.agreement

    @property
    def title(self) -> str:
        return self.model.title

    @property
    def description(self) -> str | None:
        return self.model.description

    @property
    def package_sha256(self) -> str | None:
        return self.model.package_sha256

    @property
    def versions(self) -> tuple[VersionRow, ...]:
        """The package hash chain up to the version in force at ``as_of`` (empty for a
        ledger without amendments: its one version is :attr:`package_sha256`)."""
        chain = self.model.package_versions
        return tuple(
            VersionRow(
                number=n,
                sha256=str(v["sha256"]),
                previous=v.get("previous"),
                effective=v.get("effective"),
                index=v.get("index"),
                signed_by=tuple(v.get("signed_by") or ()),
                in_force=n == len(chain),
            )
            for n, v in enumerate(chain, start=1)
        )

    @property
    def checkpoint(self) -> Mapping[str, Any] | None:
        return self.model.checkpoint

    @property
    def log_vkey(self) -> str | None:
        return self.model.log_vkey

    @property
    def witnesses(self) -> Witnesses | None:
        return self.model.witnesses

    @property
    def summary(self) -> Mapping[str, int]:
        """How many term/party pairs have each status in the primary view."""
        return self.model.status[self.view].summary

    @property
    def violated(self) -> bool:
        """Whether a term is violated in the primary view (``cvid report`` exits 1)."""
        return self.model.violated


def slugify(text: str) -> str:
    """An HTML id fragment from ``text`` (letters, digits and dashes)."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "agreement"


def verdict_hashes(
    package: Package, ev: Evidence, t: int, views: Sequence[str], checkpoint: Mapping[str, Any]
) -> dict[str, str]:
    """The SHA-256 of the verdict ``cvid verdict create`` writes for each view (made by the
    same :func:`cvid.agreements.make_verdict`), when the records are exactly the checkpoint's
    (indices 0..size-1); else nothing."""
    if not ev.covers(int(checkpoint.get("size", -1))):
        return {}
    cp = Checkpoint(
        str(checkpoint["origin"]), int(checkpoint["size"]), base64.b64decode(checkpoint["root"])
    )
    return {
        v: hashlib.sha256(verdict_bytes(make_verdict(package, ev, t, v, cp))).hexdigest()
        for v in views
    }


def build_section(
    package: Package,
    records: Iterable[tuple[int, Record]],
    as_of: Instant,
    view: View | str = View.NOW,
    *,
    checkpoint: Mapping[str, Any] | None = None,
    compare: View | str | None = None,
    log_vkey: str | None = None,
    ledger: str | None = None,
    tiles: str | None = None,
    notes: Sequence[str] = (),
    witnesses: Witnesses | None = None,
) -> Section:
    """The report section for ``package`` (the first version: the one in force at ``as_of``
    is chosen from the amendments among ``records``) over ``records`` at ``as_of`` in
    ``view``, with ``compare`` (default: the other view) beside it.

    ``checkpoint`` (origin, size, root) names the log prefix the records are; the other
    keywords are shown as given. Pure: nothing is read or written.
    """
    v = View(view)
    other = View(compare) if compare is not None else (View.THEN if v is View.NOW else View.NOW)
    t = to_instant(as_of)
    ev = records if isinstance(records, Evidence) else Evidence(records)
    # ``package`` is the first version: the section judges under the version in force at
    # ``as_of`` (in its primary view), as cvid status, cvid view and verdicts do.
    # Each view under its own chain (as known then, an amendment logged later is not yet in
    # force), as cvid view and GET /v1/view judge.
    now = version_chain(package, ev.logged())
    chains = {View.NOW: now}
    if View.THEN in ev.vis:
        then = ev.vis[View.THEN]
        chains[View.THEN] = now.known_then(lambda i: then[ev.position[i]])
    chain = chains.get(v, now)
    current = chain.at(t).package
    model = build_view(
        current,
        ev,
        t,
        (v, other),
        checkpoint=checkpoint,
        log_vkey=log_vkey,
        witnesses=witnesses,
        package_versions=chain.upto_json(t) if len(chain.versions) > 1 else (),
        chains={view: c for view, c in chains.items() if view in (v, other)},
    )
    slug = slugify(current.id)
    lo = parse_instant(model.start)
    rows = _term_rows(model)
    verdicts = verdict_hashes(package, ev, t, model.views, checkpoint) if checkpoint else {}
    return Section(
        slug=slug,
        model=model,
        as_of=t,
        view=v.value,
        compare=model.views[1] if len(model.views) > 1 else None,
        findings=tuple(f for f in model.findings if f.view == v.value),
        terms=tuple(r for r in rows if not all(s in QUIET for s in r.statuses.values())),
        pending=tuple(r for r in rows if all(s in QUIET for s in r.statuses.values())),
        steps=model.steps,
        texts=model.terms,
        histories=_histories(model, slug, lo, t),
        charts=_charts(model, slug, t),
        evidence=rows_from_view(_once(model.evidence), v.value),
        span=(lo, t),
        verdicts=verdicts,
        ledger=ledger,
        tiles=tiles,
        notes=tuple(notes),
    )


def _once(items: Sequence[EvidenceItem]) -> tuple[EvidenceItem, ...]:
    """Each log record once, the first time it is listed: the view model lists a record
    with figures dated apart (``as_of``) once per position of the evidence index (its own,
    then one per figure date), and the report's evidence table is one row a record."""
    seen: set[int] = set()
    out = []
    for item in items:
        if item.index not in seen:
            seen.add(item.index)
            out.append(item)
    return tuple(out)


def _term_rows(model: ViewModel) -> tuple[TermRow, ...]:
    primary = model.status[model.primary]
    # Another view may judge under another package version (its own chain): a term its
    # version lacks is not in force there.
    others = [
        (v, {(x.term, x.party): x.status for x in model.status[v].terms}) for v in model.views[1:]
    ]
    out = []
    for r in primary.terms:
        statuses = {model.primary: r.status}
        for view, by_key in others:
            statuses[view] = by_key.get((r.term, r.party), "not_in_force")
        out.append(
            TermRow(
                r.term,
                r.title,
                r.kind,
                r.clause,
                r.party,
                r.status,
                statuses,
                r.since,
                r.evidence,
                r.explanation,
            )
        )
    return tuple(out)


def _change(c: Mapping[str, Any]) -> Change:
    return Change(
        at=parse_instant(c["at"]),
        subject=c["type"],
        id=c["id"],
        party=c["party"],
        before=c["from"],
        after=c["to"],
        evidence=tuple(c["evidence"]),
        explanation=c["explanation"],
    )


def _histories(model: ViewModel, slug: str, lo: int, t: int) -> tuple[History, ...]:
    # Draw a little past the as-of date, so that a status reached on that very day shows.
    hi = t + max((t - lo) // 30, 7 * _DAY)
    primary = [_change(c) for c in model.timelines[model.primary].changes]
    groups: dict[str, list[tuple[str, list[Band]]]] = {}
    titles: dict[str, str] = {}
    for v in model.views:
        for track in model.timelines[v].tracks:
            key = track.id if track.type == "term" else "steps"
            titles[key] = track.title if track.type == "term" else "Reciprocal steps"
            name = track.party if track.type == "term" else track.title
            bands = [
                Band(
                    parse_instant(b.start),
                    hi if i == len(track.bands) - 1 else parse_instant(b.end),
                    b.status,
                    b.explanation,
                )
                for i, b in enumerate(track.bands)
            ]
            groups.setdefault(key, []).append((f"{name} · {v}", bands))
    out = []
    for key, rows in groups.items():
        # The rows of one party (or step) as known in each view, side by side.
        ordered = _interleave(rows, model.views)
        svg = status_strip(f"{slug}-strip-{key}", titles[key], ordered, lo, hi, t)
        mine = tuple(
            c
            for c in primary
            if (c.subject == "term" and c.id == key) or (key == "steps" and c.subject == "step")
        )
        out.append(History(key, titles[key], Markup(svg), mine))
    return tuple(out)


def _interleave(
    rows: list[tuple[str, list[Band]]], views: Sequence[str]
) -> list[tuple[str, list[Band]]]:
    """Rows ``name · view`` grouped by name, each name's views in order."""
    names = list(dict.fromkeys(n.rsplit(" · ", 1)[0] for n, _ in rows))
    by = dict(rows)
    return [(f"{n} · {v}", by[f"{n} · {v}"]) for n in names for v in views if f"{n} · {v}" in by]


def _charts(model: ViewModel, slug: str, t: int) -> tuple[ChartBlock, ...]:
    view = model.primary
    out = []
    for s in model.series:
        svg = series_chart(s, view, t, f"{slug}-chart-{s.term}-{s.party}", f"#{slug}-log-")
        known = [p for p in s.points if p.known.get(view)]
        points = tuple(
            (
                s.party,
                p.at[:10],
                f"{number(p.value)} {s.unit}",
                p.index,
                p.role,
                bool(p.superseded.get(view)),
            )
            for p in known
        )
        beyond = svg.count('class="breach"')
        out.append(ChartBlock(s.term, s.party, s.title, Markup(svg), points, beyond))
    return tuple(out)
