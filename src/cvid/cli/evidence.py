"""``cvid key``, ``cvid evidence``, ``cvid ledger``, ``cvid submit`` and ``cvid import``.

Signed evidence and the ledger: make keys, write and sign records, create a ledger for an
agreement, admit records (all or nothing) with receipts, list and show them, and import tables.
Refusals exit 2 with one line naming the record and the check it failed; nothing is written.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from cvid.cli import remote
from cvid.cli._common import AlwaysJsonOpt, emit_json, problem, reports_errors
from cvid.cli.ledger_verify import ledger_verify
from cvid.cli.log import progress_bar, read_input
from cvid.console import SafeConsole
from cvid.documents import keys_document, record_document
from cvid.errors import Error, InputError
from cvid.evidence import (
    Candidate,
    ClockMode,
    KeyGrant,
    KeyState,
    Kind,
    Ledger,
    LoggedRecord,
    Record,
    RecordError,
    RecordQuery,
    Row,
    TableMapping,
    format_values,
    iter_listed,
    load_mapping,
    observed_bounds,
    parse_instant,
    parse_json,
    read_csv,
    read_files,
    read_records,
    record_schema,
    sign_record,
    split_logged,
    summary,
    table_records,
    template,
    witness_policy_text,
)
from cvid.keyfiles import read_signer, write_signer
from cvid.tlog import Signer
from cvid.witness import cosigned_note, cosigned_receipt

key_app = typer.Typer(help="Make signing keys for evidence.", no_args_is_help=True)
evidence_app = typer.Typer(
    help="Write, sign, list and show evidence records.", no_args_is_help=True
)
ledger_app = typer.Typer(help="Create and inspect an agreement's ledger.", no_args_is_help=True)
import_app = typer.Typer(help="Turn tables into signed records.", no_args_is_help=True)
ledger_app.command("verify")(ledger_verify)

LedgerArg = Annotated[
    str,
    typer.Argument(
        help="The ledger: its directory, a postgresql:// URL, or a served ledger's http(s):// URL."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
KeyOpt = Annotated[Path, typer.Option("--key", help="The private key file (cvid key new).")]
out = SafeConsole(soft_wrap=True)


def _admit(ledger: Ledger, batch: list[Candidate]) -> list[int]:
    try:
        return ledger.submit(batch)
    except RecordError as exc:
        raise InputError(f"{exc.diagnostics()}; nothing was written") from None


def _receipt_texts(ledger: Ledger, indexes: list[int]) -> dict[str, str]:
    """Each record's tlog-proof receipt, as text, by index, with the witnesses' cosignatures."""
    return {str(i): cosigned_receipt(ledger.log, i).encode().decode() for i in indexes}


def _publish(ledger: Ledger, timeout: float) -> dict[str, Any]:
    """Witness the latest checkpoint with the package's witnesses (after the commit);
    ``{"witnesses": {quorum, cosigned, failures}}``, or ``{}`` when the package names none."""
    try:
        outcome = ledger.publish(timeout)
    except Error as exc:  # the records are committed; only the cosignatures were lost
        return {"witnesses": {"quorum": False, "cosigned": [], "failures": {"store": str(exc)}}}
    if outcome is None:
        return {}
    cosigned = sorted(outcome.policy.cosigned) if outcome.policy is not None else []
    return {
        "witnesses": {
            "quorum": outcome.quorum,
            "cosigned": cosigned,
            "failures": outcome.failures,
        }
    }


def _receipts(
    texts: dict[str, str], directory: Path | None
) -> tuple[dict[str, str], dict[str, str]]:
    """Receipts by index: written to ``directory`` (paths returned) or as text; and why each
    receipt that could not be written was not (the disk full, say), by index.

    A receipt file is written whole or not at all (a temporary file, synced, then renamed), so
    a ``<index>.tlog-proof`` that exists is a complete receipt.
    """
    if directory is None:
        return texts, {}
    got: dict[str, str] = {}
    failed: dict[str, str] = {}
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return got, {i: f"{directory}: {exc.strerror or exc}" for i in texts}
    for i, text in texts.items():
        path = directory / f"{i}.tlog-proof"
        part = directory / f".{i}.tlog-proof.part"
        try:
            with part.open("w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(part, path)
        except OSError as exc:
            part.unlink(missing_ok=True)
            failed[i] = f"{path}: {exc.strerror or exc}"
            continue
        got[i] = str(path)
    return got, failed


def _after_commit(
    ledger: Ledger,
    where: str,
    indexes: list[int],
    receipts: Path | None,
    as_json: bool,
    extra: dict[str, Any],
) -> None:
    """Report records the ledger has committed, truthfully whatever fails now.

    The records are admitted: anything that fails afterwards (a receipt that cannot be made or
    written, the disk full) is reported beside them as what it is, and the command exits 1,
    never 2 ("nothing was changed").
    """
    failed: dict[str, str] = {}
    try:
        texts = _receipt_texts(ledger, indexes)
    except Error as exc:
        texts, failed = {}, {str(i): exc.diagnostics() for i in indexes}
    try:
        size = ledger.size
    except Error:
        size = max(indexes, default=-1) + 1
    _report_admission(indexes, texts, size, receipts, as_json, extra, failed, where)


def _report_admission(
    indexes: list[int],
    texts: dict[str, str],
    size: int,
    receipts: Path | None,
    as_json: bool,
    extra: dict[str, Any],
    failed: dict[str, str] | None = None,
    where: str = "LEDGER",
) -> None:
    got, unwritten = _receipts(texts, receipts)
    failed = {**(failed or {}), **unwritten}
    if as_json or receipts is None:
        key = "receipt_files" if receipts is not None else "receipts"
        doc = {**extra, "indexes": indexes, "size": size, key: got}
        if failed:
            doc["receipt_errors"] = failed
        emit_json(doc)
    else:
        for i in indexes:
            if str(i) in got:
                out.print(f"admitted record {i}  receipt {escape(got[str(i)])}")
            else:
                out.print(f"admitted record {i}  receipt NOT written: {escape(failed[str(i)])}")
        for row in extra.get("already_logged", []):
            out.print(f"{escape(row['row'])}: already logged as record {row['index']}")
        out.print(f"{len(indexes)} record(s) admitted; the ledger holds {size}")
        w = extra.get("witnesses")
        if w is not None:
            state = "quorum" if w["quorum"] else "NO QUORUM"
            names = ", ".join(w["cosigned"]) or "none"
            down = "".join(f"; {escape(n)}: {escape(why)}" for n, why in w["failures"].items())
            out.print(f"witnessed: {state} (cosigned by {escape(names)}){down}")
    if failed:
        problem(
            f"{len(failed)} record(s) admitted whose receipt could not be written; they are in "
            f"the ledger: `cvid log prove {where} --index N` prints a receipt "
            f"(records {', '.join(sorted(failed, key=int))})"
        )
        raise typer.Exit(1)


def summary_values(values: dict[str, Any]) -> str:
    """A listing row's values in one short line, as :func:`format_values` words a record's."""
    parts = []
    for name, value in values.items():
        if isinstance(value, dict):
            # A figure dated apart from its record says its own date (Quantity.as_of).
            when = str(value.get("as_of") or "")
            dated = f" as of {when.removesuffix('T00:00:00Z')}" if when else ""
            parts.append(f"{name}={value['value']:g} {value['unit']}{dated}")
        else:
            parts.append(f"{name}={value}")
    return ", ".join(parts)


def _logged_from(doc: dict[str, Any]) -> LoggedRecord:
    """The record a service showed (``cvid evidence show --json``), as a :class:`LoggedRecord`."""
    try:
        record = Record.model_validate(doc["record"])
        logged_at = doc["logged_at"]
        return LoggedRecord(
            int(doc["index"]),
            record,
            doc["record"],
            doc["superseded_by"],
            tuple(doc["disputed_by"]),
            None if logged_at is None else parse_instant(logged_at),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"the service's record is not one cvid shows: {exc}") from None


def _key_state(doc: dict[str, Any]) -> KeyState:
    """A key as a service listed it (``cvid ledger keys --json``), as a :class:`KeyState`."""
    try:
        grant = KeyGrant.model_validate({k: v for k, v in doc.items() if k not in _KEY_MARKS})
        return KeyState(grant, doc["registered_at"], doc["revoked_at"])
    except (KeyError, ValueError) as exc:
        raise InputError(f"the service's key list is not one cvid shows: {exc}") from None


_KEY_MARKS = ("registered_at", "revoked_at")


# -- keys ------------------------------------------------------------------------------------


@key_app.command("new")
@reports_errors
def key_new(
    name: Annotated[str, typer.Argument(help="The key's name (no spaces or '+').")],
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the private key.")],
    as_json: JsonOpt = False,
) -> None:
    """Write a new Ed25519 private key to KEYFILE (mode 0600) and print its vkey."""
    signer = Signer.generate(name)
    write_signer(signer, out_file)
    if as_json:
        emit_json({"name": name, "vkey": signer.verifier.vkey, "key_file": str(out_file)})
    else:
        typer.echo(signer.verifier.vkey)


# -- records ---------------------------------------------------------------------------------


@evidence_app.command("schema")
@reports_errors
def evidence_schema(as_json: AlwaysJsonOpt = False) -> None:
    """Print the JSON Schema of an evidence record (docs/evidence.schema.json)."""
    sys.stdout.write(json.dumps(record_schema(), indent=2, ensure_ascii=False) + "\n")


@evidence_app.command("template")
@reports_errors
def evidence_template(
    kind: Annotated[Kind, typer.Argument(help="The kind of record.")],
    as_json: AlwaysJsonOpt = False,
) -> None:
    """Print a realistic unsigned record of KIND to edit, then sign."""
    emit_json(template(kind, datetime.now(UTC)))


@evidence_app.command("sign")
@reports_errors
def evidence_sign(
    file: Annotated[Path, typer.Argument(help="A record (JSON), or JSON Lines; '-' for stdin.")],
    key: KeyOpt,
    as_json: AlwaysJsonOpt = False,
) -> None:
    """Print FILE's record(s) signed with KEYFILE (one record pretty, JSON Lines compact).

    Sets ``signer`` from the key when absent; refuses if it names another key.
    """
    signer = read_signer(key)
    data, name = read_input(None if str(file) == "-" else file)
    batch = read_records(data, name)
    signed = []
    for c in batch:
        try:
            obj = c.obj if c.text is None else parse_json(c.text)
        except ValueError as exc:
            raise InputError(f"{c.origin}: not valid JSON: {exc}") from None
        if not isinstance(obj, dict):
            raise InputError(f"{c.origin}: a record must be a JSON object")
        try:
            signed.append(sign_record(obj, signer))
        except RecordError as exc:
            raise InputError(f"{c.origin}: {exc.check}: {exc.detail}") from None
    if len(signed) == 1 and batch[0].text is None:
        emit_json(signed[0])
    else:
        for obj in signed:
            sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


#: Summary members ``evidence show`` prints on lines of their own (source, attachments).
_SHOWN_APART = ("index", "kind", "values", "speaker", "quote", "attachments")


@evidence_app.command("show")
@reports_errors
def evidence_show(
    directory: LedgerArg,
    index: Annotated[int, typer.Argument(help="The record's log index.")],
    as_json: JsonOpt = False,
) -> None:
    """Show record INDEX as signed, with its marks and logged time (null until cosigned)."""
    if remote.is_service(directory):
        with remote.service(directory) as svc:
            doc = svc.record(index)
            doc.pop("receipt", None)
            logged = _logged_from(doc)
            parts = {} if as_json else _amendment_parts([summary(logged)], svc=svc)
    else:
        with Ledger.open(directory, readonly=True) as ledger:
            logged = ledger.record(index)
            parts = {} if as_json else _amendment_parts([summary(logged)], ledger=ledger)
        doc = record_document(logged)
    if as_json:
        emit_json(doc)
        return
    r = logged.record
    mark = f"  superseded by {logged.superseded_by}" if logged.superseded_by is not None else ""
    # A record's text is data: escaped, never read as console markup.
    out.print(f"[bold]record {logged.index}[/]  {r.kind.value}{mark}")
    for label, value in summary(logged).items():
        if value not in (None, [], {}) and label not in _SHOWN_APART:
            out.print(f"  {label:14} {escape(str(value))}")
    # An amendment part as what it is, never its files' base64.
    said = parts.get(logged.index) or format_values(logged)
    out.print(f"  {'values':14} {escape(said)}")
    if r.source is not None:
        for label, value in r.source.model_dump(exclude_none=True).items():
            out.print(f"  source.{label:7} {escape(str(value))}")
    if r.summary:
        out.print(f"  {'summary':14} {escape(r.summary)}")
    for a in r.attachments:
        described = ", ".join(x for x in (a.name, a.media_type) if x)
        out.print(
            f"  {'attachment':14} sha256:{a.sha256}  {a.size:,} bytes"
            + (f"  {escape(described)}" if described else "")
        )


def _amendment_parts(
    rows: list[dict[str, Any]],
    *,
    ledger: Ledger | None = None,
    svc: remote.Service | None = None,
) -> dict[int, str]:
    """The amendment records among listing ``rows`` in words (index → line), numbered among
    every amendment record of the ledger or service (:func:`describe_parts`)."""
    # Admitted, a record with an amendment_ value is an amendment part (cvid.evidence.reserved).
    if not any("amendment_sha256" in r["values"] for r in rows):
        return {}
    from cvid.agreements import (
        AMENDMENT_SUBJECT,  # the engine: only when needed
        describe_parts,
    )

    if ledger is not None:
        every = [summary(r) for r in ledger.statements_about(AMENDMENT_SUBJECT, ledger.size)]
    elif svc is not None:
        every = svc.records(kind="statement", subject=AMENDMENT_SUBJECT)
    else:
        every = rows
    said = describe_parts(
        (r["index"], r["submitter"], r["values"]) for r in every if r["party"] is None
    )
    return {r["index"]: said[r["index"]] for r in rows if r["index"] in said}


@evidence_app.command("list")
@reports_errors
def evidence_list(
    directory: LedgerArg,
    kind: Annotated[Kind | None, typer.Option(help="Only records of this kind.")] = None,
    party: Annotated[str | None, typer.Option(help="Only records about or by this party.")] = None,
    subject: Annotated[str | None, typer.Option(help="Only records about this subject.")] = None,
    since: Annotated[str | None, typer.Option(help="observed_at from (date or time).")] = None,
    until: Annotated[str | None, typer.Option(help="observed_at up to (date or time).")] = None,
    submitter: Annotated[str | None, typer.Option(help="Only records by this submitter.")] = None,
    speaker: Annotated[str | None, typer.Option(help="Only records quoting this speaker.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List records (superseded ones marked, with the index that corrects them)."""
    if remote.is_service(directory):
        with remote.service(directory) as svc:
            rows = svc.records(
                kind=kind.value if kind is not None else None,
                party=party,
                subject=subject,
                since=since,
                until=until,
                submitter=submitter,
                speaker=speaker,
            )
            parts = {} if as_json else _amendment_parts(rows, svc=svc)
    else:
        lo, hi = observed_bounds(since, until)
        query = RecordQuery(
            kind=kind.value if kind is not None else None,
            subject=subject,
            submitter=submitter,
            speaker=speaker,
            since=lo,
            until=hi,
        )
        with Ledger.open(directory, readonly=True) as ledger:
            rows = [summary(r) for r in iter_listed(ledger, query, party)]
            parts = {} if as_json else _amendment_parts(rows, ledger=ledger)
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        status = "[green]current[/]"
        if row["superseded_by"] is not None:
            status = f"[yellow]superseded by {row['superseded_by']}[/]"
        if row["disputed_by"]:
            status += f", [red]disputed by {', '.join(map(str, row['disputed_by']))}[/]"
        # A record's text is data: escaped, never read as console markup.
        by = row["submitter"]
        about = f"{row['party']} (by {by})" if row["party"] else f"by {by}"
        observed = row["observed_at"].removesuffix("T00:00:00Z")
        out.print(
            f"[bold]{row['index']:>4}[/]  {escape(row['kind'])}  {escape(row['subject'])}  "
            f"{escape(about)}  {escape(observed)}  {status}"
        )
        if row["index"] in parts:  # what the part is, never its files' base64
            out.print(f"      [dim]{escape(parts[row['index']])}[/]")
        elif row["values"]:
            out.print(f"      [dim]{escape(summary_values(row['values']))}[/]")
        said = [f"\u201c{row['quote']}\u201d"] if row["quote"] else []
        if row["speaker"]:
            said.insert(0, f"{row['speaker']}:" if said else str(row["speaker"]))
        if said:
            out.print(f"      {escape(' '.join(said))}")
        if row["attachments"]:
            n = len(row["attachments"])
            out.print(f"      [dim]{n} attachment{'s' if n > 1 else ''}[/]")
    if not rows:
        out.print("no records match")


# -- the ledger ------------------------------------------------------------------------------


@ledger_app.command("init")
@reports_errors
def ledger_init(
    directory: LedgerArg,
    agreement: Annotated[Path, typer.Option(help="The agreement package folder.")],
    historical: Annotated[
        bool,
        typer.Option(
            "--historical",
            help="A reconstruction of the past: 'as known then' takes each record's reported_at "
            "(clock 'reported') instead of when it was logged (clock 'log', the default).",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a ledger in DIR (one SQLite file, DIR/ledger.db) or in an empty PostgreSQL
    database (a postgresql:// URL) for the agreement package, a copy of which it keeps.

    The ledger's clock cosigns each batch's checkpoint with the time: the records' logged
    time. With --historical the records' own reported_at stands for it.
    """
    from cvid.agreements import check_package_ranges  # nothing a later command cannot read

    check_package_ranges(agreement)
    mode: ClockMode = "reported" if historical else "log"
    with Ledger.create(directory, agreement, clock_mode=mode) as ledger:
        meta = dict(ledger.meta)
    if as_json:
        emit_json({"ledger": str(directory), **meta})
    else:
        out.print(f"ledger for {meta['agreement']!r} created in {directory}")
        out.print(f"log key: {meta['log_vkey']}")
        out.print(f"clock: {meta['clock']} (key {meta['clock_vkey']})")
        out.print(f"package sha256: {meta['package_sha256']}")


@ledger_app.command("info")
@reports_errors
def ledger_info(
    directory: LedgerArg,
    package_out: Annotated[
        Path | None,
        typer.Option(
            "--package-out",
            help="Also write the ledger's package copy into this new "
            "directory (to publish it beside the log's tiles).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the ledger's metadata (agreement, log and clock keys, package SHA-256), its size
    and its latest checkpoint."""
    with Ledger.open(directory, readonly=True) as ledger:
        meta = dict(ledger.meta)
        size = ledger.size
        latest = ledger.latest_checkpoint()
        files = dict(ledger.package_files)
    if package_out is not None:
        if package_out.exists():
            raise InputError(f"{package_out}: exists; --package-out needs a new directory")
        for name, data in sorted(files.items()):
            target = package_out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    doc = {
        "ledger": directory,
        **meta,
        "size": size,
        "checkpoint": latest.encode().decode() if latest is not None else None,
    }
    if as_json:
        emit_json(doc)
        return
    for key in (
        "agreement",
        "title",
        "origin",
        "log_vkey",
        "clock",
        "clock_vkey",
        "package_sha256",
        "size",
    ):
        out.print(f"{key:15} {escape(str(doc.get(key)))}")
    if package_out is not None:
        out.print(f"package copy written to {escape(str(package_out))}")


@ledger_app.command("grant")
@reports_errors
def ledger_grant(
    url: Annotated[str, typer.Argument(help="The ledger's postgresql:// URL, as its owner.")],
    role: Annotated[str, typer.Argument(help="The login role services connect as.")],
    as_json: JsonOpt = False,
) -> None:
    """Let ROLE read and append to the PostgreSQL ledger at URL, and nothing more.

    SELECT and INSERT on every table, no UPDATE, DELETE or TRUNCATE: a service connecting as
    ROLE cannot rewrite history even if the append-only triggers were dropped. Run it as the
    owner of the ledger's tables, again after an upgrade of cvid. Refuses a superuser or a
    member of the owner role (exit 2, nothing changed).
    """
    if not url.startswith(("postgresql://", "postgres://")):
        raise InputError(f"{url}: not a postgresql:// URL; SQLite ledgers have no roles")
    from cvid.store import grant_service_role

    tables = grant_service_role(url, role)
    if as_json:
        emit_json({"role": role, "tables": list(tables)})
        return
    out.print(f"{escape(role)} may read and append to {len(tables)} tables, nothing more")


@ledger_app.command("keys")
@reports_errors
def ledger_keys(directory: LedgerArg, as_json: JsonOpt = False) -> None:
    """List every key the ledger knows: party, kinds, where registered, when revoked."""
    if remote.is_service(directory):
        with remote.service(directory) as svc:
            docs = svc.keys()
        states = [_key_state(d) for d in docs]
    else:
        with Ledger.open(directory, readonly=True) as ledger:
            states = ledger.registry.states()
        docs = keys_document(states)
    if as_json:
        emit_json(docs)
        return
    for s in states:
        revoked = "" if s.revoked_at is None else f"  [red]revoked by record {s.revoked_at}[/]"
        manages = ", manages keys" if s.grant.may_manage_keys else ""
        name, party = escape(s.name), escape(s.grant.party)  # from records: data, not markup
        out.print(f"[bold]{name}[/]  {party}  registered by {s.origin()}{revoked}")
        out.print(f"    [dim]signs {', '.join(k.value for k in s.grant.kinds)}{manages}[/]")


@ledger_app.command("witnesses")
@reports_errors
def ledger_witnesses(
    directory: LedgerArg,
    policy_out: Annotated[
        Path | None,
        typer.Option("--policy-out", help="Also write the witnesses as a tlog-policy file."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the witnesses the agreement package names, the quorum they form, and which of
    them cosigned the latest checkpoint. Exit 0 also when the package names none."""
    if remote.is_service(directory):
        raise InputError(f"{directory}: ledger witnesses reads a ledger's directory or database")
    with Ledger.open(directory, readonly=True) as ledger:
        policy = ledger.witness_policy()
        latest = ledger.latest_checkpoint()
        text = witness_policy_text(ledger.parties, ledger.log.verifier.vkey)
        decl = ledger.parties.witnesses
        cosigned: dict[str, int] = {}
        quorum: bool | None = None
        if policy is not None and latest is not None:
            result = policy.evaluate(cosigned_note(ledger.driver, latest))
            cosigned, quorum = result.cosigned, result.quorum
    if policy_out is not None:
        policy_out.write_text(text)
    members = [] if decl is None else list(decl.members)
    k = None if decl is None else (decl.quorum or len(decl.members))
    doc = {
        "quorum": k,
        "witnesses": [
            {"name": m.name, "vkey": m.vkey, "url": m.url, "cosigned_at": cosigned.get(m.name)}
            for m in members
        ],
        "size": None if latest is None else latest.checkpoint.size,
        "latest_has_quorum": quorum,
    }
    if as_json:
        emit_json(doc)
        return
    if not members:
        out.print("the agreement package names no witnesses")
        return
    out.print(f"{k} of {len(members)} witnesses must cosign each checkpoint")
    for m in members:
        at = cosigned.get(m.name)
        mark = "cosigned the latest" if at is not None else "[dim]not on the latest[/]"
        out.print(f"[bold]{escape(m.name)}[/]  {escape(m.url or '(no URL)')}  {mark}")
        out.print(f"    [dim]{escape(m.vkey)}[/]")
    if quorum is not None:
        out.print("latest checkpoint: " + ("quorum" if quorum else "[red]no quorum[/]"))


@reports_errors
def submit_command(
    directory: LedgerArg,
    files: Annotated[list[Path], typer.Argument(help="Signed records: JSON or JSON Lines.")],
    receipts: Annotated[
        Path | None, typer.Option(help="Write each receipt to RECEIPTS/<index>.tlog-proof.")
    ] = None,
    witness_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the package's witnesses.", min=0.1)
    ] = 2.0,
    as_json: JsonOpt = False,
) -> None:
    """Admit the signed records in FILES, all or nothing, and give a receipt for each.

    Without --receipts the receipts are printed in JSON. On any refusal: exit 2 naming the
    record and the check it failed, and nothing is written (a full disk included). Records
    admitted whose receipt cannot then be written (a full disk) are printed as admitted with
    why their receipt was not written, and the command exits 1. After the commit, the witnesses
    the agreement package names are asked to cosign the new checkpoint (a witness that is
    down is reported, never an error); the receipts carry the cosignatures gathered.
    """
    batch = read_files(files)
    if remote.is_service(directory):
        with remote.service(directory) as svc:
            answer = svc.submit(batch)
        indexes = answer["indices"]
        _report_admission(indexes, answer["receipts"], answer["size"], receipts, as_json, {})
        return
    with Ledger.open(directory) as ledger:
        indexes = _admit(ledger, batch)
        # Committed: from here on the command reports the records as admitted, whatever fails.
        witnessed = _publish(ledger, witness_timeout)
        _after_commit(ledger, directory, indexes, receipts, as_json, witnessed)


@import_app.command("csv")
@reports_errors
def import_csv(
    directory: LedgerArg,
    file: Annotated[Path, typer.Argument(help="The table (CSV with a header line).")],
    mapping: Annotated[Path, typer.Option(help="How rows become records (YAML).")],
    key: KeyOpt,
    receipts: Annotated[
        Path | None, typer.Option(help="Write each receipt to RECEIPTS/<index>.tlog-proof.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Turn each row of FILE into a record, sign it with KEYFILE and admit them all at once.

    The submitter is the key's party unless the mapping says otherwise. All or nothing: any
    refused row leaves the ledger untouched. A row whose record the ledger already holds
    (with reported_at: {rule: now}, but for its reported_at) is reported as already logged,
    with its index, and not admitted again: importing a table again admits its new rows.
    """
    spec = load_mapping(mapping)
    signer = read_signer(key)
    data, name = read_input(file)
    rows = read_csv(data, name)
    import_rows(directory, rows, spec, signer, receipts, as_json)


def import_rows(
    location: str,
    rows: list[Row],
    spec: TableMapping,
    signer: Signer,
    receipts: Path | None,
    as_json: bool,
) -> None:
    """Sign the record of each of ``rows`` (a table's, read already) with ``signer``, admit
    them all at once into the ledger at ``location`` and report it: what ``import csv`` and
    ``import xlsx`` do after reading their file. Rows already logged are reported, not
    admitted again; a row the ledger refuses leaves it untouched (:class:`InputError`).
    """
    with Ledger.open(location) as ledger:
        state = ledger.registry.get(signer.verifier.vkey)
        if state is None:
            raise InputError(f"key {signer.name!r} is not registered in this ledger")
        batch: list[Candidate] = []
        with progress_bar("signing rows") as bar:
            task = bar.add_task("sign", total=len(rows))
            defaults = {"submitter": state.grant.party}
            for where, obj in table_records(
                spec, rows, ledger.clock(), defaults, lambda n: bar.update(task, completed=n)
            ):
                try:
                    batch.append(Candidate(where, obj=sign_record(obj, signer)))
                except RecordError as exc:
                    raise InputError(f"{where}: {exc.check}: {exc.detail}") from None
        skipped = len(rows) - len(batch)
        fresh, logged = split_logged(spec, [(c.origin, c.obj) for c in batch], ledger)
        indexes = _admit(ledger, [Candidate(w, obj=o) for w, o in fresh]) if fresh else []
        extra = {
            "rows": len(rows),
            "skipped": skipped,
            "already_logged": [{"row": x.where, "index": x.index} for x in logged],
            **_publish(ledger, 2.0),
        }
        _after_commit(ledger, location, indexes, receipts, as_json, extra)


def register(app: typer.Typer) -> None:
    """Add the key, evidence, ledger, submit and import commands to ``app``."""
    app.add_typer(key_app, name="key")
    app.add_typer(evidence_app, name="evidence")
    app.add_typer(ledger_app, name="ledger")
    app.command("submit")(submit_command)
    app.add_typer(import_app, name="import")
