"""One conformance suite for every storage driver, and the :class:`Log` over each of them.

``driver_kit`` (tests/store/conftest.py) is parametrized over the drivers; a new backend is one
more kit there and runs this whole file.
"""

from __future__ import annotations

import random
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from store_kits import DriverKit

from cvid.errors import InputError, StoreError
from cvid.store import ConflictError, Log, LogDriver, SQLiteDriver, verify_log
from cvid.tlog.checkpoint import open_checkpoint
from cvid.tlog.edge import FullTile, TileNodes
from cvid.tlog.merkle import (
    MemoryHashes,
    inclusion_proof,
    leaf_hash,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)
from cvid.tlog.note import Signer
from cvid.tlog.receipt import Receipt, verify_receipt
from cvid.tlog.tiles import MAX_ENTRY_SIZE, Tile, encode_tile_nodes, split_hashes, tile_levels
from kit import raw_sql

TILE = bytes(range(256)) * 32  # 256 hashes of 32 bytes


def entry(i: int) -> bytes:
    return b"entry-%d" % i


# -- the driver contract --------------------------------------------------------------------------


def test_append_then_read(driver: LogDriver) -> None:
    assert driver.size() == 0
    assert driver.read_entries(0, 10) == []
    driver.append(0, [b"a", b"", b"c"], [])
    driver.append(3, [b"d"], [(0, 0, TILE)])
    assert driver.size() == 4
    assert driver.read_entries(0, 4) == [b"a", b"", b"c", b"d"]
    assert driver.read_entries(1, 3) == [b"", b"c"]
    assert driver.read_entries(3, 100) == [b"d"]
    assert driver.read_tiles([(0, 0), (0, 1), (1, 0)]) == {(0, 0): TILE}


def test_tiles_are_listed_by_level_then_index(driver: LogDriver) -> None:
    tiles = [(1, 0, TILE[::-1]), (0, 1, TILE), (0, 0, TILE[1:] + b"x"), (2, 0, TILE)]
    driver.append(0, [b"x"], tiles)
    assert list(driver.iter_tiles()) == sorted(tiles)


def test_wrong_expected_size_raises_conflict_and_writes_nothing(driver: LogDriver) -> None:
    driver.append(0, [b"first"], [])
    for expected in (0, 2, 100):
        with pytest.raises(ConflictError):
            driver.append(expected, [b"second", b"third"], [(0, 0, TILE)])
    assert driver.size() == 1
    assert driver.read_entries(0, 10) == [b"first"]
    assert list(driver.iter_tiles()) == []
    assert issubclass(ConflictError, StoreError)


def test_a_refused_tile_rolls_back_the_whole_append(driver: LogDriver) -> None:
    driver.append(0, [b"a"], [(0, 0, TILE)])
    # A tile stored twice: MemoryDriver raises StoreError, SQLiteDriver the sqlite3 error.
    with pytest.raises((StoreError, sqlite3.Error)):
        driver.append(1, [b"b"], [(0, 0, TILE[::-1])])
    assert driver.size() == 1
    assert driver.read_tiles([(0, 0)]) == {(0, 0): TILE}
    driver.append(1, [b"b"], [])
    assert driver.read_entries(0, 2) == [b"a", b"b"]


def test_checkpoints_must_grow(driver: LogDriver) -> None:
    assert driver.latest_checkpoint() is None
    assert driver.checkpoints() == []
    driver.add_checkpoint(5, b"five")
    for size in (5, 3, 0):
        with pytest.raises(StoreError):
            driver.add_checkpoint(size, b"again")
    driver.add_checkpoint(9, b"nine")
    assert driver.checkpoints() == [(5, b"five"), (9, b"nine")]
    assert driver.latest_checkpoint() == (9, b"nine")


def test_meta_is_written_once(driver: LogDriver) -> None:
    assert driver.meta() == {}
    driver.init_meta({"format": "f", "origin": "o"})
    with pytest.raises(StoreError):
        driver.init_meta({"format": "other"})
    assert driver.meta() == {"format": "f", "origin": "o"}


def test_everything_survives_reopening(driver_kit: DriverKit) -> None:
    d = driver_kit.open()
    d.init_meta({"k": "v"})
    d.append(0, [b"a", b"b"], [(0, 0, TILE)])
    d.add_checkpoint(2, b"note")
    d.close()
    again = driver_kit.open()
    assert again.meta() == {"k": "v"}
    assert again.size() == 2
    assert again.read_entries(0, 2) == [b"a", b"b"]
    assert list(again.iter_tiles()) == [(0, 0, TILE)]
    assert again.latest_checkpoint() == (2, b"note")


def test_interior_nodes_are_stored_with_their_tile(driver: LogDriver) -> None:
    nodes = bytes(range(254)) * 32
    driver.append(0, [b"a"], [(0, 0, TILE)], [(0, 0, nodes)])
    assert driver.read_tile_nodes([(0, 0), (0, 1), (1, 0)]) == {(0, 0): nodes}
    with pytest.raises(StoreError):  # stored once, like tiles: all or nothing
        driver.append(1, [b"b"], [(0, 1, TILE)], [(0, 0, nodes)])
    assert driver.size() == 1
    assert driver.read_tiles([(0, 1)]) == {}


class NoNodes:
    """A driver without interior nodes, as a log written before they were stored reads."""

    def __init__(self, inner: LogDriver) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def read_tile_nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        return {}


def test_log_stores_interior_nodes_and_proves_the_same_without_them(
    driver_kit: DriverKit, signer: Signer
) -> None:
    entries = [entry(i) for i in range(256 * 257 + 3)]
    log = Log.create_in(driver_kit.open(), signer)
    log.append(entries)
    tiles = list(log.driver.iter_tiles())
    stored = log.driver.read_tile_nodes([(lv, ix) for lv, ix, _ in tiles])
    assert len(stored) == len(tiles) == 258
    for lv, ix, data in tiles:
        hashes = split_hashes(data, Tile(lv, ix, 256))
        assert stored[(lv, ix)] == encode_tile_nodes(tile_levels(hashes))
    rng = random.Random(7)
    sizes = [len(entries), 256 * 256, 256 * 256 + 1, 300]
    check_proofs(log, entries, sizes, rng)
    bare = Log.open_driver(NoNodes(log.driver), signer)  # type: ignore[arg-type]
    check_proofs(bare, entries, sizes, rng)
    assert verify_log(log) == []
    log.close()


def test_verify_log_reports_a_rewritten_interior_node(
    driver_kit: DriverKit, signer: Signer
) -> None:
    log = Log.create_in(driver_kit.open(), signer)
    log.append([entry(i) for i in range(300)])
    nodes = log.driver.read_tile_nodes([(0, 0)])[(0, 0)]
    forged = nodes[:-1] + bytes([nodes[-1] ^ 1])  # the last node: node 1 of level 7
    driver_kit.tamper_tile_nodes(0, 0, forged)
    log = reopen(driver_kit, log, signer)
    problems = verify_log(log)
    # The SQLite kit drops the trigger to rewrite the row (PostgreSQL's re-enables it): that
    # is reported too, before the content findings.
    dropped = ["tile_nodes_no_update"] if driver_kit.name == "sqlite" else []
    assert [p for p in problems if "trigger" in p] == [
        f"append-only trigger {t} is missing (dropped): the database no longer refuses UPDATE "
        "on tile_nodes"
        for t in dropped
    ], problems
    assert [p for p in problems if "trigger" not in p] == [
        "interior nodes of tile (0, 0) differ from those recomputed from the entries (first at "
        "node 1 of level 7 within the tile, tree level 7)"
    ], problems
    log.close()


# -- the Log over each driver ---------------------------------------------------------------------


def reopen(kit: DriverKit, log: Log, signer: Signer | None) -> Log:
    log.close()
    return Log.open_driver(kit.open(), signer)


def check_proofs(log: Log, entries: list[bytes], sizes: list[int], rng: random.Random) -> None:
    """Inclusion and consistency proofs at each size verify and equal MemoryHashes' proofs."""
    mem = MemoryHashes([leaf_hash(e) for e in entries])
    for n in sizes:
        root = tree_hash(n, mem)
        for i in {0, n - 1, rng.randrange(n), rng.randrange(n)}:
            proof = log.inclusion_proof(i, n)
            assert proof == inclusion_proof(i, n, mem)
            verify_inclusion(i, n, leaf_hash(entries[i]), proof, root)
        for m in {1, n, rng.randint(1, n)}:
            verify_consistency(m, n, tree_hash(m, mem), root, log.consistency_proof(m, n))


def test_log_appends_checkpoints_and_proves_after_reopening(
    driver_kit: DriverKit, signer: Signer
) -> None:
    rng = random.Random(7)
    log = Log.create_in(driver_kit.open(), signer)
    entries: list[bytes] = []
    signed_sizes = []
    while len(entries) < 800:
        batch = [entry(len(entries) + k) for k in range(rng.choice([1, 3, 50, 120, 255, 256]))]
        assert log.append(batch) == len(entries)
        entries += batch
        if rng.random() < 0.4:
            signed_sizes.append(log.checkpoint().checkpoint.size)
    root_before = log.root()
    log = reopen(driver_kit, log, signer)
    mem = MemoryHashes([leaf_hash(e) for e in entries])
    assert log.size == len(entries)
    assert log.root() == root_before == mem.root()
    assert log.read_entries(0, len(entries)) == entries
    sizes = [1, 2, 255, 256, 257, 511, 512, 513, len(entries)]
    check_proofs(log, entries, sizes, rng)
    stored = log.driver.checkpoints()
    assert [s for s, _ in stored] == sorted(set(signed_sizes))
    for size, note in stored:
        assert open_checkpoint(note, log.verifier).checkpoint.root == tree_hash(size, mem)
    # A receipt uses the latest checkpoint when it covers the entry, else signs a new one.
    receipt = Receipt.parse(log.receipt(513).encode())
    assert verify_receipt(receipt, entries[513], log.verifier).size == stored[-1][0]
    last = len(entries) - 1
    assert verify_receipt(log.receipt(last), entries[last], log.verifier).size == len(entries)
    assert verify_log(log) == []
    log.close()


def test_log_across_the_level_two_boundary(driver_kit: DriverKit, signer: Signer) -> None:
    log = Log.create_in(driver_kit.open(), signer)
    entries = [entry(i) for i in range(65536 + 70)]
    log.append(entries[:65535])
    log.checkpoint()
    log.append(entries[65535:])
    root = log.root()
    log = reopen(driver_kit, log, signer)
    assert log.root() == root == MemoryHashes([leaf_hash(e) for e in entries]).root()
    assert log.checkpoint().checkpoint.size == len(entries)
    check_proofs(log, entries, [65535, 65536, 65537, len(entries)], random.Random(1))
    assert verify_log(log) == []
    log.close()


def test_checkpoint_is_reused_until_the_log_grows(driver_kit: DriverKit, signer: Signer) -> None:
    log = Log.create_in(driver_kit.open(), signer)
    log.append([b"a", b"b"])
    first = log.checkpoint().encode()
    assert log.checkpoint().encode() == first
    assert len(log.driver.checkpoints()) == 1
    log.append([b"c"])
    assert open_checkpoint(log.checkpoint().encode(), signer.verifier).checkpoint.size == 3
    assert len(log.driver.checkpoints()) == 2
    log.close()


def test_log_without_its_key_proves_but_does_not_sign(
    driver_kit: DriverKit, signer: Signer
) -> None:
    log = Log.create_in(driver_kit.open(), signer)
    log.append([b"a", b"b", b"c"])
    log.checkpoint()
    log.append([b"d"])
    log = reopen(driver_kit, log, None)
    assert log.inclusion_proof(1, 3)  # proofs need no key
    with pytest.raises(InputError):
        log.checkpoint()
    with pytest.raises(InputError):
        Log.open_driver(driver_kit.open(), Signer("cvid.test/log", bytes(32)))
    log.close()


def test_opening_an_empty_store_is_refused(driver: LogDriver) -> None:
    with pytest.raises(StoreError, match="not a cvid log"):
        Log.open_driver(driver)


def test_oversized_entry_is_refused_and_nothing_is_written(
    driver_kit: DriverKit, signer: Signer
) -> None:
    log = Log.create_in(driver_kit.open(), signer)
    log.append([b"before"])
    root = log.root()
    with pytest.raises(InputError, match="entry 1"):
        log.append([b"fine", b"x" * (MAX_ENTRY_SIZE + 1)])
    assert (log.size, log.root(), log.driver.size()) == (1, root, 1)
    biggest = bytes(range(256)) * 255 + b"x" * 255
    assert len(biggest) == 65535
    assert log.append([biggest]) == 1
    log = reopen(driver_kit, log, signer)
    assert log.read_entries(1, 2) == [biggest]
    assert verify_receipt(log.receipt(1), biggest, log.verifier).size == 2
    log.close()


def _tamper_tile(kit: DriverKit, log: Log) -> None:
    data = log.driver.read_tiles([(0, 0)])[(0, 0)]
    kit.tamper_tile(0, 0, data[:-1] + bytes([data[-1] ^ 1]))


def _tamper_tail_entry(kit: DriverKit, log: Log) -> None:
    kit.tamper_entry(280, b"rewritten")


@pytest.mark.parametrize("tamper", [_tamper_tile, _tamper_tail_entry], ids=["tile", "tail-entry"])
def test_checkpoint_refuses_to_sign_over_a_rewritten_tree(
    driver_kit: DriverKit, signer: Signer, tamper: Callable[[DriverKit, Log], None]
) -> None:
    log = Log.create_in(driver_kit.open(), signer)
    log.append([entry(i) for i in range(300)])
    signed = log.checkpoint()
    tamper(driver_kit, log)
    log = reopen(driver_kit, log, signer)
    log.append([entry(300), entry(301)])
    with pytest.raises(StoreError, match="refusing to sign"):
        log.checkpoint()
    assert log.driver.latest_checkpoint() == (300, signed.encode())
    assert verify_log(log) != []
    log.close()


def test_entry_rewritten_in_a_full_tile_is_found_by_verify_log(
    driver_kit: DriverKit, signer: Signer
) -> None:
    log = Log.create_in(driver_kit.open(), signer)
    log.append([entry(i) for i in range(300)])
    log.checkpoint()
    driver_kit.tamper_entry(5, b"rewritten")
    log = reopen(driver_kit, log, signer)
    problems = verify_log(log)
    assert any("tile (0, 0)" in p and "entry 5" in p for p in problems), problems
    assert any("checkpoint of size 300" in p for p in problems), problems
    log.close()


# -- SQLite refuses updates and deletes -----------------------------------------------------------


@pytest.fixture
def sqlite_log(tmp_path: Path, signer: Signer) -> Iterator[Path]:
    """A SQLite log with rows in every table; yields the database path (log closed)."""
    path = tmp_path / "log.db"
    with Log.create_in(SQLiteDriver(path, create=True), signer) as log:
        log.append([entry(i) for i in range(260)])
        log.checkpoint()
    yield path


def _snapshot(path: Path) -> list[list[tuple[object, ...]]]:
    db = sqlite3.connect(path)
    try:
        return [
            db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
            for t in ("meta", "entries", "tiles", "checkpoints")
        ]
    finally:
        db.close()


APPEND_ONLY_VIOLATIONS = {
    "update-entries": "UPDATE entries SET data = x'00' WHERE idx = 3",
    "delete-entries": "DELETE FROM entries WHERE idx = 259",
    "update-tiles": "UPDATE tiles SET hashes = x'00'",
    "delete-tiles": "DELETE FROM tiles",
    "update-checkpoints": "UPDATE checkpoints SET note = x'00'",
    "delete-checkpoints": "DELETE FROM checkpoints",
    "update-meta": "UPDATE meta SET value = 'x' WHERE key = 'vkey'",
    "delete-meta": "DELETE FROM meta",
    "update-tile_nodes": "UPDATE tile_nodes SET nodes = x'00'",
    "delete-tile_nodes": "DELETE FROM tile_nodes",
    "upsert-entries": "INSERT INTO entries VALUES (0, x'00') ON CONFLICT DO UPDATE SET data = 1",
    "gap-entries": "INSERT INTO entries VALUES (270, x'00')",
    "negative-entries": "INSERT INTO entries VALUES (-1, x'00')",
}

REPLACE_VIOLATIONS = {
    "replace-entries": "INSERT OR REPLACE INTO entries VALUES (0, x'00')",
    "replace-tiles": "REPLACE INTO tiles VALUES (0, 0, x'00')",
    "replace-checkpoints": "REPLACE INTO checkpoints VALUES (260, x'00')",
    "replace-meta": "REPLACE INTO meta VALUES ('vkey', 'attacker+00000000+AA==')",
    "replace-tile_nodes": "REPLACE INTO tile_nodes VALUES (0, 0, x'00')",
}


def _refused(path: Path, sql: str) -> None:
    before = _snapshot(path)
    db = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(sql)
        db.commit()
    finally:
        db.close()
    assert _snapshot(path) == before


@pytest.mark.parametrize("sql", APPEND_ONLY_VIOLATIONS.values(), ids=APPEND_ONLY_VIOLATIONS.keys())
def test_sqlite_refuses_updates_and_deletes(sqlite_log: Path, sql: str) -> None:
    _refused(sqlite_log, sql)


@pytest.mark.parametrize("sql", REPLACE_VIOLATIONS.values(), ids=REPLACE_VIOLATIONS.keys())
def test_sqlite_refuses_insert_or_replace(sqlite_log: Path, sql: str) -> None:
    _refused(sqlite_log, sql)


def test_sqlite_refuses_a_gap_even_on_a_log_made_before_the_trigger(sqlite_log: Path) -> None:
    db = sqlite3.connect(sqlite_log)
    db.execute("DROP TRIGGER entries_no_gap")
    db.execute("DROP TABLE schema_version")  # as made before versioning
    db.commit()
    db.close()
    SQLiteDriver(sqlite_log).close()  # opening a cvid log restores its missing triggers
    _refused(sqlite_log, "INSERT INTO entries VALUES (270, x'00')")


def test_a_log_made_before_tile_nodes_gets_the_table_and_still_proves(
    sqlite_log: Path, signer: Signer
) -> None:
    db = sqlite3.connect(sqlite_log)
    for op in ("update", "delete", "replace"):
        db.execute(f"DROP TRIGGER tile_nodes_no_{op}")
    db.execute("DROP TABLE tile_nodes")
    db.execute("DROP TABLE schema_version")  # as made before versioning
    db.commit()
    db.close()
    entries = [entry(i) for i in range(260)]
    with Log.open_driver(SQLiteDriver(sqlite_log), signer) as log:  # adds table and triggers
        assert log.driver.read_tile_nodes([(0, 0)]) == {}
        check_proofs(log, entries, [260, 256, 100], random.Random(3))
        entries += [entry(i) for i in range(260, 600)]
        log.append(entries[260:])
        assert list(log.driver.read_tile_nodes([(0, 0), (0, 1)])) == [(0, 1)]
        check_proofs(log, entries, [600, 512, 300], random.Random(4))
        assert verify_log(log) == []
    _refused(sqlite_log, "DELETE FROM tile_nodes")


# -- SQLite errors are StoreErrors naming the file ------------------------------------------------


def test_a_write_lock_held_too_long_is_a_store_error(sqlite_log: Path, signer: Signer) -> None:
    other = sqlite3.connect(sqlite_log, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        log = Log.open_driver(SQLiteDriver(sqlite_log, timeout=0.1), signer)
        with pytest.raises(StoreError, match="locked") as caught:
            log.append([b"waits"])
        assert str(sqlite_log) in caught.value.diagnostics()
        with pytest.raises(StoreError, match="locked"):
            log.driver.add_checkpoint(1000, b"note")
        assert log.size == 260
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert log.append([b"now it goes"]) == 260
    log.close()


def _schema(path: Path) -> tuple[list[tuple[object, ...]], str]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT type, name FROM sqlite_master ORDER BY name").fetchall()
        return rows, db.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        db.close()


def test_a_foreign_sqlite_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    directory = tmp_path / "foreign"
    directory.mkdir()
    path = directory / "log.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    db.commit()
    db.close()
    before = _schema(path)
    with pytest.raises(StoreError, match="not a cvid log") as caught:
        Log.open(directory)
    assert str(path) in caught.value.diagnostics()
    assert _schema(path) == before
    assert sorted(p.name for p in directory.iterdir()) == ["log.db"]


def test_a_file_that_is_not_sqlite_is_a_store_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "log.db").write_bytes(b"not a database at all, " * 100)
    with pytest.raises(StoreError, match="not a SQLite database") as caught:
        Log.open(tmp_path)
    assert str(tmp_path / "log.db") in caught.value.diagnostics()


def test_a_cvid_database_without_log_metadata_is_refused_naming_it(tmp_path: Path) -> None:
    SQLiteDriver(tmp_path / "log.db", create=True).close()
    with pytest.raises(StoreError, match="not a cvid log") as caught:
        Log.open(tmp_path)
    assert str(tmp_path / "log.db") in caught.value.diagnostics()


# -- damage found while opening is a StoreError ---------------------------------------------------


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (
            ("DROP TRIGGER entries_no_gap", "INSERT INTO entries VALUES (270, x'00')"),
            "gap",
        ),
        (("DROP TRIGGER tiles_no_delete", "DELETE FROM tiles"), "tile (0, 0) is missing"),
        (
            ("DROP TRIGGER tiles_no_update", "UPDATE tiles SET hashes = substr(hashes, 2)"),
            "tile (0, 0) is 8191 bytes",
        ),
    ],
    ids=["gap", "missing-tile", "truncated-tile"],
)
def test_damage_at_the_edge_is_a_store_error_on_opening(
    sqlite_log: Path, damage: tuple[str, ...], said: str
) -> None:
    # 260 entries: the edge's level-1 hash is the root of stored tile (0, 0).
    raw_sql(sqlite_log, *damage)
    with pytest.raises(StoreError, match=re.escape(said)) as caught:
        Log.open(sqlite_log.parent)
    assert "cvid log verify" in caught.value.diagnostics()


# -- several writers on one store -----------------------------------------------------------------


class Racing:
    """A driver on which another writer acts at a chosen moment (``hook`` names the method)."""

    def __init__(self, inner: LogDriver, hook: str, other: Callable[[], None]) -> None:
        self._inner = inner
        self._hook = hook
        self._other: Callable[[], None] | None = other

    def __getattr__(self, name: str) -> object:
        attr = getattr(self._inner, name)
        if name != self._hook or self._other is None:
            return attr
        other, self._other = self._other, None

        def racing(*args: object) -> object:
            other()
            return attr(*args)

        return racing


def _two_writers(
    kit: DriverKit, signer: Signer, hook: str, other: Callable[[Log], None]
) -> tuple[Log, Log]:
    first = Log.create_in(kit.open(), signer)
    first.append([entry(i) for i in range(333)])
    second = Log.open_driver(kit.open(), signer)
    racing = Racing(kit.open(), hook, lambda: other(second))
    return Log.open_driver(racing, signer), second  # type: ignore[arg-type]


def test_a_checkpoint_stored_first_by_another_writer_is_returned(
    driver_kit: DriverKit, signer: Signer
) -> None:
    # Both sign size 333; the other stores first, as two `cvid log checkpoint` runs may.
    log, other = _two_writers(
        driver_kit, signer, "add_checkpoint", lambda o: o.checkpoint() and None
    )
    got = log.checkpoint()
    assert got.checkpoint.size == 333
    assert log.driver.checkpoints() == [(333, got.encode())]
    assert other.checkpoint().encode() == got.encode()


def test_a_larger_checkpoint_signed_meanwhile_is_returned(
    driver_kit: DriverKit, signer: Signer
) -> None:
    def grow(other: Log) -> None:
        other.append([b"more-1", b"more-2"])
        other.checkpoint()

    log, _ = _two_writers(driver_kit, signer, "latest_checkpoint", grow)
    got = log.checkpoint()
    assert got.checkpoint.size == 335
    assert log.size == 335
    assert verify_receipt(log.receipt(334), b"more-2", log.verifier).size == 335


def test_a_long_lived_log_sees_what_another_writer_appended(
    driver_kit: DriverKit, signer: Signer
) -> None:
    old = Log.create_in(driver_kit.open(), signer)
    old.append([entry(i) for i in range(300)])
    other = Log.open_driver(driver_kit.open(), signer)
    other.append([entry(i) for i in range(300, 600)])
    other.checkpoint()  # newer than anything `old` knows
    for index in (0, 299, 599):
        assert verify_receipt(old.receipt(index), entry(index), signer.verifier).size == 600
    assert old.inclusion_proof(550, 600) == other.inclusion_proof(550, 600)
    assert old.root() == other.root()
    old.close()
    other.close()


class Losing:
    """A driver on which another writer commits first, ``times`` times over."""

    def __init__(self, inner: LogDriver, other: Log, times: int) -> None:
        self._inner = inner
        self._other = other
        self._times = times

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def append(
        self,
        expected: int,
        entries: Sequence[bytes],
        tiles: Sequence[FullTile],
        nodes: Sequence[TileNodes] = (),
    ) -> None:
        if self._times:
            self._times -= 1
            self._other.append([b"other"])
        self._inner.append(expected, entries, tiles, nodes)


def test_appends_retry_as_long_as_other_writers_win(driver_kit: DriverKit, signer: Signer) -> None:
    Log.create_in(driver_kit.open(), signer)
    other = Log.open_driver(driver_kit.open(), signer)
    losing = Losing(driver_kit.open(), other, 5)
    log = Log.open_driver(losing, signer)  # type: ignore[arg-type]
    assert log.append([b"mine"]) == 5
    assert log.read_entries(0, 6) == [b"other"] * 5 + [b"mine"]


# -- the log checks what it hands out -------------------------------------------------------------


def test_a_receipt_from_damaged_storage_is_refused(driver_kit: DriverKit, signer: Signer) -> None:
    log = Log.create_in(driver_kit.open(), signer)
    log.append([entry(i) for i in range(300)])
    log.checkpoint()
    driver_kit.tamper_tile(0, 0, bytes(256 * 32))
    log = reopen(driver_kit, log, signer)
    with pytest.raises(StoreError, match="cvid log verify"):
        log.receipt(5)
    log.close()


# -- the private key is read only to sign ---------------------------------------------------------


@pytest.mark.parametrize(
    "key", [b"garbage\n", Signer.generate("cvid.test/log").skey.encode()], ids=["corrupt", "other"]
)
def test_an_unusable_key_file_matters_only_when_signing(tmp_path: Path, key: bytes) -> None:
    directory = tmp_path / "log"
    with Log.create(directory, "cvid.test/log") as log:
        log.append([b"a", b"b"])
        log.checkpoint()
    (directory / "log.key").write_bytes(key)
    with Log.open(directory) as log:
        assert verify_receipt(log.receipt(1), b"b", log.verifier).size == 2
        assert verify_log(log) == []
        log.append([b"c"])
        with pytest.raises(InputError, match=r"log\.key") as caught:
            log.checkpoint()
    assert str(directory / "log.key") in caught.value.diagnostics()
