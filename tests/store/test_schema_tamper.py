"""Schema tampering is reported, never repaired; a stored value of the wrong type is a StoreError.

An attacker with the database file drops or rewrites an append-only trigger (and perhaps the
``schema_version`` table, so that a migration would recreate everything). ``cvid log verify``
and ``cvid ledger verify`` must say so and exit 1, and neither they nor a reading command may
put the trigger back. A ``tiles.hashes`` stored as TEXT is named by table and row, never a
``TypeError``.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from cvid.errors import StoreError
from cvid.store import Log
from kit import ROOT, cvid, ok, raw_sql

ORIGIN = "cvid.test/schema"
PACKAGE = ROOT / "examples" / "singapore-2018"


def triggers(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    finally:
        conn.close()


def tables(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "log"
    with Log.create(directory, ORIGIN) as log:
        log.append([b"entry-%d" % i for i in range(300)])
        log.checkpoint()
    return directory


@pytest.fixture
def ledger_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "ledger"
    ok(cvid("ledger", "init", directory, "--agreement", PACKAGE))
    return directory


def test_an_intact_log_has_no_schema_problem(log_dir: Path) -> None:
    result = ok(cvid("log", "verify", log_dir))
    assert json.loads(result.stdout)["problems"] == []


@pytest.mark.parametrize("drop_version", [False, True], ids=["trigger", "trigger-and-version"])
def test_log_verify_reports_a_dropped_trigger_and_does_not_recreate_it(
    log_dir: Path, drop_version: bool
) -> None:
    db = log_dir / "log.db"
    sql = ["DROP TRIGGER entries_no_update"]
    if drop_version:  # a store without schema_version would be migrated from the start
        sql.append("DROP TABLE schema_version")
    raw_sql(db, *sql)
    before = triggers(db)
    result = cvid("log", "verify", log_dir)
    assert result.exit_code == 1, result.output
    problems = json.loads(result.stdout)["problems"]
    assert any("entries_no_update is missing" in p for p in problems), problems
    assert ("no schema_version table" in " ".join(problems)) is drop_version
    assert triggers(db) == before  # reported, not repaired
    assert ("schema_version" in tables(db)) is not drop_version


def test_log_verify_reports_a_rewritten_and_an_added_trigger(log_dir: Path) -> None:
    db = log_dir / "log.db"
    raw_sql(
        db,
        "DROP TRIGGER tiles_no_delete",
        "CREATE TRIGGER tiles_no_delete BEFORE DELETE ON tiles WHEN 0 BEGIN SELECT 1; END",
        "CREATE TRIGGER sneaky AFTER INSERT ON entries BEGIN SELECT 1; END",
    )
    result = cvid("log", "verify", log_dir)
    assert result.exit_code == 1, result.output
    problems = json.loads(result.stdout)["problems"]
    assert "trigger tiles_no_delete on tiles is not the one cvid creates" in problems
    assert "trigger sneaky on entries is not one cvid creates" in problems


def test_ledger_verify_reports_a_dropped_trigger_and_reads_repair_nothing(
    ledger_dir: Path,
) -> None:
    db = ledger_dir / "ledger.db"
    ok(cvid("ledger", "verify", ledger_dir))
    raw_sql(db, "DROP TRIGGER records_no_delete", "DROP TABLE schema_version")
    before = triggers(db)
    result = cvid("ledger", "verify", ledger_dir, "--json")
    assert result.exit_code == 1, result.output
    findings = json.loads(result.stdout)["findings"]
    details = [f["detail"] for f in findings if f["check"] == "schema"]
    assert any("records_no_delete is missing" in d for d in details), findings
    assert any("no schema_version table" in d for d in details), findings
    text = cvid("ledger", "verify", ledger_dir)
    assert "schema: append-only trigger records_no_delete is missing" in text.stdout
    # Reading commands open the store read-only: nothing is recreated.
    cvid("evidence", "list", ledger_dir)
    cvid("log", "verify", ledger_dir)
    assert triggers(db) == before
    assert "schema_version" not in tables(db)


def tile_as_text(log_dir: Path) -> None:
    raw_sql(
        log_dir / "log.db",
        "DROP TRIGGER tiles_no_update",
        "UPDATE tiles SET hashes = 'not bytes' WHERE level = 0 AND idx = 0",
    )


def test_a_tile_stored_as_text_is_a_store_error_naming_table_and_row(log_dir: Path) -> None:
    tile_as_text(log_dir)
    with pytest.raises(StoreError, match=r"table tiles, row \(level 0, idx 0\): hashes is text"):
        Log.open(log_dir)
    for args in (("log", "verify", log_dir), ("log", "append", log_dir)):
        result = cvid(*args, stdin=b"more\n")
        assert result.exit_code == 2, result.output
        assert "table tiles, row (level 0, idx 0): hashes is text" in result.output
        assert "Traceback" not in result.output and "TypeError" not in result.output


def test_an_entry_stored_as_an_integer_is_named(log_dir: Path) -> None:
    raw_sql(
        log_dir / "log.db",
        "DROP TRIGGER entries_no_update",
        "UPDATE entries SET data = 7 WHERE idx = 3",
    )
    result = cvid("log", "verify", log_dir)
    assert result.exit_code == 2, result.output
    assert "table entries, row idx 3: data is an integer, not bytes" in result.output
