"""``cvid demo [DIR]``: the main job, end to end, on the shipped examples.

For New START and the Singapore Joint Statement it makes keys on the spot for every party that
submits, builds a ledger from the example's data (each record signed by its submitter), judges
it as of a telling date in both views (New START 2018-02-05, when the central limits bind;
Singapore 2019-12-31), prints the status tables, writes a verdict per view, shows the log at
work (a receipt verified offline, the static tiles exported and audited against the log key
alone) and writes one self-contained HTML report, ``DIR/report.html``, whose path it prints.

**The directory.** ``DIR`` (default ``cvid-demo``) must be new, empty, or a previous demo
(it holds ``cvid-demo.json``), which is replaced as a whole. Any other non-empty directory is
refused (exit 2) and left untouched. Layout::

    DIR/cvid-demo.json          what was built (the --json summary)
    DIR/report.html             the report of both examples
    DIR/<example>/keys/         <party>.key (mode 0600) and <party>.vkey, made on the spot
    DIR/<example>/package/      the example package registering those keys
    DIR/<example>/ledger/       the ledger (cvid status / timeline / verdict / report use it)
    DIR/<example>/verdict-now.json, verdict-then.json
    DIR/<example>/receipt/      <index>.tlog-proof and <index>.entry (the logged bytes)
    DIR/<example>/tiles/        the log as static tlog-tiles, with the cosigned checkpoint and
                                its checkpoints/ history; DIR/<example>/log.vkey
    DIR/witnesses/<name>/       the three witnesses' keys and state

**Witnesses.** Three witnesses run on 127.0.0.1 for the demo's duration (threads of this
process, stopped at the end). Each package copy names them with a 2-of-3 quorum; after its
commit each ledger has them cosign its checkpoint, and the report shows who did.

Exit 0 when every log check holds, 1 when a receipt or an audit fails, 2 for bad input.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from cvid.agreements import (
    Evaluation,
    View,
    checkpoint_json,
    evaluate,
    make_verdict,
    show,
    verdict_bytes,
)
from cvid.audit import TileSource, audit
from cvid.cli._common import emit_json, fail, reports_errors
from cvid.cli.agreements import COLORS
from cvid.cli.example_ledgers import AMENDED, Built, build
from cvid.console import SafeConsole, safe
from cvid.errors import InputError, VerificationError
from cvid.evidence import Ledger, WitnessDecl, Witnessing
from cvid.report import EXAMPLES, Section, WitnessQuorum, build_section, write_report
from cvid.sources import from_ledger
from cvid.tlog import verify_receipt
from cvid.witness import RunningWitness, cosigned_receipt, export_cosigned, loopback_witnesses

MARKER = "cvid-demo.json"
FORMAT = "cvid-demo/1"
ROOT = Path(__file__).resolve().parents[3]
EXAMPLES_DIR = ROOT / "examples"
TITLE = "cvid demo: New START and the Singapore Joint Statement"


def prepare(directory: Path) -> None:
    """Make ``directory`` ready: new, empty, or a previous demo (removed); else refuse.

    Raises :class:`InputError` (exit 2) for a file, or a non-empty directory that is not a
    previous demo; nothing is touched then.
    """
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory}: exists and is not a directory")
    if directory.is_dir() and any(directory.iterdir()):
        try:
            marker = json.loads((directory / MARKER).read_text())
        except (OSError, ValueError):
            marker = None
        if not (isinstance(marker, dict) and marker.get("format") == FORMAT):
            raise InputError(
                f"{directory}: not empty and not a previous cvid demo (no {MARKER}); "
                "give a new or empty directory"
            )
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text(json.dumps({"format": FORMAT, "complete": False}) + "\n")


#: The demo's witnesses: (name in the policy, key name); two of the three must cosign.
WITNESSES = (
    ("w1", "w1.cvid-demo.example"),
    ("w2", "w2.cvid-demo.example"),
    ("w3", "w3.cvid-demo.example"),
)
QUORUM = 2


def _witnessing(running: list[RunningWitness]) -> Witnessing:
    members = tuple(
        WitnessDecl(name=name, vkey=r.witness.key.vkey, url=r.url + "/")
        for (name, _), r in zip(WITNESSES, running, strict=True)
    )
    return Witnessing(quorum=QUORUM, members=members)


def _publish(built: Built, running: list[RunningWitness]) -> dict[str, Any]:
    """Let the witnesses witness the ledger's log, and have them cosign its checkpoint."""
    with Ledger.open(built.ledger) as ledger:
        for r in running:
            r.witness.state.add_log(ledger.log.origin, ledger.log.verifier.vkey)
        outcome = ledger.publish(timeout=2.0)
    if outcome is None or outcome.policy is None:
        raise InputError(f"{built.package}: the package copy names no witnesses")
    return {
        "needed": QUORUM,
        "members": [name for name, _ in WITNESSES],
        "cosigned": dict(sorted(outcome.policy.cosigned.items())),
        "quorum": outcome.quorum,
        "failures": outcome.failures,
    }


def _quorum(w: dict[str, Any]) -> WitnessQuorum:
    def at(t: int) -> str:
        return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    cosigned = tuple((n, at(t)) for n, t in w["cosigned"].items())
    return WitnessQuorum(w["needed"], tuple(w["members"]), cosigned, bool(w["quorum"]))


def _prove(built: Built, out: Path) -> dict[str, Any]:
    """A receipt for one record (with the witnesses' cosignatures), written beside its logged
    bytes and verified offline."""
    out.mkdir(parents=True, exist_ok=True)
    index = built.proved
    with Ledger.open(built.ledger) as ledger:
        receipt = cosigned_receipt(ledger.log, index)
        entry = ledger.log.read_entries(index, index + 1)[0]
        verifier = ledger.log.verifier
    (out / f"{index}.tlog-proof").write_bytes(receipt.encode())
    (out / f"{index}.entry").write_bytes(entry)
    try:
        cp = verify_receipt(receipt, entry, verifier)
        ok, detail = True, f"proven in a tree of {cp.size}"
    except VerificationError as exc:
        ok, detail = False, exc.diagnostics()
    return {"index": index, "file": str(out / f"{index}.tlog-proof"), "ok": ok, "detail": detail}


def _tiles(built: Built, out: Path) -> dict[str, Any]:
    """Export the ledger's log as static tiles (the checkpoint cosigned, its history beside)
    and audit them trusting only the log key and the package's witness policy."""
    with Ledger.open(built.ledger) as ledger:
        counts = export_cosigned(ledger.log, out)
        verifier = ledger.log.verifier
        policy = ledger.witness_policy()
    src = TileSource(str(out))
    try:
        report = audit(src, verifier)
    finally:
        src.close()
    problems = list(report.problems)
    if policy is not None:
        result = policy.evaluate((out / "checkpoint").read_bytes())
        if not result.quorum:
            problems.append(f"witness quorum is not met: {result.missing}")
    return {
        "dir": str(out),
        "files": counts["written"],
        "audit_ok": report.ok and not problems,
        "entries_checked": report.entries,
        "problems": problems,
    }


def _status_table(name: str, now: Evaluation, then: Evaluation, cp: dict[str, Any]) -> Table:
    table = Table(
        title=f"{safe(name)} as of {show(now.as_of)} (log {safe(cp['origin'])}, size {cp['size']})",
        title_justify="left",
    )
    for col in ("term", "party", "as known now", "as known then", "evidence", "explanation"):
        wrap = col == "explanation"
        table.add_column(col, overflow="fold", no_wrap=not wrap, ratio=1 if wrap else None)
    then_of = {(t.term, t.party): t.status.value for t in then.terms}
    for t in now.terms:
        other = then_of[(t.term, t.party)]
        table.add_row(
            safe(t.term),
            safe(t.party),
            _styled(t.status.value),
            _styled(other),
            " ".join(map(str, t.evidence)) or "-",
            safe(t.explanation),
        )
    if now.steps:
        table.add_section()
        then_steps = {s.step: s.state.value for s in then.steps}
        for s in now.steps:
            table.add_row(
                f"step {safe(s.step)}",
                safe(s.by),
                _styled(s.state.value),
                _styled(then_steps[s.step]),
                " ".join(map(str, s.evidence)) or "-",
                safe(s.explanation),
            )
    return table


def _styled(value: str) -> str:
    return f"[{COLORS.get(value, '')}]{safe(value)}[/]"


def _run_example(
    built: Built, directory: Path, witnessed: dict[str, Any]
) -> tuple[dict[str, Any], Any, Table]:
    """Judge one built example, write its verdicts, prove a record, export and audit;
    ``witnessed`` is what :func:`_publish` said of its checkpoint."""
    ex = built.example
    # Verdicts rest on every entry, each re-checked: read them all.
    source = from_ledger(built.ledger, verify=True)
    signed, pkg = source.checkpoint, source.package
    assert signed is not None and pkg is not None  # every admitted batch is checkpointed
    cp = checkpoint_json(signed)
    views = {v: evaluate(pkg, source.records, ex.as_of, v) for v in (View.NOW, View.THEN)}
    verdicts = {}
    for v in views:
        path = directory / f"verdict-{v.value}.json"
        path.write_bytes(verdict_bytes(make_verdict(pkg, source.records, ex.as_of, v, signed)))
        verdicts[v.value] = str(path)
    receipt = _prove(built, directory / "receipt")
    tiles = _tiles(built, directory / "tiles")
    (directory / "log.vkey").write_text(built.log_vkey + "\n")
    notes = [
        f"Ledger built by cvid demo from {ex.records_from}.",
        f"Keys made on the spot for {', '.join(built.keys)}; the ledger's copy of the package "
        f"registers them instead of the shipped example keys, so its SHA-256 "
        f"({built.ledger_sha256}) differs from the shipped package's ({built.shipped_sha256}) "
        "in its keys: block and the witnesses: block the demo adds, only.",
    ]
    if ex.name in AMENDED:
        notes.append(
            f"The ledger starts from the package's {AMENDED[ex.name].original}/ version and "
            f"records the shipped package as an amendment in force from "
            f"{AMENDED[ex.name].effective} (docs/amendments.md)."
        )
    section = build_section(
        pkg,
        source.records,
        ex.as_of,
        View.NOW,
        checkpoint=cp,
        compare=View.THEN,
        log_vkey=built.log_vkey,
        ledger=str(built.ledger),
        tiles=tiles["dir"],
        notes=notes,
        witnesses=_quorum(witnessed),
    )
    summary = {
        "example": ex.name,
        "agreement": built.agreement,
        "ledger": str(built.ledger),
        "records": built.records,
        "keys": {p: {"vkey": v, "file": str(f)} for p, (v, f) in built.keys.items()},
        "package_sha256": {"shipped": built.shipped_sha256, "ledger": built.ledger_sha256},
        "log_vkey": built.log_vkey,
        "checkpoint": cp,
        "as_of": show(views[View.NOW].as_of),
        "summary": {v.value: e.to_json()["summary"] for v, e in views.items()},
        "verdicts": verdicts,
        "receipt": receipt,
        "tiles": tiles,
        "witnesses": witnessed,
    }
    return summary, section, _status_table(ex.name, views[View.NOW], views[View.THEN], cp)


def _console() -> SafeConsole:
    # Text from outside (package ids, explanations, paths) shown as text, controls escaped.
    console = SafeConsole()
    return console if console.is_terminal else SafeConsole(width=200)


@reports_errors
def demo(
    directory: Annotated[
        Path, typer.Argument(help="Where to build it: new, empty, or a previous demo (replaced).")
    ] = Path("cvid-demo"),
    examples: Annotated[
        Path, typer.Option(help="The folder of the shipped example packages.")
    ] = EXAMPLES_DIR,
    data: Annotated[
        Path | None,
        typer.Option(
            help="A folder holding the examples' data files (aggregates.csv), instead of each "
            "example's own data/."
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Build ledgers of the shipped examples, judge them, prove and audit the logs, write a report.

    Keys are made on the spot. DIR must be new, empty or a previous demo (then replaced).
    Exit 0 when every log check holds, 1 when one fails.
    """
    if not examples.is_dir():
        fail(f"{examples}: no examples folder there (give --examples)")
    prepare(directory)
    console = _console()
    progress = Progress(
        TextColumn("{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=SafeConsole(stderr=True),
        transient=True,
        disable=json_out,
    )
    results, sections, tables = [], [], []
    names = [key_name for _, key_name in WITNESSES]
    with progress, loopback_witnesses(directory / "witnesses", names) as running:
        witnessing = _witnessing(running)
        for ex in EXAMPLES:
            task = progress.add_task(f"{ex.name}: signing records", total=None)

            def advance(done: int, total: int, task: Any = task) -> None:
                progress.update(task, completed=done, total=total)

            built = build(ex, examples, data, directory / ex.name, advance, witnessing)
            progress.update(task, description=f"{ex.name}: witnessing, judging, auditing")
            witnessed = _publish(built, running)
            summary, section, table = _run_example(built, directory / ex.name, witnessed)
            progress.update(task, description=f"{ex.name}: done")
            results.append(summary)
            sections.append(section)
            tables.append(table)
    report = write_report(directory / "report.html", sections, TITLE)
    ok = all(
        r["receipt"]["ok"] and r["tiles"]["audit_ok"] and r["witnesses"]["quorum"] for r in results
    )
    doc = {
        "format": FORMAT,
        "complete": True,
        "ok": ok,
        "directory": str(directory),
        "report": str(report),
        "examples": results,
    }
    (directory / MARKER).write_text(json.dumps(doc, indent=2) + "\n")
    if json_out:
        emit_json(doc)
    else:
        for table, section in zip(tables, sections, strict=True):
            console.print(table)
            _print_setbacks(console, section)
        console.print(_log_table(results, directory))
        console.print(f"report: {report}", markup=False, soft_wrap=True)
    if not ok:
        raise typer.Exit(1)


SETBACKS = ("overdue", "violated", "reversed", "disputed", "unknown")


def _print_setbacks(console: SafeConsole, section: Section) -> None:
    """The changes to a bad status on the way to the as-of date (they may have been cured)."""
    bad = [c for h in section.histories for c in h.changes if c.before and c.after in SETBACKS]
    if not bad:
        return
    console.print(f"on the way to {show(section.as_of)} (as known {section.view}):", markup=False)
    for c in sorted(bad, key=lambda c: c.at):
        cited = f" (log {', '.join(map(str, c.evidence))})" if c.evidence else ""
        console.print(
            f"  {show(c.at)[:10]}  {safe(c.id)} {safe(c.party or '')}: {safe(c.before)} → "
            f"{_styled(c.after)}{cited}"
        )
    console.print()


def _log_table(results: list[dict[str, Any]], directory: Path) -> Table:
    table = Table(
        title=f"the logs: signed, proven, exported, audited (files under {safe(directory)})",
        title_justify="left",
    )
    for col in ("example", "records", "checkpoint", "witnesses", "receipt", "tiles", "verdicts"):
        table.add_column(col, overflow="fold", no_wrap=col in ("checkpoint", "verdicts"))
    for r in results:
        cp, rc, tl, w = r["checkpoint"], r["receipt"], r["tiles"], r["witnesses"]
        quorum = "[green]quorum[/]" if w["quorum"] else "[bold red]NO QUORUM[/]"
        witnessed = (
            f"{quorum} {w['needed']} of {len(w['members'])}\n"
            f"cosigned: {safe(', '.join(w['cosigned']) or 'none')}"
        )
        audit_text = (
            f"[green]audit ok[/], {tl['entries_checked']} entries"
            if tl["audit_ok"]
            else f"[bold red]audit FAILED[/]: {safe('; '.join(tl['problems']))}"
        )
        table.add_row(
            safe(r["example"]),
            str(r["records"]),
            f"{safe(cp['origin'])} size {cp['size']}\nroot {cp['root']}",
            witnessed,
            f"log {rc['index']}: "
            + ("[green]verified offline[/]" if rc["ok"] else safe(rc["detail"])),
            f"{tl['files']} files in {safe(_under(tl['dir'], directory))}/\n{audit_text}",
            "\n".join(safe(_under(v, directory)) for v in r["verdicts"].values()),
        )
    return table


def _under(path: str, directory: Path) -> str:
    """``path`` relative to the demo directory, for short lines."""
    try:
        return str(Path(path).relative_to(directory))
    except ValueError:
        return path


def register(app: typer.Typer) -> None:
    """Add ``cvid demo`` to ``app``."""
    app.command("demo")(demo)
