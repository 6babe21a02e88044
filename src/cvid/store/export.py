"""Export a log as a static ``tlog-tiles`` tree that any web server or object store can serve.

Writes ``checkpoint``, every hash tile ``tile/<L>/<N>[.p/<W>]`` and every entry bundle
``tile/entries/<N>[.p/<W>]`` of the latest checkpoint's tree. Files that already exist are
immutable by the layout's design and are kept, so exporting again after more appends writes only
what is new; the checkpoint is written last, so a reader never sees a checkpoint whose tiles are
missing. Each file is written to a temporary name and renamed into place.

Kept files are trusted only as far as they are vouched for: an existing ``OUT/checkpoint`` must
be signed by this log's key, for its origin, no larger than the log and with this log's root at
its size, or the export is refused (another log's export, or a fork, is never mixed in). Files of
that checkpoint's tree are then kept after a size check; any other existing file (left by an
interrupted export, or by nobody knows what) is kept only if it is byte for byte what this
export would write.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from cvid.errors import Error, InputError
from cvid.store.log import Log
from cvid.tlog import (
    HASH_SIZE,
    TILE_HEIGHT,
    TILE_WIDTH,
    Checkpoint,
    SignedCheckpoint,
    Tile,
    encode_bundle,
    open_checkpoint,
    tiles_for_size,
    tree_hash,
)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` durably: a temporary file beside it, fsynced, renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _refuse(out: Path, path: Path, why: str) -> InputError:
    return InputError(
        f"{path}: {why}; refusing to export into {out}, whose checkpoint is left as it was "
        "(export into a new or empty directory)"
    )


def _existing_checkpoint(log: Log, out: Path) -> Checkpoint | None:
    """The checkpoint already in ``out``, verified as this log's; None if there is none."""
    path = out / "checkpoint"
    if not path.exists():
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read it: {exc.strerror}") from None
    try:
        return open_checkpoint(data, log.verifier).checkpoint
    except Error as exc:
        raise _refuse(out, path, f"not a checkpoint of this log ({exc.diagnostics()})") from None


def _in_tree(tile: Tile, size: int) -> bool:
    """Whether ``tile`` (with its width) is a tile of the tree of ``size`` leaves."""
    count = size >> (TILE_HEIGHT * tile.level)
    return min(TILE_WIDTH, count - tile.n * TILE_WIDTH) == tile.width


def export_tiles(
    log: Log,
    out: Path,
    progress: Callable[[int, int], None] | None = None,
    note: Callable[[SignedCheckpoint], bytes] | None = None,
) -> dict[str, int]:
    """Export ``log`` into ``out``; return counts of files written and kept, and the size.

    ``note`` gives the bytes of ``OUT/checkpoint`` for the signed checkpoint (default: its note
    as stored; :mod:`cvid.witness.publish` adds the witnesses' cosignatures).

    Signs a new checkpoint first if the latest does not cover every entry. Raises
    :class:`InputError`, leaving ``out``'s checkpoint as it was, if ``out`` holds an export this
    one cannot extend or a file that differs from what this export would write there.
    """
    old = _existing_checkpoint(log, out)
    signed = log.checkpoint()
    size = signed.checkpoint.size
    reader = log.reader(size)
    if old is not None:
        if old.size > size:
            raise _refuse(
                out,
                out / "checkpoint",
                f"it is of size {old.size}, larger than this log's checkpoint of size {size}",
            )
        if tree_hash(old.size, reader) != old.root:
            raise _refuse(
                out,
                out / "checkpoint",
                f"its root differs from this log's root at size {old.size} (a fork of this log)",
            )
    vouched = 0 if old is None else old.size
    written = kept = 0
    tiles = tiles_for_size(size)
    for n, tile in enumerate(tiles, 1):
        paths = [tile.path()] + ([tile.entries_path()] if tile.level == 0 else [])
        for rel in paths:
            target = out / rel
            bundle = rel.startswith("tile/entries/")

            def data(tile: Tile = tile, bundle: bool = bundle) -> bytes:
                if bundle:
                    start = tile.n * TILE_WIDTH
                    return encode_bundle(log.read_entries(start, start + tile.width))
                return b"".join(reader.tile(tile.level, tile.n)[: tile.width])

            if target.exists():
                if _in_tree(tile, vouched):
                    # Part of the tree the existing checkpoint vouches for: a cheap size check.
                    if not bundle and target.stat().st_size != tile.width * HASH_SIZE:
                        raise _refuse(
                            out,
                            target,
                            f"{target.stat().st_size} bytes, not {tile.width * HASH_SIZE}",
                        )
                elif target.read_bytes() != data():
                    raise _refuse(out, target, "it differs from what this log would write there")
                kept += 1
                continue
            write_atomic(target, data())
            written += 1
        if progress is not None:
            progress(n, len(tiles))
    write_atomic(out / "checkpoint", signed.encode() if note is None else note(signed))
    return {"size": size, "written": written + 1, "kept": kept}
