"""A report section of a ledger or of a source read already, and writing a report file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cvid.agreements import Instant, Package, View, checkpoint_json, load_package
from cvid.errors import InputError
from cvid.report.model import Section, build_section
from cvid.report.render import render_report
from cvid.sources import Source, from_ledger


def section_for_ledger(
    directory: str | Path,
    as_of: Instant,
    view: View | str = View.NOW,
    *,
    package: Path | None = None,
    compare: View | str | None = None,
    tiles: str | None = None,
    notes: Sequence[str] = (),
) -> Section:
    """The report section of the ledger at ``location`` at ``as_of`` in ``view``.

    Reads the records the latest checkpoint covers that the package's terms and steps read,
    with the ledger's package copy, or ``package``. :class:`InputError` if there is no ledger
    there. Writes nothing.
    """
    pkg = load_package(package) if package is not None else None
    # Every entry, re-read and re-checked: the cover names the verdict of exactly these.
    source = from_ledger(directory, package=pkg, verify=True)
    return section_for_source(
        source,
        as_of,
        view,
        package=pkg,
        compare=compare,
        ledger=str(directory),
        tiles=tiles,
        notes=notes,
    )


def section_for_source(
    source: Source,
    as_of: Instant,
    view: View | str = View.NOW,
    *,
    package: Package | None = None,
    compare: View | str | None = None,
    ledger: str | None = None,
    tiles: str | None = None,
    notes: Sequence[str] = (),
) -> Section:
    """The report section of the records of ``source`` (a ledger's, read already).

    ``package`` defaults to the source's own (the ledger's copy); ``ledger`` and ``tiles`` are
    how the report names where the ledger and its tiles are (shown as given).
    """
    pkg = package or source.package
    if pkg is None:
        raise InputError(f"{source.name}: no agreement package; give --package")
    vkey = source.meta.get("log_vkey")
    return build_section(
        pkg,
        source.records,
        as_of,
        view,
        checkpoint=checkpoint_json(source.checkpoint) if source.checkpoint else None,
        compare=compare,
        log_vkey=vkey if isinstance(vkey, str) else None,
        ledger=ledger,
        tiles=tiles,
        notes=notes,
    )


def write_report(path: Path, sections: Sequence[Section], title: str | None = None) -> Path:
    """Render ``sections`` into ``path`` (UTF-8), replacing it atomically; return ``path``."""
    html = render_report(sections, title)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
