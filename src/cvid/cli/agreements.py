"""``cvid status``, ``cvid timeline``, ``cvid agreement`` and ``cvid verdict``.

Exit codes (docs/cli.md): ``status``, ``timeline`` and ``verdict create`` exit 1 when a term is
violated (a finding: at the date, anywhere in the window, in the verdict written);
``agreement check`` exits 1 when a scenario fails; ``verdict verify`` exits 1 when the verdict
does not re-derive; all exit 2 on bad input. The JSON documents are described in
docs/status.md.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from cvid.agreements import (
    Package,
    View,
    from_us,
    load_package,
    opened_ledger,
    parse_as_of,
    show,
    status_under_versions,
    timeline_under_versions,
)
from cvid.cli import remote
from cvid.cli._common import AlwaysJsonOpt, emit_json, reports_errors
from cvid.console import SafeConsole
from cvid.documents import is_violated
from cvid.errors import InputError, VerificationError

if TYPE_CHECKING:
    from cvid.sources import Source
    from cvid.tlog import Checkpoint
    from cvid.witness import Policy

# What only the verdict, check and schema commands need (scenarios, verdicts, witness
# policies, tiles) is imported inside them: `cvid status` starts without it (issue 11).

COLORS = {
    "not_in_force": "dim",
    "pending": "cyan",
    "met_claimed": "yellow",
    "met_verified": "green",
    "overdue": "red",
    "violated": "bold red",
    "reversed": "magenta",
    "disputed": "bold yellow",
    "unknown": "bold white on red",
    "locked": "dim",
    "unlocked": "cyan",
    "delivered": "green",
    "partly_delivered": "yellow",
    "suspended": "bold magenta",
    "withdrawn": "bold magenta",
}

agreement_app = typer.Typer(
    help="Check agreement packages and their scenarios.", no_args_is_help=True
)

LedgerArg = Annotated[
    str,
    typer.Argument(
        help="The ledger: its directory, a postgresql:// URL, or a served ledger's http(s):// URL."
    ),
]
PackageOpt = Annotated[
    Path | None,
    typer.Option("--package", help="The agreement package (default: the ledger's own copy)."),
]
ViewOpt = Annotated[
    View, typer.Option("--view", help="then: records reported by the date; now: all observed.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (docs/status.md).")]


def _source_and_package(
    location: str,
    package: Path | None,
    *,
    verify: bool = False,
) -> tuple[Source, Package]:
    """The ledger's records an evaluation needs (all of them, re-checked, with ``verify``)
    and the package: ``package`` when given, else the ledger's own copy."""
    from cvid.sources import from_ledger

    pkg = load_package(package) if package is not None else None
    source = from_ledger(location, package=pkg, verify=verify)
    # The records live until the command ends: keep the collector from re-scanning them.
    gc.freeze()
    pkg = pkg or source.package
    if pkg is None:
        raise InputError(f"{location}: no agreement package; give --package")
    return source, pkg


def _styled(value: str) -> Text:
    """A status or state as a styled cell: its word as text (a value this module does not
    know yet gets no colour, never markup), so the status never rests on colour alone."""
    return Text(value, style=COLORS.get(value, ""))


def _cells(*values: object) -> list[Text]:
    """Table cells of text that may come from records: plain text, never console markup."""
    return [Text(str(v)) for v in values]


class _Console(SafeConsole):
    """The console of these commands: a :class:`SafeConsole` (record text shown as text,
    control characters as escapes) that stops writing, quietly, when its reader goes away
    (``| head``)."""

    def on_broken_pipe(self) -> None:
        # rich's default exits 1, which reads as "a scenario failed": keep the command's own
        # exit status instead and drop the rest of the output.
        self.quiet = True
        _stdout_to_devnull()


def _stdout_to_devnull() -> None:
    """Point standard output at /dev/null, so that nothing more (not even the final flush)
    fails on a closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # not a real file (tests capture output)
        pass


def _emit(obj: Any) -> None:
    """:func:`emit_json`, quiet when the reader of standard output has gone away."""
    try:
        emit_json(obj)
        sys.stdout.flush()
    except BrokenPipeError:
        _stdout_to_devnull()


def _console() -> SafeConsole:
    console = _Console()
    return console if console.is_terminal else _Console(width=200)


def _columns(table: Table, names: tuple[str, ...]) -> None:
    for name in names:
        wrap = name == "explanation"
        table.add_column(name, overflow="fold", no_wrap=not wrap, ratio=1 if wrap else None)


def _print_status(doc: dict[str, Any]) -> None:
    """The status table of a status document (local or from a served ledger: the same),
    drawn from the view model's status of that view, the rows ``--json`` prints."""
    from cvid.view import judgement_of

    judged = judgement_of(doc)
    console = _console()
    cp = doc["checkpoint"]
    where = f"log {cp['origin']} size {cp['size']}" if cp else "no checkpoint"
    as_of = show(parse_as_of(doc["as_of"]))
    title = f"{doc['agreement']} as of {as_of} (as known {judged.view}; {where})"
    table = Table(title=Text(title))
    _columns(table, ("term", "party", "status", "evidence", "explanation"))
    for t in judged.terms:
        term, party, evidence, why = _cells(
            t.term, t.party, " ".join(map(str, t.evidence)), t.explanation
        )
        table.add_row(term, party, _styled(t.status), evidence, why)
    console.print(table)
    if judged.steps:
        steps = Table(title="reciprocal steps")
        _columns(steps, ("step", "by", "state", "evidence", "explanation"))
        for s in judged.steps:
            step, by, evidence, why = _cells(
                s.step, s.by, " ".join(map(str, s.evidence)), s.explanation
            )
            steps.add_row(step, by, _styled(s.state), evidence, why)
        console.print(steps)


@reports_errors
def status_command(
    directory: LedgerArg,
    as_of: Annotated[str, typer.Option("--as-of", help="A date (00:00Z) or an instant.")],
    view: ViewOpt = View.NOW,
    package: PackageOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Each term's status per party and each step's state as of a date.

    Exit 0, or 1 when a term is violated.
    """
    t = parse_as_of(as_of)
    if remote.is_service(directory):
        with remote.service(directory, package) as svc:
            doc = svc.status(as_of, view)
    else:
        with opened_ledger(directory, package) as (ledger, pkg):
            doc = status_under_versions(ledger, pkg, t, view)[1]
    if as_json:
        emit_json(doc)
    else:
        _print_status(doc)
    if is_violated(doc):
        raise typer.Exit(1)


@reports_errors
def timeline_command(
    directory: LedgerArg,
    start: Annotated[
        str | None, typer.Option("--from", help="Start (default: the first record).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="End (default: the last record's instant).")
    ] = None,
    view: ViewOpt = View.NOW,
    package: PackageOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every change of status of every term and step between two dates.

    Exit 0, or 1 when a term is violated at some time in the window.
    """
    if remote.is_service(directory):
        with remote.service(directory, package) as svc:
            doc = svc.timeline(start, end, view)
    else:
        with opened_ledger(directory, package) as (ledger, pkg):
            doc = timeline_under_versions(ledger, pkg, start, end, view, where=directory)[1]
    if as_json:
        emit_json(doc)
    else:
        _print_timeline(doc)
    if timeline_violated(doc):
        raise typer.Exit(1)


def timeline_violated(doc: dict[str, Any]) -> bool:
    """Whether a timeline document has a term turning (or starting) violated in its window."""
    return any(c.get("type") == "term" and c.get("to") == "violated" for c in doc["changes"])


def _print_timeline(doc: dict[str, Any]) -> None:
    lo, hi = show(parse_as_of(doc["from"])), show(parse_as_of(doc["to"]))
    title = f"{doc['agreement']}: changes from {lo} to {hi} (as known {doc['view']})"
    table = Table(title=Text(title))
    _columns(table, ("at", "term or step", "party", "from", "to", "evidence", "explanation"))
    for c in doc["changes"]:
        at, what, party, before = _cells(
            show(parse_as_of(c["at"])), c["id"], c["party"] or "", c["from"] or ""
        )
        evidence, why = _cells(" ".join(map(str, c["evidence"])), c["explanation"])
        table.add_row(at, what, party, before, _styled(c["to"]), evidence, why)
    _console().print(table)


@agreement_app.command("check")
@reports_errors
def agreement_check(
    package: Annotated[Path, typer.Argument(help="The agreement package's folder.")],
    data: Annotated[
        Path | None, typer.Option(help="Where CSV files that scenarios import are.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate a package and run its scenarios: exit 1 if one fails, 2 if it is invalid."""
    from cvid.agreements import run_scenarios

    pkg = load_package(package)
    results = run_scenarios(pkg, data)
    failed = [r for r in results if not r.ok]
    summary = {
        "package": str(package),
        "agreement": pkg.id,
        "package_sha256": pkg.sha256,
        "terms": len(pkg.terms),
        "steps": len(pkg.steps),
        "scenarios": len(results),
        "checks": sum(r.checks for r in results),
        "failed": [{"file": r.file, "scenario": r.name, "failures": r.failures} for r in failed],
    }
    if as_json:
        _emit(summary)
    else:
        console = _console()
        console.print(
            f"{escape(pkg.id)}: {len(pkg.terms)} terms, {len(pkg.steps)} steps, {len(results)} "
            f"scenarios, {summary['checks']} checks, sha256 {pkg.sha256}"
        )
        for r in results:
            mark = "[green]ok[/]" if r.ok else "[bold red]FAIL[/]"
            console.print(f"  {mark} {r.name} ({r.checks} checks)")
            for f in r.failures:
                console.print(f"      {f}", markup=False)
    if failed:
        raise typer.Exit(1)


@agreement_app.command("schema")
@reports_errors
def agreement_schema_command(as_json: AlwaysJsonOpt = False) -> None:
    """Print the JSON Schema of agreement.yaml (docs/agreement.schema.json)."""
    from cvid.agreements import agreement_schema

    sys.stdout.write(json.dumps(agreement_schema(), indent=2) + "\n")


class _VerdictGroup(TyperGroup):
    """``cvid verdict DIR ...`` is ``cvid verdict create DIR ...``; ``verify`` is a command."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["create", *args]
        return super().parse_args(ctx, args)


verdict_app = typer.Typer(
    cls=_VerdictGroup,
    no_args_is_help=True,
    help="Write a verdict bound to a log checkpoint (cvid verdict DIR ...), or verify one.",
)


@verdict_app.command("create")
@reports_errors
def verdict_create(
    directory: LedgerArg,
    as_of: Annotated[str, typer.Option("--as-of", help="A date (00:00Z) or an instant.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the verdict.")],
    view: ViewOpt = View.NOW,
    package: PackageOpt = None,
    as_json: AlwaysJsonOpt = False,
) -> None:
    """Evaluate the ledger as of a date and write the verdict (RFC 8785 JSON) to OUT.

    Prints a JSON summary. Exit 0, or 1 when a term is violated (the verdict is written
    either way).
    """
    from cvid.agreements import make_verdict, read_verdict, verdict_bytes

    t = parse_as_of(as_of)
    if remote.is_service(directory):
        with remote.service(directory, package) as svc:
            data = svc.verdict(as_of, view)
        doc = read_verdict(data, directory)
    else:
        # A verdict rests on every entry its checkpoint covers, each re-checked.
        source, pkg = _source_and_package(directory, package, verify=True)
        if source.checkpoint is None:
            raise InputError(f"{directory}: no signed checkpoint to bind the verdict to")
        doc = make_verdict(pkg, source.records, t, view, source.checkpoint)
        data = verdict_bytes(doc)
    out.write_bytes(data)
    emit_json(
        {
            "out": str(out),
            "sha256": hashlib.sha256(data).hexdigest(),
            "checkpoint": doc["checkpoint"],
            "package_sha256": doc["package_sha256"],
            "summary": doc["summary"],
            "violated": is_violated(doc),
        }
    )
    if is_violated(doc):
        raise typer.Exit(1)


@verdict_app.command("verify")
@reports_errors
def verdict_verify(
    verdict: Annotated[Path, typer.Argument(help="The verdict file.")],
    log: Annotated[
        str,
        typer.Option("--log", help="A ledger directory, tiles (dir or URL), or a served ledger."),
    ],
    vkey: Annotated[
        str | None, typer.Option(help="The log's verifier key (or a file), for tiles.")
    ] = None,
    package: PackageOpt = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            help="A tlog-policy: refuse a checkpoint without its quorum (default: the "
            "package's witnesses, when it names any)."
        ),
    ] = None,
    clock_vkey: Annotated[
        str | None,
        typer.Option(help="The ledger's clock key, to re-derive a 'then' verdict from tiles."),
    ] = None,
    as_json: AlwaysJsonOpt = False,
) -> None:
    """Re-derive a verdict from the log it names and compare it byte for byte.

    Exit 0 when it re-derives, 1 when it does not (the difference is named), or when the
    checkpoint it rests on lacks the quorum of --policy (or of the package's witnesses).
    With a policy, a verdict as known then under the ledger's clock 'log' must also count
    as known at its date exactly the entries a quorum of the witnesses had cosigned by then
    (their own timestamps, 300 s apart at most): else exit 1, naming the entries.
    A verdict that re-derives exits 0 even when it finds a violation (its JSON says
    "violated"): the question verify answers is whether the verdict holds.
    """
    from cvid.agreements import check_chain, compare, make_verdict, read_verdict, verdict_bytes
    from cvid.sources import verdict_source
    from cvid.tlog import b64

    try:
        claimed = verdict.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {verdict}: {exc.strerror}") from None
    doc = _checked_verdict(read_verdict(claimed, str(verdict)), str(verdict))
    cp = doc["checkpoint"]
    served_pkg = None
    served = remote.served_ledger(log)
    if served is not None:
        # A served ledger is read as its tiles, like a ledger directory's copy is trusted for
        # its log key and package unless --vkey and --package say otherwise (docs/service.md).
        with served:
            info = served.info()
            vkey = vkey or str(info.get("log_vkey"))
            clock_vkey = clock_vkey or (str(info["clock_vkey"]) if "clock_vkey" in info else None)
            served_pkg = served.package() if package is None else None
        log = served.base + "/v1/log"
    # Tiles are replayed through admission with the package's parties and keys.
    given = load_package(package) if package is not None else served_pkg
    source = verdict_source(
        log,
        int(cp["size"]),
        vkey,
        clock=doc.get("clock"),
        view=str(doc.get("view")),
        package=given,
        clock_vkey=clock_vkey,
    )
    assert source.checkpoint is not None
    got_root = b64(source.checkpoint.root)
    if got_root != cp["root"]:
        raise VerificationError(
            f"{log}: the first {cp['size']} entries have root {got_root}, the verdict names "
            f"{cp['root']}"
        )
    if source.checkpoint.origin != cp["origin"]:
        raise VerificationError(
            f"{log}: the log's origin is {source.checkpoint.origin!r}, the verdict names "
            f"{cp['origin']!r}"
        )
    pkg = given or source.package
    if pkg is None:
        raise InputError("give --package: tiles carry no agreement package")
    versions = doc.get("package_versions")
    first = versions[0].get("sha256") if isinstance(versions, list) and versions else None
    named = first if isinstance(first, str) else doc.get("package_sha256")
    if pkg.sha256 != named:
        raise VerificationError(
            f"{package or log}: package SHA-256 {pkg.sha256}, the verdict names {named}"
        )
    again = make_verdict(
        pkg, source.records, str(doc["as_of"]), str(doc["view"]), source.checkpoint
    )
    check_chain(doc, again, str(verdict))
    compare(claimed, verdict_bytes(again), str(verdict))
    witnessed, rules = _witnessed(log, source.checkpoint, vkey, policy, pkg)
    if rules is not None and doc["view"] == View.THEN.value:
        witnessed["then_attested"] = _then_attested(log, doc, source, vkey, rules)
    emit_json(
        {
            "ok": True,
            "verdict": str(verdict),
            "checkpoint": cp,
            "package_sha256": pkg.sha256,
            "violated": is_violated(doc),
            **witnessed,
        }
    )


def _then_attested(
    log: str, doc: dict[str, Any], source: Source, vkey: str | None, rules: Policy
) -> int:
    """Check that what a "then" verdict counts as known at its date is what the witnesses
    attest (:func:`cvid.witnessed.unattested`), when its ledger's clock is ``log``; the
    number of entries checked. :class:`VerificationError` (exit 1) naming the entries where
    the ledger's clock and the witnesses' timestamps disagree."""
    from cvid.agreements import ClockMode, LedgerRecords
    from cvid.keyfiles import read_vkey
    from cvid.witnessed import unattested, witnessed_times  # tiles over HTTP: when needed

    records = source.records
    if not isinstance(records, LedgerRecords) or records.clock is not ClockMode.LOG:
        return 0
    if records.logged_at is None:
        return 0
    assert source.checkpoint is not None
    size = source.checkpoint.size
    witnessed = witnessed_times(log, size, read_vkey(vkey) if vkey is not None else None, rules)
    logged = [records.logged_at.get(i) for i in range(size)]
    problems = unattested(logged, witnessed, from_us(parse_as_of(str(doc["as_of"]))))
    if problems:
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise VerificationError(
            f"{log}: the verdict is as known then, but its logged times are not the witnesses': "
            f"{shown}{more}"
        )
    return size


def _witnessed(
    log: str, cp: Checkpoint, vkey: str | None, policy: Path | None, pkg: Package
) -> tuple[dict[str, Any], Policy | None]:
    """``{"witnesses": [names]}`` when ``policy`` (or the package's witnesses) holds on the
    checkpoint of the verdict's size, with the policy; ``{}`` and None when there is no policy
    to apply. :class:`VerificationError` (exit 1) without the quorum."""
    from cvid.evidence import witness_policy_text
    from cvid.keyfiles import read_vkey
    from cvid.sources import parties_of
    from cvid.witness import parse_policy
    from cvid.witnessed import require_quorum, witnessed_note  # tiles over HTTP: when needed

    if policy is not None:
        try:
            text = policy.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {policy}: {exc.strerror}") from None
        rules = parse_policy(text, str(policy))
    else:
        derived = witness_policy_text(parties_of(pkg))
        if not derived:
            return {}, None
        rules = parse_policy(derived, "the package's witnesses")
    note = witnessed_note(log, cp.size, read_vkey(vkey) if vkey is not None else None)
    names = require_quorum(note, rules, cp.root, f"{log} checkpoint {cp.size}")
    return {"witnesses": names}, rules


_MAX_SIZE = 2**63 - 1


def _checked_verdict(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """``doc`` if the fields ``verdict verify`` reads are well formed; else InputError (exit 2).

    A malformed verdict is bad input, not a verdict that fails to re-derive: its checkpoint
    (origin, size, root), ``as_of``, ``view``, ``package_sha256``, ``terms`` and ``steps``
    are checked before anything is read from the log.
    """

    def bad(what: str) -> InputError:
        return InputError(f"{name}: not a valid verdict: {what}")

    cp = doc["checkpoint"]
    if not isinstance(cp["origin"], str) or not cp["origin"]:
        raise bad("checkpoint.origin must be a non-empty text")
    size = cp["size"]
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= _MAX_SIZE:
        raise bad(f"checkpoint.size must be a whole number from 0 to 2^63-1, not {size!r}")
    root = cp["root"]
    try:
        ok = isinstance(root, str) and len(base64.b64decode(root, validate=True)) == 32
    except ValueError:
        ok = False
    if not ok:
        raise bad(f"checkpoint.root must be 32 bytes in base64, not {root!r}")
    as_of = doc.get("as_of")
    try:
        if not isinstance(as_of, str):
            raise InputError("not a text")
        parse_as_of(as_of)
    except InputError:
        raise bad(f"as_of must be an RFC 3339 instant, not {as_of!r}") from None
    if doc.get("view") not in {v.value for v in View}:
        raise bad(f"view must be then or now, not {doc.get('view')!r}")
    sha = doc.get("package_sha256")
    if sha is not None and not (
        isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)
    ):
        raise bad(f"package_sha256 must be 64 lowercase hex digits, not {sha!r}")
    for key in ("terms", "steps"):
        items = doc.get(key)
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise bad(f"{key} must be a list of objects")
    return doc


def register(app: typer.Typer) -> None:
    """Add ``status``, ``timeline``, ``agreement`` and ``verdict`` to ``app``."""
    app.command("status")(status_command)
    app.command("timeline")(timeline_command)
    app.add_typer(agreement_app, name="agreement")
    app.add_typer(verdict_app, name="verdict")
