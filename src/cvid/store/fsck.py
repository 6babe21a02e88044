"""Full verification of a stored log: every hash recomputed from the stored entries.

Checks that each stored tile equals the tile rebuilt from the entries, that no tile is missing
or stored beyond the tree, that each tile's stored interior nodes equal those rebuilt (a log
written before they were stored has none, which is fine), that the entries' indices have no
gap, and that every stored checkpoint is signed by the log's key and has the root recomputed at
its size. Reports every problem with where it is.

It works on the driver and the log's key alone (:func:`verify_store`): it needs neither the
private key nor a tree edge rebuilt from storage, so damage that stops a log from opening (a
missing or truncated tile at the edge, a gap) is reported as a finding like any other. Memory
stays bounded: entries are read in chunks and the stored tiles are looked up by key per chunk.
"""

from __future__ import annotations

from collections.abc import Callable

from cvid.errors import Error
from cvid.store.driver import LogDriver
from cvid.store.log import Log
from cvid.store.sqlbase import SqlDriver
from cvid.tlog import (
    HASH_SIZE,
    TILE_HEIGHT,
    TILE_WIDTH,
    TreeEdge,
    Verifier,
    leaf_hash,
    open_checkpoint,
)

Progress = Callable[[int], None]


def _first_difference(a: bytes, b: bytes) -> int:
    for i in range(0, min(len(a), len(b)), HASH_SIZE):
        if a[i : i + HASH_SIZE] != b[i : i + HASH_SIZE]:
            return i // HASH_SIZE
    return min(len(a), len(b)) // HASH_SIZE


def _tile_problem(level: int, index: int, stored: bytes | None, rebuilt: bytes) -> str | None:
    if stored is None:
        return f"tile ({level}, {index}) is missing from the store"
    if len(stored) != len(rebuilt):
        return (
            f"tile ({level}, {index}) is {len(stored)} bytes, not {len(rebuilt)} "
            f"({len(rebuilt) // HASH_SIZE} hashes): it was truncated or padded"
        )
    if stored != rebuilt:
        k = _first_difference(stored, rebuilt)
        where = f"entry {index * 256 + k}" if level == 0 else f"hash {k} of the tile"
        return (
            f"tile ({level}, {index}) differs from the hashes recomputed from the entries "
            f"(first at {where})"
        )
    return None


def _nodes_problem(level: int, index: int, stored: bytes, rebuilt: bytes) -> str | None:
    if len(stored) != len(rebuilt):
        return (
            f"interior nodes of tile ({level}, {index}) are {len(stored)} bytes, not "
            f"{len(rebuilt)}: they were truncated or padded"
        )
    if stored != rebuilt:
        k = _first_difference(stored, rebuilt)
        sub, width = 1, TILE_WIDTH >> 1
        while k >= width:
            k, sub, width = k - width, sub + 1, width >> 1
        return (
            f"interior nodes of tile ({level}, {index}) differ from those recomputed from the "
            f"entries (first at node {k} of level {sub} within the tile, tree level "
            f"{TILE_HEIGHT * level + sub})"
        )
    return None


def _first_missing(driver: LogDriver, start: int, end: int) -> int:
    """The first index in ``[start, end)`` with no stored entry (some index there has none)."""
    lo, hi = start, end
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if len(driver.read_entries(lo, mid)) < mid - lo:
            hi = mid
        else:
            lo = mid
    return lo


def _in_tree(level: int, index: int, size: int) -> bool:
    """Whether full tile ``(level, index)`` lies within a tree of ``size`` leaves."""
    return (index + 1) * TILE_WIDTH <= size >> (TILE_HEIGHT * level)


def verify_log(log: Log, chunk: int = 65536, progress: Progress | None = None) -> list[str]:
    """Recompute every hash of ``log`` from its entries; return the problems found (empty: intact).

    ``progress`` is called with the number of entries checked after each chunk.
    """
    return verify_store(log.driver, log.verifier, chunk, progress)


def verify_store(
    driver: LogDriver, verifier: Verifier, chunk: int = 65536, progress: Progress | None = None
) -> list[str]:
    """:func:`verify_log` on a driver and the log's key, without opening a :class:`Log`."""
    # A dropped or altered append-only trigger is a finding: a check reports, never repairs.
    problems = driver.schema_problems() if isinstance(driver, SqlDriver) else []
    size = driver.size()
    checkpoints = driver.checkpoints()
    stops = sorted({cp_size for cp_size, _ in checkpoints if 0 < cp_size <= size} | {size})
    roots: dict[int, bytes] = {0: TreeEdge().root()}
    edge = TreeEdge()
    pos = 0
    for stop in stops:
        while pos < stop:
            end = min(stop, pos + chunk)
            entries = driver.read_entries(pos, end)
            if len(entries) != end - pos:
                missing = _first_missing(driver, pos, end)
                problems.append(
                    f"entry {missing} is missing: the entries' indices have a gap (the log's "
                    f"size, one past the largest index, is {size}); nothing after it was checked"
                )
                return problems
            built = edge.extend([leaf_hash(e) for e in entries])
            keys = [(level, index) for level, index, _ in built]
            stored = driver.read_tiles(keys)
            for level, index, rebuilt in built:
                if (
                    p := _tile_problem(level, index, stored.get((level, index)), rebuilt)
                ) is not None:
                    problems.append(p)
            stored_nodes = driver.read_tile_nodes(keys)
            for level, index, rebuilt in edge.completed_nodes:
                got = stored_nodes.get((level, index))
                if got is not None and (p := _nodes_problem(level, index, got, rebuilt)):
                    problems.append(p)
            pos = end
            if progress is not None:
                progress(pos)
        roots[stop] = edge.root()
    problems.extend(
        f"tile ({level}, {index}) is stored but lies beyond the tree"
        for level, index, _ in driver.iter_tiles()
        if not _in_tree(level, index, size)
    )
    for cp_size, note_bytes in checkpoints:
        try:
            cp = open_checkpoint(note_bytes, verifier).checkpoint
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
