"""The log's storage written once in SQL, for every SQL backend (SQLite, PostgreSQL).

A backend subclasses :class:`SqlDriver` and provides two transactions, each handing out a
:class:`SqlTx`:

- :meth:`SqlDriver.write`: the store's single writer. It holds the database's writer lock
  for the whole transaction (SQLite ``BEGIN IMMEDIATE``; PostgreSQL an advisory transaction
  lock), so whoever reads the size inside it appends at exactly that index. Commits on exit
  (one fsync), rolls back whole on any exception.
- :meth:`SqlDriver.read`: a read-only, consistent snapshot on a separate connection.

SQL here uses ``?`` placeholders; a backend translates them. Every backend error becomes a
:class:`StoreError` naming the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Literal, Protocol

from cvid.errors import StoreError
from cvid.store.driver import ConflictError

Dialect = Literal["sqlite", "postgresql"]

#: Entries inserted by one multi-row INSERT statement (2 parameters a row: far below SQLite's
#: 32,766 and PostgreSQL's 65,535 parameter limits).
ROWS_PER_STATEMENT = 250


class SqlTx(Protocol):
    """One open transaction: run statements with ``?`` placeholders."""

    dialect: Dialect

    def execute(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; the rows it returns (empty for statements without rows)."""
        ...

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        """Run one statement for each parameter row."""
        ...


def blob(value: object, table: str, row: str, column: str) -> bytes:
    """A stored BLOB/BYTEA as bytes; a :class:`StoreError` naming the table, row and column if
    the database holds something else there (text or a number: it was altered behind cvid)."""
    if type(value) is bytes:
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    kind = {str: "text", int: "an integer", float: "a real"}.get(type(value), type(value).__name__)
    if value is None:
        kind = "NULL"
    raise StoreError(
        f"table {table}, row {row}: {column} is {kind}, not bytes: the database was altered "
        "behind cvid; nothing was changed"
    )


def size_in(tx: SqlTx) -> int:
    """The number of durable entries, read inside ``tx``."""
    row = tx.execute("SELECT MAX(idx) FROM entries")[0]
    return 0 if row[0] is None else int(row[0]) + 1


def append_in(
    tx: SqlTx,
    where: str,
    expected_size: int,
    entries: Sequence[bytes],
    tiles: Sequence[tuple[int, int, bytes]],
    nodes: Sequence[tuple[int, int, bytes]] = (),
) -> None:
    """Insert entries from ``expected_size`` with their full tiles and interior nodes.

    A :class:`ConflictError` (nothing written) if the stored size is not ``expected_size``.
    """
    actual = size_in(tx)
    if actual != expected_size:
        raise ConflictError(f"{where}: log has {actual} entries, writer expected {expected_size}")
    n = len(entries)
    full = n - n % ROWS_PER_STATEMENT
    if full:
        # Many rows a statement: the per-statement overhead, not the rows, dominates.
        sql = "INSERT INTO entries (idx, data) VALUES " + ",".join(["(?, ?)"] * ROWS_PER_STATEMENT)
        tx.executemany(
            sql,
            (
                [
                    v
                    for i in range(k, k + ROWS_PER_STATEMENT)
                    for v in (expected_size + i, entries[i])
                ]
                for k in range(0, full, ROWS_PER_STATEMENT)
            ),
        )
    if full < n:
        tx.executemany(
            "INSERT INTO entries (idx, data) VALUES (?, ?)",
            ((expected_size + i, entries[i]) for i in range(full, n)),
        )
    if tiles:
        tx.executemany("INSERT INTO tiles (level, idx, hashes) VALUES (?, ?, ?)", tiles)
    if nodes:
        tx.executemany("INSERT INTO tile_nodes (level, idx, nodes) VALUES (?, ?, ?)", nodes)


def add_checkpoint_in(tx: SqlTx, size: int, signed_note: bytes) -> None:
    """Insert a checkpoint; a :class:`ConflictError` unless ``size`` exceeds the last stored."""
    row = tx.execute("SELECT MAX(size) FROM checkpoints")[0]
    if row[0] is not None and size <= int(row[0]):
        raise ConflictError(f"checkpoint of size {size} does not extend size {row[0]}")
    tx.execute("INSERT INTO checkpoints (size, note) VALUES (?, ?)", (size, signed_note))


def latest_checkpoint_in(tx: SqlTx) -> tuple[int, bytes] | None:
    """The stored checkpoint with the largest size, read inside ``tx``."""
    rows = tx.execute("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1")
    if not rows:
        return None
    size = int(rows[0][0])
    return size, blob(rows[0][1], "checkpoints", f"size {size}", "note")


def read_entries_in(tx: SqlTx, start: int, end: int) -> list[bytes]:
    """The entries with indices in ``[start, end)``, read inside ``tx``."""
    rows = tx.execute(
        "SELECT data FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx", (start, end)
    )
    return [
        v if type(v := r[0]) is bytes else blob(v, "entries", f"idx {start + i}", "data")
        for i, r in enumerate(rows)
    ]


def read_tile_with_nodes_in(tx: SqlTx, level: int, index: int) -> tuple[bytes | None, bytes | None]:
    """A full tile's hashes and interior nodes, read inside ``tx``."""
    rows = tx.execute(
        "SELECT t.hashes, n.nodes FROM tiles t LEFT JOIN tile_nodes n "
        "ON n.level = t.level AND n.idx = t.idx WHERE t.level = ? AND t.idx = ?",
        (level, index),
    )
    if not rows:
        return None, None
    hashes, nodes = rows[0]
    where = f"(level {level}, idx {index})"
    return blob(hashes, "tiles", where, "hashes"), (
        None if nodes is None else blob(nodes, "tile_nodes", where, "nodes")
    )


class SqlDriver:
    """A :class:`cvid.store.driver.LogDriver` over any SQL backend's two transactions.

    Subclasses set :attr:`where` (the store's name in messages) and :attr:`dialect` and
    implement :meth:`write` and :meth:`read`.
    """

    where: str = "the store"
    dialect: Dialect = "sqlite"

    def write(self) -> AbstractContextManager[SqlTx]:
        """The single writer's transaction (the database's writer lock held throughout)."""
        raise NotImplementedError

    def read(self) -> AbstractContextManager[SqlTx]:
        """A read-only snapshot transaction."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the backend's connections."""
        raise NotImplementedError

    def schema_problems(self) -> list[str]:
        """What is wrong with the store's append-only protections (empty: intact); read only."""
        return []

    # -- LogDriver ---------------------------------------------------------------------------

    def init_meta(self, meta: Mapping[str, str]) -> None:
        """Write the log's metadata once."""
        with self.write() as tx:
            if tx.execute("SELECT 1 FROM meta LIMIT 1"):
                raise StoreError(f"{self.where}: a log already exists here")
            tx.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", sorted(meta.items()))

    def meta(self) -> dict[str, str]:
        """The metadata written at creation."""
        with self.read() as tx:
            return {str(k): str(v) for k, v in tx.execute("SELECT key, value FROM meta")}

    def size(self) -> int:
        """The number of durable entries."""
        with self.read() as tx:
            return size_in(tx)

    def append(
        self,
        expected_size: int,
        entries: Sequence[bytes],
        tiles: Sequence[tuple[int, int, bytes]],
        nodes: Sequence[tuple[int, int, bytes]] = (),
    ) -> None:
        """Store entries, full tiles and their interior nodes in one transaction (one fsync).

        A failure other than a :class:`ConflictError` says how many entries were refused.
        """
        try:
            with self.write() as tx:
                append_in(tx, self.where, expected_size, entries, tiles, nodes)
        except ConflictError:
            raise
        except StoreError as exc:
            raise StoreError(f"{exc.diagnostics()} (appending {len(entries)} entries)") from None

    def read_entries(self, start: int, end: int) -> list[bytes]:
        """The entries in ``[start, end)``."""
        with self.read() as tx:
            return read_entries_in(tx, start, end)

    def _read_keyed(
        self, table: str, column: str, keys: Sequence[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        out: dict[tuple[int, int], bytes] = {}
        with self.read() as tx:
            for level, index in keys:
                rows = tx.execute(
                    f"SELECT {column} FROM {table} WHERE level = ? AND idx = ?", (level, index)
                )
                if rows:
                    where = f"(level {level}, idx {index})"
                    out[(level, index)] = blob(rows[0][0], table, where, column)
        return out

    def read_tiles(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored full tiles among ``keys``."""
        return self._read_keyed("tiles", "hashes", keys)

    def read_tile_nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored interior nodes of full tiles among ``keys``."""
        return self._read_keyed("tile_nodes", "nodes", keys)

    def read_tile_with_nodes(self, level: int, index: int) -> tuple[bytes | None, bytes | None]:
        """A full tile's hashes and interior nodes in one query (proofs read both)."""
        with self.read() as tx:
            return read_tile_with_nodes_in(tx, level, index)

    def iter_tiles(self) -> Iterator[tuple[int, int, bytes]]:
        """Every stored tile, by level then index, in pages of 64 (512 KiB)."""
        after = (-1, -1)
        while True:
            with self.read() as tx:
                rows = tx.execute(
                    "SELECT level, idx, hashes FROM tiles WHERE level > ? OR "
                    "(level = ? AND idx > ?) ORDER BY level, idx LIMIT 64",
                    (after[0], after[0], after[1]),
                )
            if not rows:
                return
            batch = [
                (int(a), int(b), blob(c, "tiles", f"(level {a}, idx {b})", "hashes"))
                for a, b, c in rows
            ]
            yield from batch
            after = batch[-1][:2]

    def add_checkpoint(self, size: int, signed_note: bytes) -> None:
        """Store a signed checkpoint larger than the last."""
        with self.write() as tx:
            add_checkpoint_in(tx, size, signed_note)

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        """The largest signed checkpoint."""
        with self.read() as tx:
            return latest_checkpoint_in(tx)

    def checkpoints(self) -> list[tuple[int, bytes]]:
        """Every signed checkpoint, by size."""
        with self.read() as tx:
            rows = tx.execute("SELECT size, note FROM checkpoints ORDER BY size")
        return [(int(a), blob(b, "checkpoints", f"size {a}", "note")) for a, b in rows]
