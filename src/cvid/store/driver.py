"""The storage interface behind a log: what a driver (SQLite, PostgreSQL, memory) provides.

A driver stores five append-only things: metadata written once at creation, entries by index,
full hash tiles (256 hashes each; partial tiles are recomputed, never stored), the interior
nodes of full tiles (so proofs read rather than hash them) and signed checkpoints by tree size.
It knows nothing of hashing or signing; :class:`cvid.store.log.Log` does that and hands the
driver finished rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

from cvid.errors import StoreError


class ConflictError(StoreError):
    """Another writer got there first: it appended entries, or stored a checkpoint as large."""

    http_status = 409


class LogDriver(Protocol):
    """Durable, append-only storage for one log.

    Every failure of the storage itself is reported as a :class:`StoreError` naming the store,
    never as the backend's own exception.
    """

    def init_meta(self, meta: Mapping[str, str]) -> None:
        """Write the log's metadata once; a :class:`StoreError` if it already exists."""
        ...

    def meta(self) -> dict[str, str]:
        """The metadata written at creation (empty if none)."""
        ...

    def size(self) -> int:
        """The number of durable entries."""
        ...

    def append(
        self,
        expected_size: int,
        entries: Sequence[bytes],
        tiles: Sequence[tuple[int, int, bytes]],
        nodes: Sequence[tuple[int, int, bytes]] = (),
    ) -> None:
        """Durably store ``entries`` from index ``expected_size`` and the new full tiles.

        ``tiles`` are ``(level, index, 256·32 bytes)`` and ``nodes`` the interior nodes of
        those tiles, ``(level, index, 254·32 bytes)``. All or nothing, with one commit (one
        fsync); raises :class:`ConflictError`, writing nothing, if the stored size differs from
        ``expected_size``.
        """
        ...

    def read_entries(self, start: int, end: int) -> list[bytes]:
        """The entries with indices in ``[start, end)``."""
        ...

    def read_tiles(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored full tiles among ``(level, index)`` keys; missing ones are left out."""
        ...

    def read_tile_nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored interior nodes among ``(level, index)`` keys; missing ones are left out.

        A log written before interior nodes were stored has none: readers hash instead.
        """
        ...

    def read_tile_with_nodes(self, level: int, index: int) -> tuple[bytes | None, bytes | None]:
        """A full tile's hashes and interior nodes in one read; None for what is not stored."""
        ...

    def iter_tiles(self) -> Iterator[tuple[int, int, bytes]]:
        """Every stored tile as ``(level, index, data)``, ordered by level then index."""
        ...

    def add_checkpoint(self, size: int, signed_note: bytes) -> None:
        """Store a signed checkpoint; a :class:`ConflictError` unless ``size`` exceeds the last."""
        ...

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        """The signed checkpoint with the largest size, as ``(size, note)``, or None."""
        ...

    def checkpoints(self) -> list[tuple[int, bytes]]:
        """Every signed checkpoint as ``(size, note)``, by increasing size."""
        ...

    def close(self) -> None:
        """Release the driver's resources."""
        ...
