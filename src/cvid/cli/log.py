"""``cvid log``, ``cvid receipt`` and ``cvid audit``: build, prove, export and audit a log."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from cvid.audit import TileSource, audit
from cvid.cli._common import AlwaysJsonOpt, emit_json, err_console, problem, reports_errors
from cvid.cli.witness import compare_checkpoints, log_witness, receipt_checks, served_checks
from cvid.errors import InputError, VerificationError
from cvid.evidence import canonical
from cvid.keyfiles import read_vkey
from cvid.store import LEDGER_DB_NAME, Log, check_entry, open_store, verify_store
from cvid.tlog import Receipt, Verifier, b64, verify_receipt
from cvid.witness import cosigned_receipt, export_cosigned

log_app = typer.Typer(
    help="Create, append to, prove, export and verify a log.", no_args_is_help=True
)
receipt_app = typer.Typer(help="Check tlog-proof receipts offline.", no_args_is_help=True)
log_app.command("witness")(log_witness)

DirArg = Annotated[Path, typer.Argument(help="The log's directory.")]
PolicyOpt = Annotated[
    Path | None,
    typer.Option(help="A tlog-policy file: refuse (exit 1) a checkpoint without its quorum."),
]
StateDirOpt = Annotated[
    Path | None,
    typer.Option(
        help="Where the latest accepted checkpoint of each log is kept (default "
        "$XDG_STATE_HOME/cvid or ~/.local/state/cvid)."
    ),
]


@contextmanager
def progress_bar(label: str) -> Iterator[Progress]:
    """A Rich progress bar on standard error (hidden when it is not a terminal)."""
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as bar:
        yield bar


def read_input(file: Path | None) -> tuple[bytes, str]:
    """The bytes of ``file`` (standard input if None) and a name for messages."""
    if file is None:
        return sys.stdin.buffer.read(), "<stdin>"
    try:
        return file.read_bytes(), str(file)
    except OSError as exc:
        raise InputError(f"cannot read {file}: {exc.strerror}") from None


def split_lines(data: bytes) -> list[bytes]:
    """Each line of ``data`` without its LF; a final LF adds no empty entry.

    Lines end at LF only: a CR before it (CRLF text) stays at the end of the entry.
    """
    if not data:
        return []
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return lines


@log_app.command("init")
@reports_errors
def log_init(
    directory: DirArg,
    origin: Annotated[str, typer.Option(help="The log's origin line, also its key name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a log in DIRECTORY and print its verifier key (vkey text)."""
    with Log.create(directory, origin) as log:
        vkey = log.verifier.vkey
    if as_json:
        emit_json({"log": str(directory), "origin": origin, "vkey": vkey})
    else:
        typer.echo(vkey)


@log_app.command("append")
@reports_errors
def log_append(
    directory: DirArg,
    file: Annotated[
        Path | None,
        typer.Argument(help="Entries, one a line, split at LF (default: standard input)."),
    ] = None,
    as_json: AlwaysJsonOpt = False,
) -> None:
    """Append each line of FILE as one entry, durably, in one commit.

    Lines are split at LF only: a CR before it (Windows CRLF text) stays in the entry, as its last
    byte; every other byte is kept as it is. Prints the first index, the count, the new size and
    root. If any line is refused (over 65,535 bytes) nothing is written.
    """
    if (directory / LEDGER_DB_NAME).is_file():
        raise InputError(
            f"{directory}: a ledger's log takes records through the ledger's admission checks "
            "only; use `cvid submit`"
        )
    data, name = read_input(file)
    entries = split_lines(data)
    for n, e in enumerate(entries, 1):
        check_entry(e, f"{name} line {n}")
    with Log.open(directory) as log:
        first = log.append(entries) if entries else log.size
        emit_json(
            {"first": first, "count": len(entries), "size": log.size, "root": b64(log.root())}
        )


@log_app.command("checkpoint")
@reports_errors
def log_checkpoint(
    directory: DirArg,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON: origin, size, root and the note.")
    ] = False,
) -> None:
    """Print the latest signed checkpoint, signing one first if entries are not yet covered."""
    with Log.open(directory) as log:
        signed = log.checkpoint()
    text = signed.encode().decode()
    if as_json:
        cp = signed.checkpoint
        emit_json({"origin": cp.origin, "size": cp.size, "root": b64(cp.root), "note": text})
    else:
        sys.stdout.write(text)


@log_app.command("export")
@reports_errors
def log_export(
    directory: DirArg,
    out: Annotated[Path, typer.Argument(help="Directory to write the tiles tree into.")],
    as_json: AlwaysJsonOpt = False,
) -> None:
    """Write OUT/checkpoint and OUT/tile/..., a static tlog-tiles tree (only what is new).

    OUT/checkpoint carries every witness cosignature stored for it (`cvid log witness`), and
    OUT/checkpoints/<size> every checkpoint the log signed, cosigned (OUT/checkpoints/index
    lists the sizes): see docs/witness.md.

    Signs a new checkpoint first (it needs the log's key) if the latest does not cover every
    entry. An OUT that already holds an export must hold one of this log that this one extends:
    another log's or a fork's is refused (exit 2) and left as it was.
    """
    with Log.open(directory) as log, progress_bar("exporting tiles") as bar:
        task = bar.add_task("export", total=None)
        counts = export_cosigned(log, out, lambda n, t: bar.update(task, completed=n, total=t))
    emit_json({"out": str(out), **counts})


@log_app.command("prove")
@reports_errors
def log_prove(
    directory: DirArg,
    index: Annotated[int, typer.Option(help="The entry's index (0-based).")],
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Errors as JSON (the receipt is printed in its own format)."),
    ] = False,
) -> None:
    """Print a tlog-proof receipt for entry INDEX against the latest checkpoint.

    Signs a new checkpoint first (it needs the log's key) if the latest does not cover INDEX.
    Its checkpoint carries the witness cosignatures stored for it. The receipt is checked
    before it is printed; a log whose storage cannot prove the entry is an error (exit 2)
    pointing to `cvid log verify`.
    """
    with Log.open(directory) as log:
        sys.stdout.write(cosigned_receipt(log, index).encode().decode())


@log_app.command("verify")
@reports_errors
def log_verify(directory: DirArg, as_json: AlwaysJsonOpt = False) -> None:
    """Recompute every hash from the stored entries; check every tile and checkpoint.

    Needs no private key. Exit 0 when intact, 1 listing what is wrong and where (damage that
    would stop the log from opening included), 2 when DIRECTORY holds no usable cvid log.
    """
    driver, verifier = open_store(directory, readonly=True)
    try:
        size = driver.size()
        with progress_bar("verifying") as bar:
            task = bar.add_task("verify", total=size)
            problems = verify_store(
                driver, verifier, progress=lambda n: bar.update(task, completed=n)
            )
    finally:
        driver.close()
    emit_json({"ok": not problems, "size": size, "problems": problems})
    for p in problems:
        problem(p)
    if problems:
        raise typer.Exit(1)


@receipt_app.command("verify")
@reports_errors
def receipt_verify(
    receipt: Annotated[Path, typer.Argument(help="The tlog-proof receipt file.")],
    vkey: Annotated[str, typer.Option(help="The log's verifier key, or a file holding it.")],
    entry: Annotated[
        Path,
        typer.Option(
            help="The entry: its exact bytes (cvid evidence bytes), or the signed record as "
            "JSON, canonicalised (RFC 8785) to the logged bytes."
        ),
    ],
    policy: PolicyOpt = None,
    state_dir: StateDirOpt = None,
    log: Annotated[
        str | None,
        typer.Option(
            "--log",
            help="The log's tiles (directory or URL), to prove the receipt's checkpoint "
            "consistent with the one this verifier remembers when their sizes differ.",
        ),
    ] = None,
    as_json: AlwaysJsonOpt = False,
) -> None:
    """Check a receipt offline: the checkpoint signature and the entry's inclusion.

    With --policy, the checkpoint must carry its quorum of witness cosignatures. The first
    checkpoint accepted of a log is remembered (--state-dir); one with another root at the
    remembered size is a split view. Of another size it is proven consistent with the
    remembered one from --log's tiles (the larger is then remembered); without --log the JSON
    says "consistency": "unchecked". Exit 0 when the entry is proven, 1 when it is not.
    """
    verifier = read_vkey(vkey)
    data, _ = read_input(receipt)
    entry_bytes, _ = read_input(entry)
    rec = Receipt.parse(data)
    cp = verify_receipt(rec, _entry_of(entry_bytes, rec, verifier), verifier)
    consistency = receipt_checks(rec.checkpoint, verifier, policy, state_dir, log)
    emit_json(
        {
            "ok": True,
            "index": rec.index,
            "origin": cp.origin,
            "size": cp.size,
            "root": b64(cp.root),
            "consistency": consistency,
        }
    )


def _entry_of(data: bytes, rec: Receipt, verifier: Verifier) -> bytes:
    """The bytes a receipt proves: ``data`` as given when it is proven, else, when ``data``
    is a JSON object (a signed record, pretty or not), its RFC 8785 form, the logged bytes."""
    try:
        verify_receipt(rec, data, verifier)
        return data
    except VerificationError:
        pass
    try:
        obj = json.loads(data)
    except ValueError:
        return data
    if not isinstance(obj, dict):
        return data
    try:
        return canonical(obj)
    except InputError:
        return data


@reports_errors
def audit_command(
    vkey: Annotated[str, typer.Option(help="The log's verifier key, or a file holding it.")],
    source: Annotated[
        str | None, typer.Argument(help="A tiles directory or an http(s) prefix.")
    ] = None,
    since: Annotated[
        Path | None, typer.Option(help="An older signed checkpoint to prove consistency with.")
    ] = None,
    policy: PolicyOpt = None,
    state_dir: StateDirOpt = None,
    compare: Annotated[
        tuple[Path, Path] | None,
        typer.Option(help="Two checkpoint files A B: exit 1 printing both if inconsistent."),
    ] = None,
    as_json: AlwaysJsonOpt = False,
) -> None:
    """Audit a served log: checkpoint signature, every entry and tile, consistency.

    Over HTTP each file is one GET, refused past 16 MiB (a full entry bundle, the largest
    file a tiles tree holds, inflated size if gzip) or 60 s from start to last byte.

    The served checkpoint must meet a --policy's quorum, and extend the one this verifier last
    accepted of the log (kept in --state-dir, updated after a clean audit). --compare A B
    checks two checkpoints instead (with SOURCE, of different sizes too).

    Exit 0 when the log is intact, 1 with what is wrong and where (a checkpoint, served or
    given with --since, not signed by VKEY included), 2 when the audit cannot be run: a source
    or checkpoint that cannot be read or parsed, a bad --vkey or --since file.
    """
    verifier = read_vkey(vkey)
    if compare is not None:
        compare_checkpoints(compare, verifier, source)
        return
    if source is None:
        raise InputError("give the SOURCE to audit (or --compare A B)")
    old = None
    if since is not None:
        try:
            old = since.read_bytes()
        except OSError as exc:
            raise InputError(f"--since {since}: cannot read it: {exc.strerror}") from None
    src = TileSource(source)
    try:
        with progress_bar("auditing") as bar:
            task = bar.add_task("audit", total=None)
            report = audit(
                src,
                verifier,
                old,
                lambda n, t: bar.update(task, completed=n, total=t),
                since_name=f"--since {since}",
            )
        report.problems += served_checks(
            src, report.checkpoint, verifier, policy, state_dir, report.ok
        )
    finally:
        src.close()
    emit_json(
        {
            "ok": report.ok,
            "origin": report.checkpoint.origin,
            "size": report.checkpoint.size,
            "root": b64(report.checkpoint.root),
            "entries_checked": report.entries,
            "consistent_with_size": report.consistent_with,
            "problems": report.problems,
        }
    )
    for p in report.problems:
        problem(p)
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the log, receipt and audit commands to ``app``."""
    app.add_typer(log_app, name="log")
    app.add_typer(receipt_app, name="receipt")
    app.command("audit")(audit_command)
