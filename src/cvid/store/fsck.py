"""Full verification of a stored log: every hash recomputed from the stored entries.

Checks that each stored tile equals the tile rebuilt from the entries, that no tile is missing
or stored beyond the tree, and that every stored checkpoint is signed by the log's key and has
the root recomputed at its size. Reports every problem with where it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from cvid.errors import Error
from cvid.store.log import Log
from cvid.tlog.checkpoint import open_checkpoint
from cvid.tlog.edge import FullTile, TreeEdge
from cvid.tlog.merkle import HASH_SIZE, leaf_hash

Progress = Callable[[int], None]


def _first_difference(a: bytes, b: bytes) -> int:
    for i in range(0, min(len(a), len(b)), HASH_SIZE):
        if a[i : i + HASH_SIZE] != b[i : i + HASH_SIZE]:
            return i // HASH_SIZE
    return min(len(a), len(b)) // HASH_SIZE


def _tile_problem(level: int, index: int, stored: bytes | None, rebuilt: bytes) -> str | None:
    if stored is None:
        return f"tile ({level}, {index}) is missing from the store"
    if stored != rebuilt:
        k = _first_difference(stored, rebuilt)
        where = f"entry {index * 256 + k}" if level == 0 else f"hash {k} of the tile"
        return (
            f"tile ({level}, {index}) differs from the hashes recomputed from the entries "
            f"(first at {where})"
        )
    return None


def verify_log(log: Log, chunk: int = 65536, progress: Progress | None = None) -> list[str]:
    """Recompute every hash of ``log`` from its entries; return the problems found (empty: intact).

    ``progress`` is called with the number of entries checked after each chunk.
    """
    problems: list[str] = []
    size = log.driver.size()
    checkpoints = log.driver.checkpoints()
    stops = sorted({cp_size for cp_size, _ in checkpoints if 0 < cp_size <= size} | {size})
    roots: dict[int, bytes] = {0: TreeEdge().root()}
    stored = _StoredTiles(log.driver.iter_tiles())
    edge = TreeEdge()
    pos = 0
    for stop in stops:
        while pos < stop:
            end = min(stop, pos + chunk)
            entries = log.driver.read_entries(pos, end)
            if len(entries) != end - pos:
                problems.append(f"entries {pos}..{end - 1}: {len(entries)} found, gaps in indices")
                return problems
            for tile in edge.extend([leaf_hash(e) for e in entries]):
                if (p := stored.check(tile)) is not None:
                    problems.append(p)
            pos = end
            if progress is not None:
                progress(pos)
        roots[stop] = edge.root()
    problems.extend(stored.leftovers())
    for cp_size, note_bytes in checkpoints:
        try:
            cp = open_checkpoint(note_bytes, log.verifier).checkpoint
        except Error as exc:
            problems.append(f"checkpoint of size {cp_size}: {exc.diagnostics()}")
            continue
        if cp.size != cp_size:
            problems.append(f"checkpoint stored as size {cp_size} says size {cp.size}")
        elif cp_size > size:
            problems.append(f"checkpoint of size {cp_size} covers entries the log does not have")
        elif roots.get(cp_size) != cp.root:
            problems.append(
                f"checkpoint of size {cp_size} has a root that differs from the root recomputed "
                "from the entries"
            )
    return problems


class _StoredTiles:
    """Walks the stored tiles in (level, index) order alongside the rebuilt ones."""

    def __init__(self, tiles: Iterator[tuple[int, int, bytes]]) -> None:
        self._by_key: dict[tuple[int, int], bytes] = {}
        self._iter = tiles

    def check(self, tile: FullTile) -> str | None:
        level, index, rebuilt = tile
        key = (level, index)
        # Stored tiles come sorted by level, rebuilt ones interleave levels: buffer what we pass.
        while key not in self._by_key:
            nxt = next(self._iter, None)
            if nxt is None:
                break
            self._by_key[(nxt[0], nxt[1])] = nxt[2]
        return _tile_problem(level, index, self._by_key.pop(key, None), rebuilt)

    def leftovers(self) -> list[str]:
        rest = list(self._by_key) + [(lv, ix) for lv, ix, _ in self._iter]
        return [f"tile ({lv}, {ix}) is stored but lies beyond the tree" for lv, ix in sorted(rest)]
