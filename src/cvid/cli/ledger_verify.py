"""``cvid ledger verify``: replay admission over a ledger's entries and check its checkpoints.

Registered in ``cvid ledger`` by :mod:`cvid.cli.evidence`. Exit 0 when nothing is found, 1 on
any finding (each printed with its index and check), 2 when the location is not a ledger.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from cvid.cli._common import emit_json, err_console, reports_errors
from cvid.errors import InputError
from cvid.evidence import Ledger, verify_ledger


@reports_errors
def ledger_verify(
    location: Annotated[
        str, typer.Argument(help="The ledger: its directory, or a postgresql:// URL.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help=(
                "Signature-verifying workers: processes from 20,000 entries, threads below "
                "(default: CPUs, ≤ 4)."
            ),
        ),
    ] = None,
) -> None:
    """Re-derive the ledger from its entries: replay admission from index 0, check every
    checkpoint (log signature, root, clock cosignature, times) and the index rows.

    Exit 0 when clean, 1 on any finding (index, check, detail), 2 on bad input.
    """
    if location.startswith(("http://", "https://")):
        raise InputError(
            f"{location}: a served ledger is verified from its tiles (cvid verdict verify, "
            "cvid audit); cvid ledger verify reads a ledger's store"
        )
    with (
        Ledger.open(location, readonly=True) as ledger,
        Progress(
            TextColumn("verifying"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err_console,
            transient=True,
            disable=as_json or not err_console.is_terminal,
        ) as bar,
    ):
        task = bar.add_task("verify", total=ledger.log.driver.size())
        result = verify_ledger(
            ledger, workers=workers, progress=lambda n: bar.update(task, completed=n)
        )
        # Amendment parts and notices against the log before them (admission's last checks).
        found = {f.index for f in result.findings if f.check not in ("checkpoint", "clock")}
        extra = ledger.package_record_findings(result.size, found)
    findings = sorted([*result.findings, *extra], key=lambda f: f.index)
    admitted = result.admitted - len({f.index for f in extra})
    if as_json:
        emit_json(
            {
                "ok": not findings,
                "ledger": location,
                "size": result.size,
                "admitted": admitted,
                "checkpoints": result.checkpoints,
                "findings": [f.to_json() for f in findings],
            }
        )
    else:
        for f in findings:
            typer.echo(str(f))
        verdict = "ok" if not findings else f"{len(findings)} findings"
        typer.echo(
            f"{location}: {result.size} entries, {admitted} admitted, "
            f"{result.checkpoints} checkpoints: {verdict}"
        )
    if findings:
        raise typer.Exit(1)
