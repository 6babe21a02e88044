"""The evidence list of a report: each logged record with its values, source and marks.

Pure: rows are built from the view model's evidence (:func:`rows_from_view`), whose links are
kept only for http(s) addresses, so a record cannot smuggle a ``javascript:`` link into the
report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cvid.agreements import parse_instant, show
from cvid.report.svg import number
from cvid.view import EvidenceItem
from cvid.view import Value as ViewValue


@dataclass(frozen=True)
class EvidenceRow:
    """A logged record as the report lists it, with its marks.

    ``url`` is set only for http(s) addresses; ``visible`` says whether the record is used at
    the report's instant in its view (observed — and, as known then, reported — by then).
    """

    index: int
    kind: str
    subject: str
    party: str | None
    submitter: str
    observed_at: str
    reported_at: str
    summary: str | None
    values: tuple[str, ...]
    source: str | None
    url: str | None
    quote: str | None
    speaker: str | None
    supersedes: int | None
    superseded_by: int | None
    disputes: int | None
    disputed_by: tuple[int, ...]
    visible: bool
    signer: str
    role: str = ""
    attachments: tuple[str, ...] = ()


def rows_from_view(items: Sequence[EvidenceItem], view: str) -> tuple[EvidenceRow, ...]:
    """The view model's evidence as report rows, marked as used or not in ``view``."""
    rows = []
    for e in items:
        src = e.source
        rows.append(
            EvidenceRow(
                index=e.index,
                kind=e.kind,
                subject=e.subject,
                party=e.party,
                submitter=e.submitter,
                observed_at=show(parse_instant(e.observed_at)),
                reported_at=show(parse_instant(e.reported_at)),
                summary=e.summary,
                values=tuple(_shown(v) for v in e.values),
                source=src.title if src else None,
                url=src.url if src else None,
                quote=src.quote if src else None,
                speaker=src.speaker if src else None,
                supersedes=e.supersedes,
                superseded_by=e.superseded_by,
                disputes=e.disputes,
                disputed_by=e.disputed_by,
                visible=bool(e.known.get(view)),
                signer=e.signer,
                role=e.role,
                attachments=tuple(
                    f"{a.name or 'attachment'} (SHA-256 {a.sha256}, {a.size:,} bytes)"
                    for a in e.attachments
                ),
            )
        )
    return tuple(rows)


def _shown(v: ViewValue) -> str:
    if v.unit is not None and isinstance(v.value, float):
        u = f" ± {number(v.uncertainty)}" if v.uncertainty is not None else ""
        return f"{v.name}: {number(v.value)}{u} {v.unit}"
    if isinstance(v.value, bool):
        return f"{v.name}: {'yes' if v.value else 'no'}"
    if isinstance(v.value, float):
        return f"{v.name}: {number(v.value)}"
    return f"{v.name}: {v.value}"
