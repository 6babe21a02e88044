"""An in-memory driver with the same contract as the SQLite one, for tests and dry runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence

from cvid.errors import StoreError
from cvid.store.driver import ConflictError


class MemoryDriver:
    """A :class:`cvid.store.driver.LogDriver` that keeps everything in memory (not durable)."""

    def __init__(self) -> None:
        self._meta: dict[str, str] = {}
        self._entries: list[bytes] = []
        self._tiles: dict[tuple[int, int], bytes] = {}
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._checkpoints: dict[int, bytes] = {}
        self._lock = threading.Lock()

    def init_meta(self, meta: Mapping[str, str]) -> None:
        """Write the metadata once."""
        with self._lock:
            if self._meta:
                raise StoreError("a log already exists here")
            self._meta = dict(meta)

    def meta(self) -> dict[str, str]:
        """The metadata."""
        return dict(self._meta)

    def size(self) -> int:
        """The number of entries."""
        return len(self._entries)

    def append(
        self,
        expected_size: int,
        entries: Sequence[bytes],
        tiles: Sequence[tuple[int, int, bytes]],
        nodes: Sequence[tuple[int, int, bytes]] = (),
    ) -> None:
        """Store entries, tiles and their interior nodes, all or nothing."""
        with self._lock:
            if len(self._entries) != expected_size:
                raise ConflictError(
                    f"log has {len(self._entries)} entries, writer expected {expected_size}"
                )
            for level, index, _ in tiles:
                if (level, index) in self._tiles:
                    raise StoreError(f"tile ({level}, {index}) already stored")
            for level, index, _ in nodes:
                if (level, index) in self._nodes:
                    raise StoreError(f"interior nodes of tile ({level}, {index}) already stored")
            self._entries.extend(bytes(e) for e in entries)
            self._tiles.update({(lv, ix): bytes(d) for lv, ix, d in tiles})
            self._nodes.update({(lv, ix): bytes(d) for lv, ix, d in nodes})

    def read_entries(self, start: int, end: int) -> list[bytes]:
        """The entries in ``[start, end)``."""
        return self._entries[start:end]

    def read_tiles(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored tiles among ``keys``."""
        return {k: self._tiles[k] for k in keys if k in self._tiles}

    def read_tile_nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored interior nodes among ``keys``."""
        return {k: self._nodes[k] for k in keys if k in self._nodes}

    def read_tile_with_nodes(self, level: int, index: int) -> tuple[bytes | None, bytes | None]:
        """A tile's hashes and interior nodes."""
        return self._tiles.get((level, index)), self._nodes.get((level, index))

    def iter_tiles(self) -> Iterator[tuple[int, int, bytes]]:
        """Every tile, by level then index."""
        for (level, index), data in sorted(self._tiles.items()):
            yield level, index, data

    def add_checkpoint(self, size: int, signed_note: bytes) -> None:
        """Store a checkpoint larger than the last."""
        with self._lock:
            last = max(self._checkpoints, default=None)
            if last is not None and size <= last:
                raise ConflictError(f"checkpoint of size {size} does not extend size {last}")
            self._checkpoints[size] = signed_note

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        """The largest checkpoint."""
        if not self._checkpoints:
            return None
        size = max(self._checkpoints)
        return size, self._checkpoints[size]

    def checkpoints(self) -> list[tuple[int, bytes]]:
        """Every checkpoint, by size."""
        return sorted(self._checkpoints.items())

    def close(self) -> None:
        """Nothing to release."""
