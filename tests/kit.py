"""Helpers every test folder shares: driving the ``cvid`` command in-process, tampering SQL."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cvid.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
NEW_START_CSV = ROOT / "examples" / "new-start" / "data" / "aggregates.csv"
"""The published New START aggregates, as the example package ships them (26 rows)."""


def cvid(*args: object, stdin: bytes | None = None) -> Result:
    """Run ``cvid ARGS...`` in-process (standard input ``stdin``) and return its result."""
    return CliRunner().invoke(app, [str(a) for a in args], input=stdin)


def ok(result: Result) -> Result:
    """``result`` if the command exited 0; otherwise fail showing its output."""
    assert result.exit_code == 0, result.output
    return result


def raw_sql(db_path: Path, *sql: str) -> None:
    """Run statements on a database behind cvid's back, as an attacker or a bad disk would."""
    db = sqlite3.connect(db_path)
    try:
        for statement in sql:
            db.execute(statement)
        db.commit()
    finally:
        db.close()


def ledger_vkey(ledger: Path) -> str:
    """The log key of the ledger in ``ledger`` (as its publisher announces it)."""
    from cvid.evidence import Ledger

    with Ledger.open(ledger, readonly=True) as opened:
        return opened.meta["log_vkey"]


def ledger_package(ledger: Path, out: Path) -> Path:
    """Write the ledger's copy of its agreement package into ``out`` (as published beside it)."""
    from cvid.evidence import Ledger

    with Ledger.open(ledger, readonly=True) as opened:
        files = dict(opened.package_files)
    for name, data in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    return out


def missing(reason: str) -> None:
    """A test's outside document is absent: fail in CI (where ``../shared`` is always beside the
    checkout), skip elsewhere — a clone of the repository alone does not carry the news report
    of ``shared/origin``, which is not cvid's to redistribute."""
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{reason}; CI must have ../shared beside the checkout")
    pytest.skip(f"{reason}: the news report in ../shared/origin is not part of the repository")
