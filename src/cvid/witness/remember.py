"""What a verifier remembers, and split views it can prove.

A verifier keeps the latest checkpoint it accepted of each log (like Go's checksum-database
client cache) and refuses one that is older or inconsistent with it. It keeps them in its state
directory: ``$XDG_STATE_HOME/cvid/`` (``~/.local/state/cvid/`` when that is unset), or the
``--state-dir`` given; ``checkpoints/<hex SHA-256 of the log's vkey>`` holds the note. The file is
named by the log's key, not only its origin: a new log under an old origin is another log.

Consistency between two checkpoints is proven from a served ``tlog-tiles`` tree
(:func:`check_consistency`); two checkpoints of one size with different roots need no tiles.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cvid.audit import TileSource
from cvid.errors import Error, InputError, VerificationError
from cvid.tlog import (
    Checkpoint,
    Tile,
    TileHashReader,
    Verifier,
    b64,
    consistency_proof,
    open_checkpoint,
    split_hashes,
    tree_hash,
    verify_consistency,
)

__all__ = [
    "CheckpointMemory",
    "SplitView",
    "TilesMismatch",
    "check_consistency",
    "compare",
    "default_state_dir",
]


class TilesMismatch(VerificationError):
    """The served tiles are not the tree of the checkpoint they are checked against."""


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/cvid``, or ``~/.local/state/cvid`` when it is unset or not absolute."""
    xdg = os.environ.get("XDG_STATE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "state"
    return base / "cvid"


class CheckpointMemory:
    """The latest accepted checkpoint per log, in ``directory/checkpoints/``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, verifier: Verifier) -> Path:
        """Where the checkpoint of the log keyed ``verifier`` is kept."""
        digest = hashlib.sha256(verifier.vkey.encode()).hexdigest()
        return self.directory / "checkpoints" / digest

    def recall(self, verifier: Verifier) -> tuple[Checkpoint, bytes] | None:
        """The checkpoint remembered for this log and its note, verified again; None if none.

        A remembered file that no longer verifies is an :class:`InputError` naming it (someone
        changed the verifier's own state: it is not silently forgotten).
        """
        path = self.path(verifier)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise InputError(
                f"{path}: cannot read the remembered checkpoint: {exc.strerror}"
            ) from None
        try:
            return open_checkpoint(data, verifier).checkpoint, data
        except Error as exc:
            raise InputError(
                f"{path}: the remembered checkpoint does not verify ({exc.diagnostics()}); "
                "remove it to start afresh"
            ) from None

    def remember(self, verifier: Verifier, note: bytes) -> None:
        """Keep ``note`` (already verified by the caller) as the latest of this log."""
        path = self.path(verifier)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        with open(tmp, "wb") as f:
            f.write(note)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)


def check_consistency(source: TileSource, old: Checkpoint, new: Checkpoint) -> None:
    """Prove from the tiles at ``source`` that ``new`` extends ``old`` (``old.size <= new.size``).

    Raises :class:`VerificationError` if it does not: a proven fork when the tiles hash to
    ``new``'s root but not to ``old``'s at its size; :class:`TilesMismatch` (proving nothing of
    the two checkpoints) when the tiles do not hash to ``new``'s root.
    :class:`InputError` if a tile cannot be read.
    """
    if old.size > new.size:
        raise VerificationError(f"size {old.size} is larger than size {new.size}")
    if old.size == new.size:
        if old.root != new.root:
            raise VerificationError(f"two roots for size {new.size}")
        return
    if old.size == 0:
        return

    def fetch(tile: Tile) -> list[bytes]:
        return split_hashes(source.read(tile.path()), tile)

    reader = TileHashReader(new.size, fetch)
    proof = consistency_proof(old.size, new.size, reader)
    try:
        verify_consistency(old.size, new.size, old.root, new.root, proof)
        return
    except VerificationError:
        pass
    if tree_hash(new.size, reader) != new.root:
        raise TilesMismatch(
            f"the served tiles do not hash to the root of the checkpoint of size {new.size}"
        )
    raise VerificationError(
        f"the tree of size {new.size} does not extend the checkpoint of size {old.size}: at "
        f"size {old.size} it has the root {b64(tree_hash(old.size, reader))}, not "
        f"{b64(old.root)}"
    )


@dataclass(frozen=True)
class SplitView:
    """Two checkpoints of one log that cannot both be true: the proof of a split view."""

    first: bytes
    second: bytes
    reason: str


def compare(
    a: bytes, b: bytes, verifier: Verifier, source: TileSource | None = None
) -> SplitView | None:
    """Whether two signed checkpoints of the log ``verifier`` are inconsistent.

    Both must verify (:class:`VerificationError` otherwise). Same size, other root: a split
    view. Different sizes: the tiles at ``source`` prove consistency or a fork; without a
    source that cannot be decided (:class:`InputError`). None when they are consistent.
    """
    ca = open_checkpoint(a, verifier).checkpoint
    cb = open_checkpoint(b, verifier).checkpoint
    old, new = (ca, cb) if ca.size <= cb.size else (cb, ca)
    if old.size == new.size:
        if old.root == new.root:
            return None
        return SplitView(a, b, f"both are signed by the log for size {old.size} with other roots")
    if source is None:
        raise InputError(
            f"checkpoints of sizes {old.size} and {new.size}: give the log's tiles to prove "
            "whether one extends the other"
        )
    try:
        check_consistency(source, old, new)
    except TilesMismatch:
        raise
    except VerificationError as exc:
        return SplitView(a, b, exc.diagnostics())
    return None
