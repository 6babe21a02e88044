"""``cvid ledger amend``: record a new version of the agreement's package in the log.

What an amendment is, who may make one and how the version in force at an instant is chosen
are in :mod:`cvid.agreements.versions` and docs/amendments.md. This command refuses (exit 2,
nothing written) a package that does not check (``cvid agreement check``: it must load and its
scenarios pass), one over the size limit, a ``--previous`` that is not the version in force at
the head of the chain, an effective date before that version's, and a key whose party's consent
is not needed (or who already consented); admission then checks the keys as for every record.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from cvid.agreements import (
    AMENDMENT_SUBJECT,
    MAX_AMENDMENT_BYTES,
    Amendment,
    amendment_values,
    check_follows,
    check_package_ranges,
    consenting_parties,
    ledger_chain,
    load_package,
    parse_as_of,
    rfc3339,
    run_scenarios,
    to_us,
)
from cvid.cli._common import AlwaysJsonOpt, emit_json, reports_errors
from cvid.errors import Error, InputError
from cvid.evidence import Ledger, format_utc, read_package_files, sign_record
from cvid.keyfiles import read_signer


@reports_errors
def ledger_amend(
    directory: Annotated[str, typer.Argument(help="The ledger: its directory or a URL.")],
    package: Annotated[Path, typer.Argument(help="The new version's package folder.")],
    effective: Annotated[
        str, typer.Option("--effective", help="When it is in force from: a date or instant.")
    ],
    key: Annotated[
        list[Path],
        typer.Option("--key", help="A consenting party's key file (repeat: one per party)."),
    ],
    previous: Annotated[
        str | None,
        typer.Option(help="The SHA-256 of the version it replaces (checked against the log)."),
    ] = None,
    reported_at: Annotated[
        str | None,
        typer.Option(help="The records' reported_at (default: now; for --historical ledgers)."),
    ] = None,
    summary: Annotated[str | None, typer.Option(help="What the amendment is, in words.")] = None,
    as_json: AlwaysJsonOpt = False,
) -> None:
    """Record a new version of the agreement's package: one signed statement per --key.

    The version is in force from --effective once every party whose consent is needed has
    recorded it (docs/amendments.md). Prints a JSON summary.
    """
    t = parse_as_of(effective)
    now = parse_as_of(reported_at) if reported_at is not None else to_us(datetime.now(UTC))
    check_package_ranges(package)  # what ledger init refuses: values later commands cannot read
    pkg = load_package(package)
    failed = [r.name for r in run_scenarios(pkg) if not r.ok]
    if failed:
        raise InputError(f"{package}: the package does not check: scenario {failed[0]!r} fails")
    files = read_package_files(package)
    size = sum(len(b) for b in files.values())
    if size > MAX_AMENDMENT_BYTES:
        raise InputError(
            f"{package}: {size:,} bytes of files, over the amendment limit of "
            f"{MAX_AMENDMENT_BYTES:,}"
        )
    with Ledger.open(directory, readonly=True) as reader:
        chain = ledger_chain(reader)
    head = chain.head
    if previous is not None and previous != head.sha256:
        raise InputError(
            f"--previous {previous} is not the version in force at the head of {directory}'s "
            f"chain ({head.sha256})"
        )
    if pkg.id != head.package.id:
        raise InputError(f"{package}: agreement {pkg.id!r}, the ledger's is {head.package.id!r}")
    assert pkg.sha256 is not None
    key_state = (pkg.sha256, head.sha256, t)
    try:
        parts = amendment_values(files, head.sha256, t)
    except Error as exc:
        raise InputError(f"{package}: {exc}") from None
    signers = [read_signer(k) for k in key]
    records: list[dict[str, object]] = []
    with Ledger.open(directory) as ledger:
        already = {ledger.record(i).record.submitter for i in chain.pending.get(key_state, ())}
        for path, signer in zip(key, signers, strict=True):
            state = ledger.registry.get(signer.verifier.vkey)
            if state is None:
                raise InputError(f"--key {path}: not a key of this ledger")
            party = state.grant.party
            a = Amendment(-1, party, pkg.sha256, head.sha256, t, files)
            problem = check_follows(a, head)
            if problem is not None:
                raise InputError(f"--key {path}: {problem}")
            if party in already:
                raise InputError(f"--key {path}: {party} has already recorded this amendment")
            already.add(party)
            at = format_utc(datetime.fromtimestamp(now / 1e6, UTC))
            for values in parts:
                unsigned = {
                    "v": 1,
                    "agreement": pkg.id,
                    "kind": "statement",
                    "subject": AMENDMENT_SUBJECT,
                    "observed_at": at,
                    "reported_at": at,
                    "values": values,
                    "summary": summary
                    or f"Package version {pkg.sha256} replaces {head.sha256}, in force from "
                    f"{rfc3339(t)}",
                    "submitter": party,
                }
                records.append(sign_record(unsigned, signer))
        indexes = ledger.submit(records)
    with Ledger.open(directory, readonly=True) as reader:
        after = ledger_chain(reader)
    done = any(v.sha256 == pkg.sha256 and v.previous == head.sha256 for v in after.versions)
    awaiting = sorted(consenting_parties(head.package) - already) if not done else []
    emit_json(
        {
            "ledger": directory,
            "indexes": indexes,
            "sha256": pkg.sha256,
            "previous": head.sha256,
            "effective": rfc3339(t),
            "in_chain": done,
            "awaiting": awaiting,
        }
    )


def register(app: typer.Typer) -> None:
    """Add ``amend`` to ``cvid ledger`` (the group :mod:`cvid.cli.evidence` defines)."""
    from cvid.cli.evidence import ledger_app

    ledger_app.command("amend")(ledger_amend)
