"""The view model's parts: plain frozen dataclasses, each turned into JSON by :func:`plain`.

Every instant is RFC 3339 UTC text (``2018-02-05T00:00:00Z``), every log index a 0-based
integer, every figure a float in the unit named beside it. Nothing here is rendered: the CLI
tables, the HTML report and the dashboard draw from these values. docs/view-model.md says
what each member means.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cvid.view.judged import Judgement

#: The ``format`` member of a view model document.
FORMAT = "cvid-view/1"

#: The statuses that are findings, most serious first (the order findings are listed in).
FINDING_STATUSES = ("violated", "overdue", "disputed", "reversed", "unknown")

#: Who vouches for a figure, relative to the party whose obligation it is.
ROLES = ("declared", "observed", "verified")


def plain(value: Any) -> Any:
    """``value`` as JSON-able data: dataclasses as objects, tuples as lists, in field order."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True)
class LimitPeriod:
    """A dated limit: ``value`` (None: no limit) in force from ``start`` until ``end``."""

    start: str
    end: str | None
    value: float | None
    reference: str


@dataclass(frozen=True)
class TermInfo:
    """A term as the package states it."""

    term: str
    title: str
    kind: str
    parties: tuple[str, ...]
    clause: str
    quote: str
    url: str | None
    description: str | None
    unit: str | None
    bound: str | None
    limits: tuple[LimitPeriod, ...]


@dataclass(frozen=True)
class Finding:
    """A term/party whose status needs attention in one view (see :data:`FINDING_STATUSES`)."""

    view: str
    term: str
    party: str
    title: str
    clause: str
    status: str
    other: str | None
    since: str | None
    value: float | None
    limit: float | None
    unit: str | None
    margin: float | None
    margin_percent: float | None
    observed_at: str | None
    evidence: tuple[int, ...]
    explanation: str


@dataclass(frozen=True)
class Requirement:
    """A term/party a step requires to be ``met_verified``, and where it stands."""

    term: str
    party: str
    title: str
    status: str
    met: bool


@dataclass(frozen=True)
class Step:
    """A reciprocal step: who owes it to whom, its state per view, and what would unlock it."""

    step: str
    title: str
    by: str
    to: tuple[str, ...]
    clause: str
    quote: str
    description: str | None
    states: Mapping[str, str]
    owed_now: bool
    requires: tuple[Requirement, ...]
    missing: tuple[Requirement, ...]
    conditional: bool
    says: str
    evidence: tuple[int, ...]


@dataclass(frozen=True)
class Band:
    """A status (or step state) held from ``start`` until ``end``."""

    start: str
    end: str
    status: str
    evidence: tuple[int, ...]
    explanation: str


@dataclass(frozen=True)
class Track:
    """One row of a timeline: a term for one party, or a step (``party`` None)."""

    type: str
    id: str
    party: str | None
    title: str
    bands: tuple[Band, ...]


@dataclass(frozen=True)
class Timeline:
    """Every change of status in one view from ``start`` to ``end``, as tracks and changes
    (``changes`` are the ``cvid timeline --json`` entries)."""

    view: str
    start: str
    end: str
    tracks: tuple[Track, ...]
    changes: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class Point:
    """One figure of a series: when it held, its value, who vouched for it and how."""

    at: str
    value: float
    uncertainty: float | None
    lower: float | None
    upper: float | None
    index: int
    submitter: str
    role: str
    kind: str
    known: Mapping[str, bool]
    superseded: Mapping[str, bool]
    disputed_by: tuple[int, ...]


@dataclass(frozen=True)
class Gap:
    """A time with no usable figure: from ``start`` until ``end``."""

    start: str
    end: str


@dataclass(frozen=True)
class Axis:
    """The value range to draw a series on: around the limit, never forced to zero."""

    min: float
    max: float


@dataclass(frozen=True)
class Series:
    """A limit's quantity for one party over time, against the limit."""

    term: str
    party: str
    title: str
    unit: str
    bound: str
    limits: tuple[LimitPeriod, ...]
    points: tuple[Point, ...]
    gaps: tuple[Gap, ...]
    axis: Axis


@dataclass(frozen=True)
class Value:
    """One value of a record (``unit``, ``uncertainty`` and ``as_of`` for quantities; ``as_of``
    when the figure is dated apart from its record)."""

    name: str
    value: float | bool | str
    unit: str | None
    uncertainty: float | None
    as_of: str | None = None


@dataclass(frozen=True)
class EvidenceSource:
    """Where a record's evidence comes from (``url`` only when it is an http(s) address)."""

    title: str
    url: str | None
    quote: str | None
    speaker: str | None
    venue: str | None
    published: str | None


@dataclass(frozen=True)
class EvidenceAttachment:
    """A document a record names by its SHA-256."""

    sha256: str
    size: int
    name: str | None
    media_type: str | None


@dataclass(frozen=True)
class EvidenceItem:
    """A logged record as every view of it shows it."""

    index: int
    kind: str
    subject: str
    party: str | None
    submitter: str
    submitter_roles: tuple[str, ...]
    role: str
    observed_at: str
    reported_at: str
    summary: str | None
    values: tuple[Value, ...]
    source: EvidenceSource | None
    attachments: tuple[EvidenceAttachment, ...]
    supersedes: int | None
    superseded_by: int | None
    disputes: int | None
    disputed_by: tuple[int, ...]
    known: Mapping[str, bool]
    signer: str


@dataclass(frozen=True)
class Witnesses:
    """Who witnessed the checkpoint: ``needed`` of ``members``, who cosigned and when."""

    needed: int
    members: tuple[str, ...]
    cosigned: tuple[tuple[str, str], ...]
    holds: bool


@dataclass(frozen=True)
class ViewModel:
    """Everything any view of one ledger at one instant shows, computed once."""

    format: str
    agreement: str
    title: str
    description: str | None
    package_sha256: str | None
    checkpoint: Mapping[str, Any] | None
    clock: str
    log_vkey: str | None
    as_of: str
    views: tuple[str, ...]
    start: str
    terms: tuple[TermInfo, ...]
    status: Mapping[str, Judgement]
    findings: tuple[Finding, ...]
    steps: tuple[Step, ...]
    timelines: Mapping[str, Timeline]
    series: tuple[Series, ...]
    evidence: tuple[EvidenceItem, ...]
    witnesses: Witnesses | None = None
    #: The package hash chain up to the version in force at ``as_of`` (docs/amendments.md).
    package_versions: tuple[Mapping[str, Any], ...] = ()

    @property
    def primary(self) -> str:
        """The first view (the one the findings and owed steps are judged in first)."""
        return self.views[0]

    @property
    def violated(self) -> bool:
        """Whether a term is violated in the primary view (commands that judge exit 1)."""
        return self.status[self.primary].violated

    def to_json(self) -> dict[str, Any]:
        """The ``cvid-view/1`` document (docs/view-model.md)."""
        out: dict[str, Any] = plain(self)
        return out
