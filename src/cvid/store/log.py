"""A durable transparency log: sequencing, checkpoints, proofs and receipts over a driver.

A log lives in a directory: ``log.db`` (SQLite) holds entries, full tiles and checkpoints;
``log.key`` (mode 0600) holds the log's private key. The rules it keeps:

- an entry is durable (committed with its tiles in one transaction) before any checkpoint covers
  it;
- it never signs a checkpoint inconsistent with the last one it signed: before signing, the root
  at the last signed size is recomputed from storage and must equal the signed root;
- opening a log after a crash rebuilds the tree's edge from what was committed, nothing else.

A log may have *cosigners* (:attr:`Log.cosigners`): each adds its signature line, after the
log's own, to every checkpoint the log signs (a ledger's clock adds a timestamped
``tlog-cosignature``). Readers that do not know a cosigner's key ignore its line.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

from cvid.errors import Error, InputError, StoreError
from cvid.keyfiles import read_signer, write_signer
from cvid.store.driver import ConflictError, LogDriver
from cvid.store.sqlite import SQLiteDriver
from cvid.tlog import (
    HASH_SIZE,
    MAX_ENTRY_SIZE,
    TILE_WIDTH,
    Checkpoint,
    HashView,
    Note,
    NoteSignature,
    Receipt,
    SignedCheckpoint,
    Signer,
    Tile,
    TileHashReader,
    TreeEdge,
    Verifier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    open_checkpoint,
    sign_checkpoint,
    split_hashes,
    tile_nodes_size,
    tree_hash,
    verify_inclusion,
)

FORMAT = "cvid-log/1"
DB_NAME = "log.db"
KEY_NAME = "log.key"

#: Full tiles (with their interior nodes, 16 KiB) a log keeps in memory for proofs.
TILE_CACHE = 1024

#: How long :meth:`Log.append` keeps retrying while other processes' appends win the race.
APPEND_RETRY_SECONDS = 120.0

#: Given the text of a checkpoint the log is about to store, returns one more signature line.
Cosigner = Callable[[str], NoteSignature]


def check_entry(entry: bytes, where: str) -> None:
    """Raise :class:`InputError` if ``entry`` cannot be logged (over 65,535 bytes)."""
    if len(entry) > MAX_ENTRY_SIZE:
        raise InputError(
            f"{where}: entry of {len(entry):,} bytes exceeds the {MAX_ENTRY_SIZE:,}-byte limit "
            "of tlog-tiles entry bundles (store large documents by hash); nothing was written"
        )


def log_verifier(driver: LogDriver, where: str = "the store") -> Verifier:
    """The log key recorded in ``driver``'s metadata; :class:`StoreError` if not a cvid log."""
    meta = driver.meta()
    if meta.get("format") != FORMAT:
        raise StoreError(f"{where}: not a cvid log (format {meta.get('format')!r})")
    try:
        return Verifier.from_vkey(meta.get("vkey", ""))
    except Error as exc:
        raise StoreError(f"{where}: the log key in its metadata: {exc.diagnostics()}") from None


#: The database of a ledger (:mod:`cvid.evidence.ledger`), which holds a log too.
LEDGER_DB_NAME = "ledger.db"


def store_path(directory: Path) -> Path:
    """The database of the log in ``directory``: ``log.db``, or a ledger's ``ledger.db``."""
    for name in (DB_NAME, LEDGER_DB_NAME):
        if (directory / name).is_file():
            return directory / name
    raise InputError(f"{directory}: no log here (missing {DB_NAME}); see `cvid log init`")


def open_store(directory: Path, readonly: bool = False) -> tuple[SQLiteDriver, Verifier]:
    """Open the database of the log in ``directory`` and read its key, touching nothing else.

    Creates nothing and reads neither the private key nor the tree: what ``cvid log verify``
    needs to examine a log whatever state it is in. A ledger's directory opens its log.
    ``readonly`` opens no write connection, so nothing (not even a migration) is written.
    """
    db = store_path(directory)
    driver = SQLiteDriver(db, readonly=readonly)
    try:
        return driver, log_verifier(driver, str(db))
    except BaseException:
        driver.close()
        raise


class Log:
    """One transparency log over a :class:`LogDriver`, signing with ``signer``.

    ``cosigners`` (settable later through the attribute) each add a signature line after the
    log's own to every checkpoint :meth:`checkpoint` signs; the log's signature stays first.
    """

    def __init__(
        self,
        driver: LogDriver,
        signer: Signer | None,
        verifier: Verifier,
        cosigners: Sequence[Cosigner] = (),
    ) -> None:
        self.driver = driver
        self.signer = signer
        self.verifier = verifier
        self.origin = verifier.name
        self.cosigners: tuple[Cosigner, ...] = tuple(cosigners)
        self._lock = threading.RLock()
        # Full tiles never change once stored: the most recently read serve later proofs
        # without a store read (a served ledger proves every record it admits).
        self._tile_cache: OrderedDict[tuple[int, int], tuple[bytes, bytes | None]] = OrderedDict()
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
        write_signer(signer, directory / KEY_NAME)
        return cls.create_in(SQLiteDriver(directory / DB_NAME, create=True), signer)

    @classmethod
    def open_driver(
        cls, driver: LogDriver, signer: Signer | None = None, where: str = "the store"
    ) -> Log:
        """Open an existing log on ``driver``; without a signer it cannot sign checkpoints.

        ``where`` names the store in error messages.
        """
        verifier = log_verifier(driver, where)
        if signer is not None and signer.verifier != verifier:
            raise InputError(f"{where}: the private key given is not this log's key")
        return cls(driver, signer, verifier)

    @classmethod
    def open(cls, directory: Path) -> Log:
        """Open the log in ``directory``.

        Its private key (``log.key``) is read only when a new checkpoint must be signed, so a
        missing or unusable key file stops signing, never reading, proving or verifying.
        """
        driver, verifier = open_store(directory)
        try:
            log = cls(driver, None, verifier)
        except BaseException:
            driver.close()
            raise
        log._key_path = directory / KEY_NAME
        return log

    _signer: Signer | None = None
    _key_path: Path | None = None

    @property
    def signer(self) -> Signer | None:
        """The log's private key, read from ``log.key`` on first use by a log from :meth:`open`.

        None when there is no key; an unusable key file is an :class:`InputError` naming it.
        """
        path = self._key_path
        if self._signer is None and path is not None and path.exists():
            try:
                signer = read_signer(path)
            except Error as exc:
                raise InputError(
                    f"{path}: cannot use the log's private key to sign a checkpoint: "
                    f"{exc.diagnostics()}"
                ) from None
            if signer.verifier != self.verifier:
                raise InputError(
                    f"{path}: not this log's private key (the log's key is {self.verifier.vkey}); "
                    "cannot sign a checkpoint"
                )
            self._signer, self._key_path = signer, None
        return self._signer

    @signer.setter
    def signer(self, value: Signer | None) -> None:
        self._signer, self._key_path = value, None

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
        data = self._full_tile_data(level, index)
        return split_hashes(data, Tile(level, index, TILE_WIDTH))

    def _full_tile_data(self, level: int, index: int) -> bytes:
        """A stored full tile's bytes; a :class:`StoreError` if missing or not 256 hashes."""
        return self._checked_tile(
            level, index, self.driver.read_tiles([(level, index)]).get((level, index))
        )

    @staticmethod
    def _checked_tile(level: int, index: int, data: bytes | None) -> bytes:
        """``data`` if it is a whole stored tile; otherwise a :class:`StoreError`."""
        if data is None:
            raise StoreError(f"stored tile ({level}, {index}) is missing (run `cvid log verify`)")
        if len(data) != TILE_WIDTH * HASH_SIZE:
            raise StoreError(
                f"stored tile ({level}, {index}) is {len(data)} bytes, not {256 * 32} "
                "(run `cvid log verify`)"
            )
        return data

    def refresh(self) -> int:
        """Pick up entries other processes appended since this log last looked; the new size.

        One cheap query when nothing changed.
        """
        with self._lock:
            size = self.driver.size()
            if size > self._edge.size and size - self._edge.size <= TILE_WIDTH:
                # A few new entries: extend the edge by their leaves rather than reload it.
                # Appends are checked against the stored size, so these follow the edge's.
                new = self.driver.read_entries(self._edge.size, size)
                if len(new) == size - self._edge.size:
                    edge = self._edge.copy()
                    edge.extend([leaf_hash(e) for e in new])
                    self._edge = edge
                    return size
            if size != self._edge.size:
                self._edge = self._load_edge()
            return self._edge.size

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
        """A hash reader for the tree of ``size`` leaves (default: the current size).

        Entries other processes appended are picked up first when ``size`` needs them.
        """
        with self._lock:
            if size is None or size > self._edge.size:
                self.refresh()
            edge = self._edge.copy()
        n = edge.size if size is None else size
        if not 0 <= n <= edge.size:
            raise InputError(f"tree size {n} is beyond the log's size {edge.size}")

        # A proof needs a stored tile's hashes and its interior nodes: read both at once.
        stored: dict[tuple[int, int], tuple[bytes, bytes | None]] = {}

        def load(level: int, index: int) -> tuple[bytes, bytes | None]:
            got = stored.get((level, index))
            if got is None:
                got = stored[(level, index)] = self._stored_tile(level, index)
            return got

        def fetch(tile: Tile) -> Sequence[bytes]:
            index, hashes = edge.partial(tile.level)
            if tile.n == index and tile.width <= len(hashes):
                return hashes[: tile.width]
            view = HashView(load(tile.level, tile.n)[0])
            return view if tile.width == TILE_WIDTH else list(view)[: tile.width]

        def fetch_nodes(tile: Tile) -> bytes | None:
            index, hashes = edge.partial(tile.level)
            if tile.n == index:
                return edge.partial_nodes(tile.level) if tile.width == len(hashes) else None
            got = load(tile.level, tile.n)[1]
            # Absent (a log from before interior nodes were stored) or damaged (`cvid log
            # verify` reports it): hash the tile instead.
            return got if got is not None and len(got) == tile_nodes_size(tile.width) else None

        return TileHashReader(n, fetch, fetch_nodes)

    def _stored_tile(self, level: int, index: int) -> tuple[bytes, bytes | None]:
        """A stored full tile and its interior nodes, from the cache of recent ones or the store."""
        key = (level, index)
        with self._lock:
            got = self._tile_cache.get(key)
            if got is not None:
                self._tile_cache.move_to_end(key)
                return got
        data, nodes = self.driver.read_tile_with_nodes(level, index)
        got = (self._checked_tile(level, index, data), nodes)
        with self._lock:
            self._tile_cache[key] = got
            if len(self._tile_cache) > TILE_CACHE:
                self._tile_cache.popitem(last=False)
        return got

    def read_entries(self, start: int, end: int) -> list[bytes]:
        """The entries in ``[start, end)``."""
        return self.driver.read_entries(start, end)

    # -- appending -------------------------------------------------------------------------

    def append(self, entries: Sequence[bytes]) -> int:
        """Durably append ``entries`` in one commit and return the index of the first.

        Every entry is checked first; if any is refused nothing is written. When other
        processes append to the same store meanwhile, the entries go after theirs: each
        :class:`ConflictError` means another writer progressed, so this retries (with a short
        random pause) for up to :data:`APPEND_RETRY_SECONDS` before giving up.
        """
        if entries and max(map(len, entries)) > MAX_ENTRY_SIZE:
            for i, e in enumerate(entries):
                check_entry(e, f"entry {i}")
        sha256 = hashlib.sha256
        hashes = [sha256(b"\x00" + e).digest() for e in entries]  # leaf_hash, inlined: hot
        deadline = time.monotonic() + APPEND_RETRY_SECONDS
        conflicts = 0
        with self._lock:
            while True:
                first = self._edge.size
                edge = self._edge.copy()
                tiles = edge.extend(hashes)
                try:
                    self.driver.append(first, entries, tiles, edge.completed_nodes)
                except ConflictError as exc:
                    conflicts += 1
                    if time.monotonic() > deadline:
                        raise ConflictError(
                            f"{exc.diagnostics()}; gave up after {conflicts} attempts in "
                            f"{APPEND_RETRY_SECONDS:.0f} s as other writers kept appending first"
                        ) from None
                    if conflicts > 2:
                        # Many writers at once: step aside briefly so they do not collide again.
                        time.sleep(random.uniform(0, min(0.05, 0.001 * conflicts)))
                    # Another process appended: pick up its entries and sequence after them.
                    self._edge = self._load_edge()
                    continue
                self._edge = edge
                return first

    def stage(self, entries: Sequence[bytes]) -> tuple[TreeEdge, list[tuple[int, int, bytes]]]:
        """The tree after appending ``entries`` to the current one, and the full tiles that
        completes; the tiles' interior nodes are the returned edge's ``completed_nodes``.

        Changes nothing: a writer that holds the store's lock stores the rows itself, then
        :meth:`adopt` s the edge once its transaction committed.
        """
        if entries and max(map(len, entries)) > MAX_ENTRY_SIZE:
            for i, e in enumerate(entries):
                check_entry(e, f"entry {i}")
        sha256 = hashlib.sha256
        with self._lock:
            edge = self._edge.copy()
        tiles = edge.extend([sha256(b"\x00" + e).digest() for e in entries])
        return edge, tiles

    def adopt(self, edge: TreeEdge) -> None:
        """Take ``edge`` (from :meth:`stage`) as the tree, once its rows are durable."""
        with self._lock:
            self._edge = edge

    def reload(self) -> int:
        """Rebuild the tree's edge from storage (after another writer appended); the size."""
        with self._lock:
            self._edge = self._load_edge()
            return self._edge.size

    # -- checkpoints -----------------------------------------------------------------------

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        """The last checkpoint this log signed, verified with its key."""
        got = self.driver.latest_checkpoint()
        return None if got is None else open_checkpoint(got[1], self.verifier)

    def checkpoint(self) -> SignedCheckpoint:
        """Return a signed checkpoint covering every durable entry, signing one if needed.

        A new checkpoint carries the log's signature, then one line from each of
        :attr:`cosigners` (called with the checkpoint text), and is stored as that note. Refuses
        (:class:`StoreError`) to sign a checkpoint that does not extend the last one.
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
                if old.size > size:  # another process appended and signed meanwhile
                    return self._adopt(last)
                if tree_hash(old.size, self.reader()) != old.root:
                    raise StoreError(
                        f"refusing to sign: the stored tree at size {old.size} no longer has the "
                        "root of the last signed checkpoint (run `cvid log verify`)"
                    )
            if self.signer is None:
                raise InputError("this log's private key is not available to sign a checkpoint")
            signed = sign_checkpoint(Checkpoint(self.origin, size, root), self.signer)
            if self.cosigners:
                text = signed.note.text
                extra = tuple(cosign(text) for cosign in self.cosigners)
                signed = SignedCheckpoint(
                    signed.checkpoint, Note(text, signed.note.signatures + extra)
                )
            return self._store_checkpoint(signed)

    def _store_checkpoint(self, signed: SignedCheckpoint) -> SignedCheckpoint:
        """Store ``signed``; if another process stored one as large first, return that one."""
        size = signed.checkpoint.size
        try:
            self.driver.add_checkpoint(size, signed.encode())
        except ConflictError:
            latest = self.latest_checkpoint()
            if latest is None or latest.checkpoint.size < size:
                raise
            return self._adopt(latest)
        return signed

    def _adopt(self, latest: SignedCheckpoint) -> SignedCheckpoint:
        """Return ``latest``, a checkpoint another process signed, if the stored tree has its root.

        A :class:`StoreError` if the store lacks its entries or has another root at its size.
        """
        with self._lock:
            n, root = latest.checkpoint.size, latest.checkpoint.root
            if self.refresh() < n:
                raise StoreError(
                    f"the last checkpoint has size {n}, the log only {self._edge.size} entries "
                    "(run `cvid log verify`)"
                )
            if tree_hash(n, self.reader(n)) != root:
                raise StoreError(
                    f"the stored tree at size {n} does not have the root of the last signed "
                    "checkpoint (run `cvid log verify`)"
                )
            return latest

    # -- proofs ----------------------------------------------------------------------------

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The inclusion proof of entry ``index`` in the tree of ``size`` (default current)."""
        reader = self.reader(size)
        if not 0 <= index < reader.size:
            raise InputError(f"index {index} is not in the log (size {reader.size})")
        return inclusion_proof(index, reader.size, reader)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """The consistency proof from ``old_size`` to ``new_size`` (default current)."""
        reader = self.reader(new_size)
        if not 0 <= old_size <= reader.size:
            raise InputError(f"size {old_size} is not within the log (size {reader.size})")
        return consistency_proof(old_size, reader.size, reader)

    def receipt(self, index: int, extra: bytes | None = None) -> Receipt:
        """A ``tlog-proof`` receipt for entry ``index`` against the latest checkpoint.

        Signs a new checkpoint first if the latest does not cover the entry. The receipt is
        verified before it is returned (the stored entry, the proof read from the stored tiles,
        the checkpoint's root): damaged storage is a :class:`StoreError`, never a bad receipt.
        """
        size = self.refresh() if index >= self.size else self.size
        if not 0 <= index < size:
            raise InputError(f"index {index} is not in the log (size {size})")
        cp = self.latest_checkpoint()
        if cp is None or cp.checkpoint.size <= index:
            cp = self.checkpoint()
        n, root = cp.checkpoint.size, cp.checkpoint.root
        proof = self.inclusion_proof(index, n)
        stored = self.driver.read_entries(index, index + 1)
        try:
            if len(stored) != 1:
                raise StoreError(f"entry {index} is missing from the store")
            verify_inclusion(index, n, leaf_hash(stored[0]), proof, root)
        except Error as exc:
            raise StoreError(
                f"the receipt for entry {index} does not verify against the checkpoint of size "
                f"{n} ({exc.diagnostics()}): the stored entries or tiles are damaged; run "
                "`cvid log verify`"
            ) from None
        return Receipt(index, tuple(proof), cp.encode(), extra)

    def tile_hashes(self, tile: Tile) -> list[bytes]:
        """The hashes of ``tile`` as it stands in the current tree."""
        reader = self.reader()
        return list(reader.tile(tile.level, tile.n))[: tile.width]
