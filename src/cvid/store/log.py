"""A durable transparency log: sequencing, checkpoints, proofs and receipts over a driver.

A log lives in a directory: ``log.db`` (SQLite) holds entries, full tiles and checkpoints;
``log.key`` (mode 0600) holds the log's private key. The rules it keeps:

- an entry is durable (committed with its tiles in one transaction) before any checkpoint covers
  it;
- it never signs a checkpoint inconsistent with the last one it signed: before signing, the root
  at the last signed size is recomputed from storage and must equal the signed root;
- opening a log after a crash rebuilds the tree's edge from what was committed, nothing else.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from cvid.errors import InputError, StoreError
from cvid.store.driver import ConflictError, LogDriver
from cvid.store.sqlite import SQLiteDriver
from cvid.tlog import merkle
from cvid.tlog.checkpoint import Checkpoint, SignedCheckpoint, open_checkpoint, sign_checkpoint
from cvid.tlog.edge import TreeEdge
from cvid.tlog.merkle import leaf_hash
from cvid.tlog.note import Signer, Verifier
from cvid.tlog.receipt import Receipt
from cvid.tlog.tiles import MAX_ENTRY_SIZE, Tile, TileHashReader, split_hashes

FORMAT = "cvid-log/1"
DB_NAME = "log.db"
KEY_NAME = "log.key"


def check_entry(entry: bytes, where: str) -> None:
    """Raise :class:`InputError` if ``entry`` cannot be logged (over 65,535 bytes)."""
    if len(entry) > MAX_ENTRY_SIZE:
        raise InputError(
            f"{where}: entry of {len(entry):,} bytes exceeds the {MAX_ENTRY_SIZE:,}-byte limit "
            "of tlog-tiles entry bundles (store large documents by hash); nothing was written"
        )


class Log:
    """One transparency log over a :class:`LogDriver`, signing with ``signer``."""

    def __init__(self, driver: LogDriver, signer: Signer | None, verifier: Verifier) -> None:
        self.driver = driver
        self.signer = signer
        self.verifier = verifier
        self.origin = verifier.name
        self._lock = threading.RLock()
        self._edge = self._load_edge()

    # -- creation and opening ------------------------------------------------------------

    @classmethod
    def create_in(cls, driver: LogDriver, signer: Signer) -> Log:
        """Initialise a new log on ``driver`` whose origin is the signer's key name."""
        driver.init_meta({"format": FORMAT, "origin": signer.name, "vkey": signer.verifier.vkey})
        return cls(driver, signer, signer.verifier)

    @classmethod
    def create(cls, directory: Path, origin: str) -> Log:
        """Create a log in ``directory`` (made if needed; it must hold no log) keyed ``origin``."""
        signer = Signer.generate(origin)
        directory.mkdir(parents=True, exist_ok=True)
        if (directory / DB_NAME).exists() or (directory / KEY_NAME).exists():
            raise InputError(f"{directory}: a log already exists there")
        signer.write(directory / KEY_NAME)
        return cls.create_in(SQLiteDriver(directory / DB_NAME), signer)

    @classmethod
    def open_driver(cls, driver: LogDriver, signer: Signer | None = None) -> Log:
        """Open an existing log on ``driver``; without a signer it cannot sign checkpoints."""
        meta = driver.meta()
        if meta.get("format") != FORMAT:
            raise StoreError(f"not a cvid log (format {meta.get('format')!r})")
        verifier = Verifier.from_vkey(meta["vkey"])
        if signer is not None and signer.verifier != verifier:
            raise InputError("the private key given is not this log's key")
        return cls(driver, signer, verifier)

    @classmethod
    def open(cls, directory: Path) -> Log:
        """Open the log in ``directory`` (its key too, when present)."""
        db = directory / DB_NAME
        if not db.is_file():
            raise InputError(f"{directory}: no log here (missing {DB_NAME}); see `cvid log init`")
        key = directory / KEY_NAME
        signer = Signer.read(key) if key.exists() else None
        return cls.open_driver(SQLiteDriver(db), signer)

    def close(self) -> None:
        """Close the underlying storage."""
        self.driver.close()

    def __enter__(self) -> Log:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _load_edge(self) -> TreeEdge:
        def leaves(start: int, end: int) -> list[bytes]:
            return [leaf_hash(e) for e in self.driver.read_entries(start, end)]

        def full(level: int, index: int) -> list[bytes]:
            return self._full_tile(level, index)

        return TreeEdge.load(self.driver.size(), leaves, full)

    def _full_tile(self, level: int, index: int) -> list[bytes]:
        data = self.driver.read_tiles([(level, index)]).get((level, index))
        if data is None:
            raise StoreError(f"stored tile ({level}, {index}) is missing")
        return split_hashes(data, Tile(level, index, 256))

    # -- state -----------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """The number of durable entries."""
        return self._edge.size

    def root(self) -> bytes:
        """The root hash over every durable entry."""
        with self._lock:
            return self._edge.root()

    def reader(self, size: int | None = None) -> TileHashReader:
        """A hash reader for the tree of ``size`` leaves (default: the current size)."""
        with self._lock:
            edge = self._edge.copy()
        n = edge.size if size is None else size
        if not 0 <= n <= edge.size:
            raise InputError(f"tree size {n} is beyond the log's size {edge.size}")

        def fetch(tile: Tile) -> list[bytes]:
            index, hashes = edge.partial(tile.level)
            if tile.n == index and tile.width <= len(hashes):
                return hashes[: tile.width]
            return self._full_tile(tile.level, tile.n)[: tile.width]

        return TileHashReader(n, fetch)

    def read_entries(self, start: int, end: int) -> list[bytes]:
        """The entries in ``[start, end)``."""
        return self.driver.read_entries(start, end)

    # -- appending -------------------------------------------------------------------------

    def append(self, entries: Sequence[bytes]) -> int:
        """Durably append ``entries`` in one commit and return the index of the first.

        Every entry is checked first; if any is refused nothing is written.
        """
        for i, e in enumerate(entries):
            check_entry(e, f"entry {i}")
        hashes = [leaf_hash(e) for e in entries]
        with self._lock:
            for attempt in range(2):
                first = self._edge.size
                edge = self._edge.copy()
                tiles = edge.extend(hashes)
                try:
                    self.driver.append(first, entries, tiles)
                except ConflictError:
                    if attempt:
                        raise
                    # Another process appended: pick up its entries and sequence after them.
                    self._edge = self._load_edge()
                    continue
                self._edge = edge
                return first
        raise AssertionError("unreachable")

    # -- checkpoints -----------------------------------------------------------------------

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        """The last checkpoint this log signed, verified with its key."""
        got = self.driver.latest_checkpoint()
        return None if got is None else open_checkpoint(got[1], self.verifier)

    def checkpoint(self) -> SignedCheckpoint:
        """Return a signed checkpoint covering every durable entry, signing one if needed.

        Refuses (:class:`StoreError`) to sign a checkpoint that does not extend the last one.
        """
        with self._lock:
            if self.driver.size() != self._edge.size:
                self._edge = self._load_edge()
            size, root = self._edge.size, self._edge.root()
            last = self.latest_checkpoint()
            if last is not None:
                old = last.checkpoint
                if old.size == size and old.root == root:
                    return last
                if old.size > size:
                    raise StoreError(f"last checkpoint has size {old.size}, the log only {size}")
                if merkle.tree_hash(old.size, self.reader()) != old.root:
                    raise StoreError(
                        f"refusing to sign: the stored tree at size {old.size} no longer has the "
                        "root of the last signed checkpoint (run `cvid log verify`)"
                    )
            if self.signer is None:
                raise InputError("this log's private key is not available to sign a checkpoint")
            signed = sign_checkpoint(Checkpoint(self.origin, size, root), self.signer)
            self.driver.add_checkpoint(size, signed.encode())
            return signed

    # -- proofs ----------------------------------------------------------------------------

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The inclusion proof of entry ``index`` in the tree of ``size`` (default current)."""
        reader = self.reader(size)
        if not 0 <= index < reader.size:
            raise InputError(f"index {index} is not in the log (size {reader.size})")
        return merkle.inclusion_proof(index, reader.size, reader)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """The consistency proof from ``old_size`` to ``new_size`` (default current)."""
        reader = self.reader(new_size)
        if not 0 <= old_size <= reader.size:
            raise InputError(f"size {old_size} is not within the log (size {reader.size})")
        return merkle.consistency_proof(old_size, reader.size, reader)

    def receipt(self, index: int, extra: bytes | None = None) -> Receipt:
        """A ``tlog-proof`` receipt for entry ``index`` against the latest checkpoint.

        Signs a new checkpoint first if the latest does not cover the entry.
        """
        if not 0 <= index < self.size:
            raise InputError(f"index {index} is not in the log (size {self.size})")
        cp = self.latest_checkpoint()
        if cp is None or cp.checkpoint.size <= index:
            cp = self.checkpoint()
        proof = self.inclusion_proof(index, cp.checkpoint.size)
        return Receipt(index, tuple(proof), cp.encode(), extra)

    def tile_hashes(self, tile: Tile) -> list[bytes]:
        """The hashes of ``tile`` as it stands in the current tree."""
        reader = self.reader()
        return list(reader.tile(tile.level, tile.n))[: tile.width]
