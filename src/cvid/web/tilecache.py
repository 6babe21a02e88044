"""Served tiles kept in memory: full tiles and entry bundles never change once the tree has them."""

from __future__ import annotations

import threading
from collections import OrderedDict

#: Full tiles and bundles never change: keep the most recently served in memory (at most
#: :data:`TILE_CACHE_BYTES`), so a popular tile costs a dictionary lookup, not a store read.
TILE_CACHE_BYTES = 256 * 1024 * 1024


class TileCache:
    """A byte-bounded LRU of immutable tile bodies by path (one per service)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._data: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            got = self._data.get(key)
            if got is not None:
                self._data.move_to_end(key)
            return got

    def put(self, key: str, data: bytes) -> None:
        with self._lock:
            if key in self._data or len(data) > self.limit:
                return
            self._data[key] = data
            self._bytes += len(data)
            while self._bytes > self.limit:
                _, old = self._data.popitem(last=False)
                self._bytes -= len(old)
