"""Audit a log served as ``tlog-tiles``, trusting nothing but the log's verifier key.

The source is a directory or an ``http(s)://`` prefix, read through a
:class:`~cvid.transport.Transport` (any other, such as an in-memory one, can be given to
:class:`TileSource`). The audit verifies the checkpoint's
signature, reads every entry bundle, recomputes every leaf and every hash tile and the root, and
compares each with what is served; given an older checkpoint it also proves, with a consistency
proof built from the served tiles, that the new tree extends the old one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from cvid.errors import Error, FormatError, VerificationError
from cvid.keyfiles import read_vkey
from cvid.tlog import (
    HASH_SIZE,
    TILE_WIDTH,
    Checkpoint,
    Tile,
    TileHashReader,
    TreeEdge,
    Verifier,
    consistency_proof,
    decode_bundle,
    leaf_hash,
    open_checkpoint,
    split_hashes,
    tile_for_size,
    tree_hash,
    verify_consistency,
)
from cvid.transport import DirectoryTransport, HttpTransport, Transport, transport_for

__all__ = ["AuditReport", "TileSource", "audit", "read_vkey"]


class TileSource:
    """The files of a tiles tree at ``location``: a directory or an ``http(s)://`` prefix.

    Without ``transport`` the one :func:`~cvid.transport.transport_for` picks for
    ``location`` is made, and closed by :meth:`close`; a ``transport`` given is used as is and
    left to its owner (``location`` then only names files in messages). Usable as a context
    manager.
    """

    def __init__(self, location: str, transport: Transport | None = None) -> None:
        self.location = location
        self._http = location.startswith(("http://", "https://"))
        self._owned: DirectoryTransport | HttpTransport | None = None
        if transport is None:
            transport = self._owned = transport_for(location)
        self.transport: Transport = transport

    def name(self, rel: str) -> str:
        """How messages name the file ``rel``: its URL or its path."""
        if self._http:
            return self.location.rstrip("/") + "/" + rel
        return str(Path(self.location) / rel)

    def read(self, rel: str) -> bytes:
        """The bytes of ``rel``; :class:`~cvid.errors.InputError` naming the file if it cannot
        be had (missing, unreadable, too big, too slow)."""
        return self.transport.get(rel)

    def close(self) -> None:
        """Close the transport this source made, if any."""
        if self._owned is not None:
            self._owned.close()

    def __enter__(self) -> TileSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@dataclass
class AuditReport:
    """What an audit found: the checkpoint audited and every problem, with where it is."""

    checkpoint: Checkpoint
    entries: int = 0
    problems: list[str] = field(default_factory=list)
    consistent_with: int | None = None

    @property
    def ok(self) -> bool:
        """Whether the audit found nothing wrong."""
        return not self.problems


def audit(
    source: TileSource,
    verifier: Verifier,
    since: bytes | None = None,
    progress: Callable[[int, int], None] | None = None,
    since_name: str = "the older checkpoint",
) -> AuditReport:
    """Audit the tiles tree at ``source`` against the log key ``verifier``.

    ``since`` is an older signed checkpoint to prove consistency with (``since_name`` names it
    in errors). Raises :class:`VerificationError` if the checkpoint itself does not verify; other
    findings are in the report's ``problems``. Memory stays small whatever the log's size: only
    the few served tiles the consistency proof needs are kept.
    """
    old: Checkpoint | None = None
    if since is not None:
        try:
            old = open_checkpoint(since, verifier).checkpoint
        except Error as exc:
            exc.args = (f"{since_name}: {exc.diagnostics()}",)
            raise
    data = source.read("checkpoint")  # a read error names the file itself
    try:
        cp = open_checkpoint(data, verifier).checkpoint
    except Error as exc:
        exc.args = (f"{source.name('checkpoint')}: {exc.diagnostics()}",)
        raise
    report = AuditReport(cp)
    edge = TreeEdge()
    size = cp.size
    # The served tiles the consistency proof will read, kept as they are served; no others.
    needed = _tiles_needed(old.size, size) if old is not None and old.size <= size else set()
    served: dict[Tile, bytes] = {}
    # A difference in a tile makes every tile above it differ too: report only the lowest.
    tainted: set[tuple[int, int]] = set()

    def check_tile(tile: Tile, rebuilt: list[bytes]) -> None:
        try:
            raw = source.read(tile.path())
            got = split_hashes(raw, tile)
        except Error as exc:
            report.problems.append(f"{tile.path()}: {exc.diagnostics()}")
            tainted.add((tile.level, tile.n))
            return
        if tile in needed:
            served[tile] = raw
        if got == rebuilt:
            return
        tainted.add((tile.level, tile.n))
        first_child = tile.n * TILE_WIDTH
        if tile.level and any(
            (tile.level - 1, c) in tainted for c in range(first_child, first_child + tile.width)
        ):
            return
        k = next(i for i, (a, b) in enumerate(zip(got, rebuilt, strict=True)) if a != b)
        if tile.level == 0:
            bundle = Tile(0, tile.n, tile.width).entries_path()
            report.problems.append(
                f"{bundle}: entry {k} (log index {first_child + k}) does not hash to hash {k} "
                f"of {tile.path()}: one of the two files was altered"
            )
        else:
            report.problems.append(
                f"{tile.path()}: hash {k} differs from the hash of the tiles below it"
            )

    bundles = (size + TILE_WIDTH - 1) // TILE_WIDTH
    for n in range(bundles):
        tile = tile_for_size(0, n, size)
        try:
            entries = decode_bundle(source.read(tile.entries_path()), tile.entries_path())
        except Error as exc:
            report.problems.append(exc.diagnostics())
            return report
        if len(entries) != tile.width:
            report.problems.append(
                f"{tile.entries_path()}: {len(entries)} entries, expected {tile.width}"
            )
            return report
        for level, index, data in edge.extend([leaf_hash(e) for e in entries]):
            t = Tile(level, index, TILE_WIDTH)
            check_tile(t, split_hashes(data, t))
        report.entries += len(entries)
        if progress is not None:
            progress(n + 1, bundles)
    for level in range(len(edge.pending)):
        index, hashes = edge.partial(level)
        if hashes:
            check_tile(Tile(level, index, len(hashes)), list(hashes))
    if edge.root() != cp.root:
        report.problems.append(
            f"the root recomputed from the {size} entries differs from the checkpoint's root"
        )
    if old is not None and not report.problems:
        _check_consistency(report, old, served)
    return report


def _tiles_needed(old_size: int, new_size: int) -> set[Tile]:
    """The tiles of the tree of ``new_size`` that the consistency check from ``old_size`` reads."""
    needed: set[Tile] = set()

    def record(tile: Tile) -> list[bytes]:
        needed.add(tile)
        return [bytes(HASH_SIZE)] * tile.width

    reader = TileHashReader(new_size, record)
    tree_hash(old_size, reader)
    consistency_proof(old_size, new_size, reader)
    return needed


def _check_consistency(report: AuditReport, old: Checkpoint, served: dict[Tile, bytes]) -> None:
    new = report.checkpoint
    if old.size > new.size:
        report.problems.append(
            f"the older checkpoint (size {old.size}) is larger than the served one ({new.size})"
        )
        return

    def fetch(tile: Tile) -> list[bytes]:
        have = served.get(tile)
        if have is None:
            raise FormatError(f"{tile.path()} was not served")
        return split_hashes(have, tile)

    reader = TileHashReader(new.size, fetch)
    try:
        if old.size == 0:
            report.consistent_with = 0
            return
        if tree_hash(old.size, reader) != old.root:
            raise VerificationError(
                f"the served tree's first {old.size} entries do not have the older root"
            )
        proof = consistency_proof(old.size, new.size, reader)
        verify_consistency(old.size, new.size, old.root, new.root, proof)
    except Error as exc:
        report.problems.append(f"consistency with the checkpoint of size {old.size}: {exc}")
        return
    report.consistent_with = old.size
