"""The view model of a ledger, or of a source read already, under the package version in force."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cvid.agreements import Chain, Package, View, checkpoint_json
from cvid.errors import InputError
from cvid.evidence import Ledger
from cvid.sources import Source
from cvid.view.build import Instant, build_view, to_instant, view_of_ledger
from cvid.view.model import ViewModel, Witnesses


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
    """The source read and the view model of an open ledger at ``as_of``, each view judged
    under the package version in force then in its own chain (docs/amendments.md: as known
    then, an amendment logged later is not yet in force); ``package`` stands for the first
    version (None: the ledger's own copy). :func:`cvid.view.build.view_of_ledger`."""
    return view_of_ledger(ledger, package, as_of, views, witnesses=witnesses)


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
