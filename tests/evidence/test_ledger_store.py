"""The store-backed ledger: one writer at a time at exactly the index it checked, group commit,
an index written with the entries, and an open that reads no records.

Writers in separate processes submit to one ledger at once; every index each was given holds
exactly the record it submitted, nothing is lost or duplicated, and the log verifies.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from evidence_kit import NOW, World, fixed_key, write_package

from cvid.errors import StoreError
from cvid.evidence import Ledger
from cvid.evidence.ledgerdb import RecordQuery
from cvid.evidence.signing import RecordError, canonical
from cvid.store import verify_log
from cvid.store.sqlite import SQLiteDriver

KEYS = ("us-admin", "us-decl", "ru-decl", "us-new", "stranger")


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a new ledger goes: a directory (SQLite) or an empty PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store_ledger(world: World, location: str) -> Iterator[Ledger]:
    """An empty ledger on each backend, clocked at NOW."""
    with Ledger.create(location, world.package, clock=lambda: NOW) as made:
        yield made


def _digest(obj: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in obj.items() if k != "signature"})).hexdigest()


def _writer(location: str, package: str, who: int, batches: int, out: Any) -> None:
    """A process submitting ``batches`` batches of distinct records; reports what it was told."""
    world = World(Path(package), {n: fixed_key(n) for n in KEYS})
    got: list[tuple[int, str]] = []
    with Ledger.open(location, clock=lambda: NOW) as ledger:
        for b in range(batches):
            batch = [
                world.signed(summary=f"writer {who} batch {b} record {k}") for k in range(1 + b % 3)
            ]
            indices = ledger.submit(batch)
            got.extend(zip(indices, (_digest(r) for r in batch), strict=True))
    out.put((who, got))


def test_writers_in_several_processes_each_get_exactly_the_indices_they_wrote(
    world: World, location: str
) -> None:
    Ledger.create(location, world.package, clock=lambda: NOW).close()
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_writer, args=(str(location), str(world.package), w, 12, out))
        for w in range(3)
    ]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    claimed = [pair for pairs in results.values() for pair in pairs]
    indices = sorted(i for i, _ in claimed)
    assert indices == list(range(len(claimed)))  # nothing lost, nothing duplicated
    with Ledger.open(location) as ledger:
        assert ledger.size == len(claimed)
        for index, digest in claimed:
            assert _digest(ledger.record(index).raw) == digest  # the record it was told
        assert verify_log(ledger.log) == []
        # The index was written with the entries: one row per entry, naming its record.
        with ledger.driver.read() as tx:
            rows = {
                int(i): bytes(d).hex() for i, d in tx.execute("SELECT idx, digest FROM records")
            }
        assert rows == dict(claimed)
        # Every commit signed a clock-cosigned checkpoint covering it.
        assert ledger.logged_times() == [NOW] * len(claimed)


def test_a_second_ledger_object_catches_up_on_keys_registered_elsewhere(
    world: World, store_ledger: Ledger
) -> None:
    first = store_ledger
    with Ledger.open(first.where, clock=lambda: NOW) as second:
        assert second.size == 0
        grant = {
            "vkey": world.keys["us-new"].verifier.vkey,
            "party": "US",
            "kinds": ["declaration"],
        }
        first.submit(
            [
                world.signed(
                    by="us-admin",
                    kind="key_registration",
                    key=grant,
                    values=None,
                    subject="keys",
                    party=None,
                )
            ]
        )
        # `second` never saw the registration, yet admits a record signed by the new key.
        assert second.submit([world.signed(by="us-new")]) == [1]
        assert first.record(1).record.signer == world.keys["us-new"].verifier.vkey


def test_group_commit_admits_the_good_batches_and_refuses_the_bad_alone(
    world: World, store_ledger: Ledger
) -> None:
    ledger = store_ledger
    good_a = [world.signed(summary="a1"), world.signed(summary="a2")]
    bad = [world.signed(summary="b1"), world.forged(summary="b2", agreement="other")]
    good_c = [world.signed(summary="c1")]
    results = ledger.submit_many([good_a, bad, [], good_c])
    assert results[0] == [0, 1]
    assert isinstance(results[1], RecordError) and results[1].check == "agreement"
    assert results[2] == []
    assert results[3] == [2]
    assert ledger.size == 3
    checkpoints = ledger.driver.checkpoints()
    assert [size for size, _ in checkpoints] == [3]  # one commit, one checkpoint for all
    # A later batch in the group sees the earlier ones: the same record twice is a replay.
    again = ledger.submit_many([[world.signed(summary="d")], [world.signed(summary="d")]])
    assert again[0] == [3]
    assert isinstance(again[1], RecordError) and again[1].check == "replay"


def test_index_of_finds_a_logged_record_by_its_digest(world: World, store_ledger: Ledger) -> None:
    ledger = store_ledger
    rec = world.signed()
    [index] = ledger.submit([rec])
    digest = hashlib.sha256(canonical({k: v for k, v in rec.items() if k != "signature"}))
    assert ledger.index_of(digest.digest()) == index
    assert ledger.index_of(b"\0" * 32) is None


def test_queries_filter_by_indexed_fields_and_page(world: World, store_ledger: Ledger) -> None:
    ledger = store_ledger
    ledger.submit([world.signed(summary=f"us {i}") for i in range(5)])
    ledger.submit(
        [
            world.signed(by="ru-decl", party="RU", submitter="RU", summary=f"ru {i}")
            for i in range(3)
        ]
    )
    ru = ledger.query(RecordQuery(submitter="RU"))
    assert [r.index for r in ru] == [5, 6, 7]
    page = ledger.query(RecordQuery(party="US", limit=2, after=1))
    assert [r.index for r in page] == [2, 3]
    assert [r.index for r in ledger.iter_query(RecordQuery(kind="declaration"))] == list(range(8))
    assert ledger.query(RecordQuery(subject="nothing")) == []


class _CountingDriver(SQLiteDriver):
    """A SQLite driver that counts the entry rows its reads return."""

    entry_rows = 0

    def read(self) -> Any:
        inner = super().read()
        driver = self

        class Tx:
            def __enter__(self) -> Any:
                tx = inner.__enter__()

                class Counting:
                    dialect = tx.dialect

                    def execute(self, sql: str, params: Any = ()) -> list[Any]:
                        rows = tx.execute(sql, params)
                        if "entries" in sql and "data" in sql:  # entry bytes read
                            driver.entry_rows += len(rows)
                        return rows

                    def executemany(self, sql: str, rows: Any) -> None:
                        tx.executemany(sql, rows)

                return Counting()

            def __exit__(self, *exc: Any) -> Any:
                return inner.__exit__(*exc)

        return Tx()


@pytest.mark.sqlite_only
def test_opening_reads_no_records_beyond_the_trees_edge_and_the_keys(
    world: World, ledger: Ledger
) -> None:
    for b in range(6):
        ledger.submit([world.signed(summary=f"batch {b} record {k}") for k in range(100)])
    driver = _CountingDriver(Path(ledger.where) / "ledger.db")
    opened = Ledger(driver, ledger.where)
    try:
        assert opened.size == 600
        # The unfinished level-0 tile (600 % 256 = 88 leaves) is all it reads of the entries.
        assert driver.entry_rows == 600 % 256
    finally:
        opened.close()


def test_a_store_that_is_a_plain_log_is_not_a_ledger(tmp_path: Path) -> None:
    from cvid.store.log import Log

    Log.create(tmp_path / "log", "example.org/log").close()
    driver = SQLiteDriver(tmp_path / "log" / "log.db")
    with pytest.raises(StoreError, match="not a cvid-ledger"):
        Ledger(driver, str(tmp_path / "log"))
    driver.close()


def test_the_package_and_keys_of_a_ledger_come_from_its_store(world: World, tmp_path: Path) -> None:
    location = tmp_path / "ledger"
    Ledger.create(location, world.package, clock=lambda: NOW).close()
    # Changing (even deleting) the package folder it was made from changes nothing.
    (world.package / "agreement.yaml").write_text("id: changed\n")
    with Ledger.open(location, clock=lambda: NOW) as ledger:
        assert ledger.agreement_id == "new-start"
        keys = {n: fixed_key(n) for n in KEYS}
        fresh = World(write_package(tmp_path / "again", keys, {}), keys)
        assert ledger.submit([fresh.signed()]) == [0]
        assert json.loads(ledger.log.read_entries(0, 1)[0])["agreement"] == "new-start"


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE records SET kind = 'notice'",
        "DELETE FROM records",
        "INSERT OR REPLACE INTO records SELECT * FROM records",
        "UPDATE record_values SET number = 0",
        "DELETE FROM record_values",
        "UPDATE ledger_meta SET value = 'x'",
        "DELETE FROM ledger_files",
        "UPDATE ledger_secrets SET value = 'x'",
        "DELETE FROM checkpoint_times",
    ],
)
def test_the_ledgers_tables_are_append_only_in_sqlite(
    world: World, ledger: Ledger, sql: str
) -> None:
    ledger.submit([world.signed(summary=str(i)) for i in range(3)])
    db = sqlite3.connect(Path(ledger.where) / "ledger.db")
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(sql)
    finally:
        db.close()
    assert [r.record.summary for r in ledger.records()] == ["0", "1", "2"]
