"""``cvid witness``: run a ``tlog-witness``; and ``cvid log witness``: have a log witnessed.

FastAPI and uvicorn are imported by ``cvid witness serve`` only (start-up time of the others).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cvid.audit import TileSource
from cvid.cli._common import AlwaysJsonOpt, emit_json, err_console, reports_errors
from cvid.errors import Error, InputError, VerificationError
from cvid.keyfiles import read_vkey
from cvid.tlog import Checkpoint, Verifier, b64, open_checkpoint
from cvid.witness import (
    CheckpointMemory,
    Policy,
    check_consistency,
    compare,
    default_state_dir,
    origin_hash,
    parse_policy,
)

witness_app = typer.Typer(
    help="Run a C2SP tlog-witness: cosign logs' checkpoints that extend what it saw.",
    no_args_is_help=True,
)

WitnessDir = Annotated[Path, typer.Argument(help="The witness's directory.")]


def read_policy(path: Path) -> Policy:
    """The ``tlog-policy`` in ``path``; :class:`InputError` naming it if it cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"--policy {path}: cannot read it: {exc.strerror}") from None
    return parse_policy(data, str(path))


@witness_app.command("init")
@reports_errors
def witness_init(
    directory: WitnessDir,
    name: Annotated[str, typer.Option(help="The witness's key name (e.g. witness.example/w1).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Make a witness in DIRECTORY: its key (mode 0600) and state; print its cosigner vkey."""
    from cvid.witness import Witness

    w = Witness.create(directory, name)
    try:
        vkey = w.key.vkey
    finally:
        w.close()
    if as_json:
        emit_json({"witness": str(directory), "name": name, "vkey": vkey})
    else:
        typer.echo(vkey)


@witness_app.command("add-log")
@reports_errors
def witness_add_log(
    directory: WitnessDir,
    vkey: Annotated[
        list[str] | None,
        typer.Option(help="A log's verifier key (or a file holding it); repeat for more."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="A tlog-policy file: every 'log' line in it is witnessed."),
    ] = None,
    as_json: AlwaysJsonOpt = False,
) -> None:
    """Witness the logs given: each by its vkey, whose key name is the log's origin."""
    from cvid.witness import Witness

    keys = [read_vkey(v) for v in vkey or []]
    if config is not None:
        keys += list(read_policy(config).logs)
    if not keys:
        raise InputError("give --vkey LOGVKEY or --config POLICY")
    w = Witness.open(directory)
    try:
        added = {k.name: w.state.add_log(k.name, k.vkey) for k in keys}
    finally:
        w.close()
    emit_json({"added": [o for o, new in added.items() if new], "logs": sorted(added)})


@witness_app.command("serve")
@reports_errors
def witness_serve(
    directory: WitnessDir,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 7380,
) -> None:
    """Serve POST /add-checkpoint and GET /<origin hash>/checkpoint until interrupted."""
    import uvicorn

    from cvid.witness import Witness, create_app

    w = Witness.open(directory)
    try:
        err_console.print(
            f"witness {escape(w.key.name)} on http://{escape(host)}:{port} "
            f"({len(w.state.logs())} logs)",
            soft_wrap=True,
        )
        uvicorn.run(create_app(w), host=host, port=port, log_level="warning", access_log=False)
    finally:
        w.close()


def _time(t: int) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@witness_app.command("status")
@reports_errors
def witness_status(
    directory: WitnessDir,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The logs witnessed, the latest checkpoint cosigned of each, and every refused one.

    A refused checkpoint was signed by the log but did not extend what this witness cosigned:
    evidence of a fork (or a broken client), shown in full.
    """
    from cvid.witness import Witness

    w = Witness.open(directory)
    try:
        latest = {x.origin: x for x in w.state.all_latest()}
        logs = [
            {
                "origin": origin,
                "vkey": vkey,
                "path": f"/{origin_hash(origin)}/checkpoint",
                "size": latest[origin].size if origin in latest else None,
                "root": b64(latest[origin].root) if origin in latest else None,
                "cosigned_at": _time(latest[origin].time) if origin in latest else None,
                "cosignatures": w.state.cosigned_count(origin),
            }
            for origin, vkey in sorted(w.state.logs().items())
        ]
        refused = [
            {
                "origin": r.origin,
                "received_at": _time(r.received_at),
                "old_size": r.old_size,
                "size": r.size,
                "root": b64(r.root),
                "reason": r.reason,
                "checkpoint": r.note.decode("utf-8", "replace"),
            }
            for r in w.state.refusals()
        ]
        doc = {"name": w.key.name, "vkey": w.key.vkey, "logs": logs, "refused": refused}
    finally:
        w.close()
    if as_json:
        emit_json(doc)
        return
    typer.echo(f"witness {doc['name']}\nvkey {doc['vkey']}")
    for log in logs:
        state = (
            f"size {log['size']} root {log['root']} at {log['cosigned_at']}"
            if log["size"] is not None
            else "nothing cosigned yet"
        )
        typer.echo(f"log {log['origin']}: {state} ({log['cosignatures']} cosignatures)")
    for r in refused:
        typer.echo(
            f"REFUSED {r['origin']} size {r['size']} root {r['root']} at {r['received_at']}: "
            f"{r['reason']}\n{r['checkpoint']}"
        )


# -- cvid log witness --------------------------------------------------------------------------


@reports_errors
def log_witness(
    directory: Annotated[Path, typer.Argument(help="The log's directory.")],
    witness: Annotated[
        list[str] | None,
        typer.Option(help="A witness as URL=VKEY (its cosigner vkey); repeat for more."),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            help="A tlog-policy: its witnesses with URLs are asked too; exit 1 "
            "unless its quorum is met."
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds each witness may take.")] = 5.0,
    as_json: AlwaysJsonOpt = False,
) -> None:
    """Have the latest checkpoint cosigned by witnesses; store it and print, as JSON, who
    cosigned and the cosigned note.

    Signs a checkpoint first if entries are not yet covered. A witness that is down, slow or
    refuses is reported (on standard error and in the JSON) and skipped. Exit 0, or 1 when a
    --policy's quorum is not met.
    """
    from cvid.store import Log
    from cvid.witness import WitnessEndpoint, endpoints_from_policy, witness_checkpoint

    if timeout <= 0:
        raise InputError("--timeout must be positive")
    endpoints = [WitnessEndpoint.parse(w) for w in witness or []]
    pol = read_policy(policy) if policy is not None else None
    if pol is not None:
        have = {e.key.vkey for e in endpoints}
        endpoints += [e for e in endpoints_from_policy(pol) if e.key.vkey not in have]
    if not endpoints:
        raise InputError("give --witness URL=VKEY, or a --policy whose witnesses have URLs")
    with Log.open(directory) as log:
        signed = log.checkpoint()
        outcome = witness_checkpoint(log, signed, endpoints, pol, timeout)
    for name, why in outcome.failures.items():
        err_console.print(f"[yellow]witness {escape(name)}:[/] {escape(why)}", soft_wrap=True)
    doc = {
        "size": signed.checkpoint.size,
        "cosigned_by": [c.witness.name for c in outcome.gathered.cosigned],
        "failed": outcome.failures,
        "quorum": outcome.quorum,
        "checkpoint": outcome.note.decode(),
    }
    if outcome.policy is not None and not outcome.policy.quorum:
        doc["missing"] = outcome.policy.missing
    typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    if outcome.quorum is False:
        err_console.print(
            f"[red]quorum not met:[/] {escape(outcome.policy.missing if outcome.policy else '')}",
            soft_wrap=True,
        )
        raise typer.Exit(1)


# -- verifiers: cvid audit and cvid receipt verify -------------------------------------------


def served_checks(
    source: TileSource,
    audited: Checkpoint,
    verifier: Verifier,
    policy: Path | None,
    state_dir: Path | None,
    ok_so_far: bool,
) -> list[str]:
    """What ``cvid audit`` adds to an audit of ``source``: the policy's quorum on the served
    checkpoint and the verifier's memory of the log (refuse older or inconsistent; remember the
    checkpoint when everything holds). The problems, each a sentence."""
    data = source.read("checkpoint")
    served = open_checkpoint(data, verifier).checkpoint
    if served != audited:
        return [f"{source.name('checkpoint')} changed while it was audited; audit again"]
    problems: list[str] = []
    if policy is not None:
        try:
            read_policy(policy).require(data, source.name("checkpoint"))
        except VerificationError as exc:
            problems.append(exc.diagnostics())
    memory = CheckpointMemory(state_dir if state_dir is not None else default_state_dir())
    known = memory.recall(verifier)
    if known is not None:
        old = known[0]
        if old.size > served.size:
            problems.append(
                f"the served checkpoint (size {served.size}) is older than the one this "
                f"verifier accepted before (size {old.size}, kept in {memory.path(verifier)}): "
                "the log was rolled back, or this is another view of it"
            )
        else:
            try:
                check_consistency(source, old, served)
            except VerificationError as exc:
                problems.append(
                    f"the served checkpoint is not consistent with the one this verifier "
                    f"accepted before (size {old.size}, kept in {memory.path(verifier)}): "
                    f"{exc.diagnostics()}"
                )
    if not problems and ok_so_far:
        memory.remember(verifier, data)
    return problems


def receipt_checks(
    checkpoint: bytes,
    verifier: Verifier,
    policy: Path | None,
    state_dir: Path | None,
    log: str | None = None,
) -> str:
    """What ``cvid receipt verify`` adds: the policy's quorum on the receipt's checkpoint, and
    its consistency with the checkpoint this verifier last accepted of the log
    (:class:`VerificationError` otherwise). Returns how it stands with the remembered one:
    ``none`` (nothing remembered yet: the receipt's is remembered), ``same``, ``proven`` or
    ``unchecked``.

    A receipt carries no consistency proof. At the remembered size it must have the same
    root. Of another size, with ``log`` (the log's tiles, a directory or URL) the smaller of
    the two is proven a prefix of the larger from the tiles and the larger is remembered;
    without it the receipt is accepted (it proves an earlier state as well as a later one),
    nothing is remembered, and the answer says ``unchecked``.
    """
    if policy is not None:
        read_policy(policy).require(checkpoint, "the receipt's checkpoint")
    cp = open_checkpoint(checkpoint, verifier).checkpoint
    memory = CheckpointMemory(state_dir if state_dir is not None else default_state_dir())
    known = memory.recall(verifier)
    if known is None:
        memory.remember(verifier, checkpoint)
        return "none"
    old = known[0]
    if old.size == cp.size:
        if old.root != cp.root:
            raise VerificationError(
                f"the receipt's checkpoint has another root at size {cp.size} than the one this "
                f"verifier accepted before (kept in {memory.path(verifier)}): a split view"
            )
        return "same"
    if log is None:
        return "unchecked"
    small, large = (old, cp) if old.size < cp.size else (cp, old)
    with TileSource(log) as src:
        try:
            check_consistency(src, small, large)
        except VerificationError as exc:
            raise VerificationError(
                f"the receipt's checkpoint (size {cp.size}) and the one this verifier accepted "
                f"before (size {old.size}, kept in {memory.path(verifier)}) are not consistent "
                f"by {log}: {exc}"
            ) from None
    if cp.size > old.size:
        memory.remember(verifier, checkpoint)
    return "proven"


def compare_checkpoints(paths: tuple[Path, Path], verifier: Verifier, source: str | None) -> None:
    """``cvid audit --compare A B``: print both checkpoints as proof if they are inconsistent
    (exit 1); exit 0 when one extends the other."""
    notes = []
    for p in paths:
        try:
            notes.append(p.read_bytes())
        except OSError as exc:
            raise InputError(f"--compare {p}: cannot read it: {exc.strerror}") from None
    src = TileSource(source) if source is not None else None
    try:
        split = compare(notes[0], notes[1], verifier, src)
    except Error as exc:
        raise type(exc)(f"--compare: {exc.diagnostics()}") from None
    finally:
        if src is not None:
            src.close()
    if split is None:
        emit_json({"ok": True, "split_view": False})
        return
    emit_json(
        {
            "ok": False,
            "split_view": True,
            "reason": split.reason,
            "first": {"file": str(paths[0]), "checkpoint": split.first.decode()},
            "second": {"file": str(paths[1]), "checkpoint": split.second.decode()},
        }
    )
    err_console.print(f"[red]split view:[/] {escape(split.reason)}", soft_wrap=True)
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``cvid witness`` to ``app``."""
    app.add_typer(witness_app, name="witness")
