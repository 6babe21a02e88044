"""``cvid demo``: the main job, run end to end on the embedded default (SQLite).

Until the agreement engine lands, the demo shows the log: it builds one from the published New
START aggregates (one CSV row an entry), signs a checkpoint, proves an entry with a receipt and
checks the receipt offline, exports the static tiles, audits them trusting only the log's key,
and verifies the stored log by recomputing every hash.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cvid.audit import TileSource, audit
from cvid.cli._common import emit_json, fail, reports_errors
from cvid.store.export import export_tiles
from cvid.store.fsck import verify_log
from cvid.store.log import Log
from cvid.tlog.note import b64
from cvid.tlog.receipt import verify_receipt

ORIGIN = "cvid.example/demo"
DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "new-start"


def _rows(data: Path) -> list[bytes]:
    path = data / "aggregates.csv"
    if not path.is_file():
        fail(f"{path} not found: the demo logs the New START aggregates from ../shared/data")
    lines = path.read_bytes().splitlines()
    return [line for line in lines[1:] if line.strip()]


@reports_errors
def demo(
    directory: Annotated[Path, typer.Argument(help="Where to build the demo.")] = Path("cvid-demo"),
    data: Annotated[Path, typer.Option(help="The New START data folder.")] = DATA,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Build a log of the New START aggregates, prove an entry, export and audit it."""
    rows = _rows(data)
    if directory.exists():
        shutil.rmtree(directory)
    with Log.create(directory / "log", ORIGIN) as log:
        log.append(rows)
        signed = log.checkpoint()
        index = len(rows) // 2
        receipt = log.receipt(index)
        (directory / "receipt.tlog-proof").write_bytes(receipt.encode())
        proven = verify_receipt(receipt, rows[index], log.verifier)
        counts = export_tiles(log, directory / "tiles")
        src = TileSource(str(directory / "tiles"))
        report = audit(src, log.verifier)
        src.close()
        problems = verify_log(log)
        vkey = log.verifier.vkey
    (directory / "log.vkey").write_text(vkey + "\n")
    summary = {
        "log": str(directory / "log"),
        "vkey": vkey,
        "entries": len(rows),
        "checkpoint": {"size": signed.checkpoint.size, "root": b64(signed.checkpoint.root)},
        "receipt": {
            "index": index,
            "file": str(directory / "receipt.tlog-proof"),
            "verified_against_size": proven.size,
        },
        "export": {"dir": str(directory / "tiles"), "files": counts["written"]},
        "audit": {"ok": report.ok, "entries_checked": report.entries},
        "verify": {"ok": not problems, "problems": problems},
    }
    if json_out:
        emit_json(summary)
    else:
        table = Table(title=f"cvid demo: a verifiable log of New START data in {directory}")
        table.add_column("step")
        table.add_column("result")
        table.add_row("log", f"{len(rows)} entries, origin {ORIGIN}")
        table.add_row(
            "checkpoint", f"size {signed.checkpoint.size}, root {b64(signed.checkpoint.root)}"
        )
        table.add_row(
            "receipt", f"entry {index} proven offline ({directory / 'receipt.tlog-proof'})"
        )
        table.add_row("export", f"{counts['written']} files in {directory / 'tiles'}")
        table.add_row("audit", "intact" if report.ok else "; ".join(report.problems))
        table.add_row("verify", "intact" if not problems else "; ".join(problems))
        Console().print(table)
        typer.echo(f"verifier key: {vkey}")
    if problems or not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``cvid demo`` to ``app``."""
    app.command("demo")(demo)
