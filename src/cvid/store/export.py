"""Export a log as a static ``tlog-tiles`` tree that any web server or object store can serve.

Writes ``checkpoint``, every hash tile ``tile/<L>/<N>[.p/<W>]`` and every entry bundle
``tile/entries/<N>[.p/<W>]`` of the latest checkpoint's tree. Files that already exist are
immutable by the layout's design and are kept, so exporting again after more appends writes only
what is new; the checkpoint is written last, so a reader never sees a checkpoint whose tiles are
missing. Each file is written to a temporary name and renamed into place.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from cvid.store.log import Log
from cvid.tlog.tiles import TILE_WIDTH, encode_bundle, tiles_for_size


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def export_tiles(
    log: Log, out: Path, progress: Callable[[int, int], None] | None = None
) -> dict[str, int]:
    """Export ``log`` into ``out``; return counts of files written and kept, and the size."""
    signed = log.checkpoint()
    size = signed.checkpoint.size
    reader = log.reader(size)
    written = kept = 0
    tiles = tiles_for_size(size)
    for n, tile in enumerate(tiles, 1):
        paths = [tile.path()] + ([tile.entries_path()] if tile.level == 0 else [])
        for rel in paths:
            target = out / rel
            if target.exists():
                kept += 1
                continue
            if rel.startswith("tile/entries/"):
                start = tile.n * TILE_WIDTH
                data = encode_bundle(log.read_entries(start, start + tile.width))
            else:
                data = b"".join(reader.tile(tile.level, tile.n)[: tile.width])
            _write_atomic(target, data)
            written += 1
        if progress is not None:
            progress(n, len(tiles))
    _write_atomic(out / "checkpoint", signed.encode())
    return {"size": size, "written": written + 1, "kept": kept}
