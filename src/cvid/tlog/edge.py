"""The right edge of a growing tree, organised by tiles.

A log only needs, to append, the hashes of each tile level's unfinished tile: at most 255
hashes a level. :class:`TreeEdge` keeps them, turns each completed tile into a row to store, and
computes the root. Pure: storage is the caller's business.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from cvid.errors import StoreError
from cvid.tlog.merkle import EMPTY_ROOT, fold, range_nodes, root_of
from cvid.tlog.tiles import TILE_HEIGHT, TILE_WIDTH, encode_tile_nodes, tile_levels

#: A completed full tile: ``(level, index, 256 concatenated hashes)``.
FullTile = tuple[int, int, bytes]

#: The interior nodes of a completed full tile: ``(level, index, 254 concatenated hashes)``
#: (:func:`cvid.tlog.tiles.encode_tile_nodes`).
TileNodes = tuple[int, int, bytes]


class TreeEdge:
    """The unfinished tile of each level of a tree of ``size`` leaves."""

    def __init__(self, size: int = 0, pending: Sequence[Sequence[bytes]] = ()) -> None:
        self.size = size
        self.pending: list[list[bytes]] = [list(p) for p in pending]
        for level, hashes in enumerate(self.pending):
            if len(hashes) != (size >> (TILE_HEIGHT * level)) % TILE_WIDTH:
                raise ValueError(f"edge level {level} has {len(hashes)} hashes for size {size}")
        self._root: bytes | None = None
        # Interior nodes of each level's unfinished tile, by level; computed on demand, for
        # this size only (extend rebinds it; copies share it until they are extended).
        self._nodes: dict[int, bytes] = {}
        #: The interior nodes of the full tiles the last :meth:`extend` completed.
        self.completed_nodes: list[TileNodes] = []

    @classmethod
    def load(
        cls,
        size: int,
        leaf_hashes: Callable[[int, int], Sequence[bytes]],
        full_tile: Callable[[int, int], Sequence[bytes]],
    ) -> TreeEdge:
        """Rebuild the edge of a stored tree of ``size`` leaves.

        ``leaf_hashes(start, end)`` gives the leaf hashes of unfinished level-0 tile and
        ``full_tile(level, index)`` the hashes of a stored full tile; each level costs one read.
        Storage that does not hold what a tree of ``size`` needs (entries missing from the
        unfinished tile, a stored tile without 256 hashes) is a :class:`StoreError` saying where.
        """
        pending: list[list[bytes]] = []
        level = 0
        while (count := size >> (TILE_HEIGHT * level)) > 0:
            first = count - count % TILE_WIDTH
            if level == 0:
                leaves = list(leaf_hashes(first, count))
                if len(leaves) != count - first:
                    raise StoreError(
                        f"entries {first}..{count - 1}: {len(leaves)} stored, expected "
                        f"{count - first} (the indices have a gap; run `cvid log verify`)"
                    )
                pending.append(leaves)
            else:
                above: list[bytes] = []
                for i in range(first, count):
                    hashes = full_tile(level - 1, i)
                    if len(hashes) != TILE_WIDTH:
                        raise StoreError(
                            f"stored tile ({level - 1}, {i}) has {len(hashes)} hashes, not "
                            f"{TILE_WIDTH} (run `cvid log verify`)"
                        )
                    above.append(root_of(hashes))
                pending.append(above)
            level += 1
        return cls(size, pending)

    def copy(self) -> TreeEdge:
        """An independent copy, to extend without touching this edge."""
        edge = TreeEdge(self.size, self.pending)
        edge._nodes = self._nodes
        edge._root = self._root
        return edge

    def extend(self, leaf_hashes: Iterable[bytes]) -> list[FullTile]:
        """Append leaf hashes; return the full tiles they complete, lowest level first.

        The interior nodes of those tiles are left in :attr:`completed_nodes`, in the same order.
        """
        done: list[FullTile] = []
        self.completed_nodes = []
        self._nodes = {}
        pending = self.pending
        if not pending:
            pending.append([])
        p0 = pending[0]
        for h in leaf_hashes:
            p0.append(h)
            self.size += 1
            if len(p0) == TILE_WIDTH:
                self._complete(0, done)
        self._root = None
        return done

    def _complete(self, level: int, done: list[FullTile]) -> None:
        hashes = self.pending[level]
        index = (self.size >> (TILE_HEIGHT * level)) // TILE_WIDTH - 1
        done.append((level, index, b"".join(hashes)))
        levels = tile_levels(hashes)
        self.completed_nodes.append((level, index, encode_tile_nodes(levels)))
        parent = levels[-1][0]
        hashes.clear()
        if level + 1 == len(self.pending):
            self.pending.append([])
        above = self.pending[level + 1]
        above.append(parent)
        if len(above) == TILE_WIDTH:
            self._complete(level + 1, done)

    def partial(self, level: int) -> tuple[int, list[bytes]]:
        """The index and hashes of the unfinished tile at ``level``."""
        count = self.size >> (TILE_HEIGHT * level)
        hashes = self.pending[level] if level < len(self.pending) else []
        return count // TILE_WIDTH, hashes

    def partial_nodes(self, level: int) -> bytes:
        """The interior nodes of the unfinished tile at ``level`` (computed once per size)."""
        got = self._nodes.get(level)
        if got is None:
            got = encode_tile_nodes(tile_levels(self.partial(level)[1]))
            self._nodes[level] = got
        return got

    def root(self) -> bytes:
        """The tree's root hash."""
        if self._root is None:
            peaks: list[bytes] = []
            for hashes in reversed(self.pending):
                for level, index in range_nodes(0, len(hashes)):
                    peaks.append(root_of(hashes[index << level : (index + 1) << level]))
            self._root = fold(peaks) if peaks else EMPTY_ROOT
        return self._root
