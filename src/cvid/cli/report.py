"""``cvid report DIR --as-of DATE [--view then|now] [--out FILE.html] [--pdf FILE.pdf]``.

One self-contained file (inline CSS, charts as inline SVG, no script, nothing fetched) with the
status of every term and step of the ledger's agreement as of the date, each term's timeline,
each limit's quantity against its limit, the evidence with its log indices, and how to check it
all offline. The statuses are exactly ``cvid status``'s for the same date and view. ``--pdf``
prints the same page with Debian's chromium, headless (exit 2 when no browser is installed).

Exit 0, or 1 when a term is violated (as ``cvid status``; the report is written either way);
2 for bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cvid.agreements import View, parse_as_of
from cvid.cli._common import emit_json, fail, reports_errors
from cvid.report import find_browser, print_pdf, render_report, section_for_ledger, write_report


@reports_errors
def report_command(
    directory: Annotated[
        str, typer.Argument(help="The ledger: its directory, or a postgresql:// URL.")
    ],
    as_of: Annotated[str, typer.Option("--as-of", help="A date (00:00Z) or an instant.")],
    out: Annotated[Path | None, typer.Option("--out", help="The HTML file to write.")] = None,
    view: Annotated[
        View, typer.Option("--view", help="then: records reported by the date; now: all observed.")
    ] = View.NOW,
    package: Annotated[
        Path | None,
        typer.Option("--package", help="The agreement package (default: the ledger's own copy)."),
    ] = None,
    tiles: Annotated[
        str | None,
        typer.Option(help="Where the log's tiles are served, for the how-to-verify commands."),
    ] = None,
    title: Annotated[str | None, typer.Option(help="The report's title.")] = None,
    pdf: Annotated[
        Path | None,
        typer.Option("--pdf", help="Also (or only) print it to this PDF, with chromium headless."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Write a self-contained HTML report of a ledger as of a date, and print its path.

    Exit 0, or 1 when a term is violated (the report is written either way).
    """
    if out is None and pdf is None:
        fail("give --out FILE.html, --pdf FILE.pdf or both")
    if pdf is not None and find_browser() is None:
        fail(
            "--pdf: no browser to print with: install Debian's chromium (apt-get install chromium)"
        )
    section = section_for_ledger(directory, parse_as_of(as_of), view, package=package, tiles=tiles)
    path = write_report(out, [section], title) if out is not None else None
    if pdf is not None:
        print_pdf(render_report([section], title), pdf)
    if as_json:
        emit_json(
            {
                "out": str(path) if path is not None else None,
                "pdf": str(pdf) if pdf is not None else None,
                "agreement": section.agreement,
                "as_of": section.model.as_of,
                "view": section.view,
                "checkpoint": section.checkpoint,
                "package_sha256": section.package_sha256,
                "summary": section.summary,
            }
        )
    else:
        for written in (path, pdf):
            if written is not None:
                typer.echo(str(written))
    if section.violated:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``cvid report`` to ``app``."""
    app.command("report")(report_command)
