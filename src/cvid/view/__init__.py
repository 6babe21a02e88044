"""One view model of a ledger at an instant: what the CLI tables, the report and the dashboard show.

:func:`build_view` computes, once and as plain data, the status of every term and step in each
view ("now" and "then"), the findings (violated, overdue, disputed, reversed, unknown: value,
limit, margin, since when), the reciprocal steps (owed now, what would unlock the rest), the
timeline of changes, each limit's series against the limit (points by who vouched for them,
gaps, an axis around the limit) and the evidence. Nothing in it is rendered;
``ViewModel.to_json()`` is the ``cvid-view/1`` document of docs/view-model.md::

    from cvid.view import view_for_ledger
    model = view_for_ledger("ledger", "2018-02-05")
    print([f.term for f in model.findings])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cvid.agreements import Chain, Package, View, ledger_chain
from cvid.agreements.verdict import checkpoint_json
from cvid.errors import InputError
from cvid.evidence import Ledger
from cvid.sources import Source, source_of
from cvid.view.build import Instant, build_view, judgement_of, to_instant
from cvid.view.model import FINDING_STATUSES, FORMAT, ViewModel, Witnesses

__all__ = [
    "FINDING_STATUSES",
    "FORMAT",
    "ViewModel",
    "Witnesses",
    "build_view",
    "judgement_of",
    "to_instant",
    "view_for_ledger",
    "view_for_source",
    "view_under_versions",
]


def view_for_source(
    source: Source,
    as_of: Instant,
    views: Sequence[View | str] = (View.NOW, View.THEN),
    *,
    witnesses: Witnesses | None = None,
    chain: Chain | None = None,
) -> ViewModel:
    """The view model of the records of ``source`` (a ledger's, read already) with its own
    package copy, or with the version ``chain`` says is in force at ``as_of`` (and the
    chain up to it). :class:`InputError` if the source carries no package (tiles)."""
    t = to_instant(as_of)
    pkg = source.package if chain is None else chain.at(t).package
    if pkg is None:
        raise InputError(f"{source.name}: no agreement package to judge the records by")
    vkey = source.meta.get("log_vkey")
    return build_view(
        pkg,
        source.evidence(),
        as_of,
        views,
        checkpoint=checkpoint_json(source.checkpoint) if source.checkpoint else None,
        log_vkey=vkey if isinstance(vkey, str) else None,
        witnesses=witnesses,
        package_versions=() if chain is None else chain.upto_json(t),
    )


def view_under_versions(
    ledger: Ledger,
    package: Package | None,
    as_of: Instant,
    views: Sequence[View | str] = (View.NOW, View.THEN),
    *,
    witnesses: Witnesses | None = None,
) -> tuple[Source, ViewModel]:
    """The source read and the view model of an open ledger at ``as_of`` under the package
    version in force then (docs/amendments.md); ``package`` stands for the first version
    (None: the ledger's own copy)."""
    t = to_instant(as_of)
    primary = View(next(iter(views), View.NOW))
    chain = ledger_chain(ledger, package, primary)
    source = source_of(ledger, package=chain.at(t).package)
    return source, view_for_source(source, t, views, witnesses=witnesses, chain=chain)


def view_for_ledger(
    location: str | Path,
    as_of: Instant,
    views: Sequence[View | str] = (View.NOW, View.THEN),
    *,
    witnesses: Witnesses | None = None,
) -> ViewModel:
    """The view model of the ledger at ``location`` (a directory or PostgreSQL URL): the
    records its latest checkpoint covers. :class:`InputError` if there is no ledger there."""
    with Ledger.open(location, readonly=True) as ledger:
        return view_under_versions(ledger, None, as_of, views, witnesses=witnesses)[1]
