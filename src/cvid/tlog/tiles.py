"""C2SP ``tlog-tiles``: the layout of a log served as static files.

This module is the one definition of the public layout: tile coordinates and paths, which
tiles make up a tree of a given size, entry bundles, and a :class:`HashReader` that computes
any complete subtree hash from tiles.

A tile at level ``L`` and index ``N`` holds up to 256 consecutive hashes of tree level ``8·L``,
starting at hash ``256·N``; a partial tile of width ``W < 256`` is served at ``.p/<W>``. Entry
bundles hold the entries of a level-0 tile, each prefixed by its length as a big-endian uint16,
so an entry is at most 65,535 bytes.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple, overload

from cvid.errors import FormatError, VerificationError
from cvid.tlog.merkle import HASH_SIZE, HashReader, Node, node_hash, root_of

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_ENTRY_SIZE = 0xFFFF
MAX_LEVEL = 63


class Tile(NamedTuple):
    """Tile coordinates: ``level``, index ``n`` at that level and ``width`` (1–256 hashes)."""

    level: int
    n: int
    width: int

    @property
    def is_partial(self) -> bool:
        """Whether the tile holds fewer than 256 hashes."""
        return self.width < TILE_WIDTH

    def path(self) -> str:
        """The hash tile's path, ``tile/<L>/<N>[.p/<W>]``."""
        return f"tile/{self.level}/{_encode_index(self.n)}{self._suffix()}"

    def entries_path(self) -> str:
        """The entry bundle's path, ``tile/entries/<N>[.p/<W>]`` (level-0 tiles only)."""
        if self.level != 0:
            raise ValueError("only level-0 tiles have entry bundles")
        return f"tile/entries/{_encode_index(self.n)}{self._suffix()}"

    def _suffix(self) -> str:
        return f".p/{self.width}" if self.is_partial else ""


def _encode_index(n: int) -> str:
    digits = f"{n:03d}"
    pad = (-len(digits)) % 3
    digits = "0" * pad + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


_PATH_RE = re.compile(r"^tile/(entries|\d+)/((?:x\d{3}/)*\d{3})(?:\.p/(\d+))?$")


def parse_path(path: str) -> tuple[bool, Tile]:
    """Parse a tile or bundle path into ``(is_entries, tile)``; :class:`FormatError` if not."""
    m = _PATH_RE.match(path)
    if not m:
        raise FormatError(f"{path!r} is not a tlog-tiles path")
    kind, idx, width = m.groups()
    index = int(idx.replace("x", "").replace("/", ""))
    w = int(width) if width else TILE_WIDTH
    level = 0 if kind == "entries" else int(kind)
    tile = Tile(level, index, w)
    if not 1 <= w <= TILE_WIDTH or level > MAX_LEVEL:
        raise FormatError(f"{path!r}: level must be 0-{MAX_LEVEL} and width 1-255")
    canonical = tile.entries_path() if kind == "entries" else tile.path()
    if canonical != path:
        raise FormatError(f"{path!r} is not canonical (expected {canonical!r})")
    return kind == "entries", tile


def tile_for_size(level: int, index: int, size: int) -> Tile:
    """Return the tile ``(level, index)`` as it stands in the tree of ``size`` leaves."""
    count = size >> (TILE_HEIGHT * level)
    width = min(TILE_WIDTH, count - index * TILE_WIDTH)
    if width <= 0:
        raise ValueError(f"tile ({level}, {index}) is empty at tree size {size}")
    return Tile(level, index, width)


def tiles_for_size(size: int) -> list[Tile]:
    """Every tile of the tree of ``size`` leaves, level by level, left to right."""
    out: list[Tile] = []
    level = 0
    while (count := size >> (TILE_HEIGHT * level)) > 0:
        full, rest = divmod(count, TILE_WIDTH)
        out.extend(Tile(level, i, TILE_WIDTH) for i in range(full))
        if rest:
            out.append(Tile(level, full, rest))
        level += 1
    return out


def new_tiles(old_size: int, new_size: int) -> list[Tile]:
    """The tiles of ``new_size`` that are not in the tree of ``old_size`` (new or grown)."""
    old = set(tiles_for_size(old_size))
    return [t for t in tiles_for_size(new_size) if t not in old]


def encode_bundle(entries: Iterable[bytes]) -> bytes:
    """Encode entries as an entry bundle (uint16 big-endian length, then the bytes)."""
    parts: list[bytes] = []
    for e in entries:
        if len(e) > MAX_ENTRY_SIZE:
            raise ValueError(f"entry of {len(e)} bytes exceeds {MAX_ENTRY_SIZE}")
        parts.append(struct.pack(">H", len(e)))
        parts.append(e)
    return b"".join(parts)


def decode_bundle(data: bytes, where: str = "entry bundle") -> list[bytes]:
    """Decode an entry bundle; :class:`FormatError` naming ``where`` if it is truncated."""
    out: list[bytes] = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise FormatError(f"{where}: truncated length at byte {pos}")
        (n,) = struct.unpack_from(">H", data, pos)
        pos += 2
        if pos + n > len(data):
            raise FormatError(f"{where}: entry {len(out)} runs past the end")
        out.append(data[pos : pos + n])
        pos += n
    return out


def split_hashes(data: bytes, tile: Tile) -> list[bytes]:
    """Split tile data into hashes; :class:`FormatError` if its length is not ``width·32``."""
    if len(data) != tile.width * HASH_SIZE:
        raise FormatError(f"{tile.path()}: {len(data)} bytes, expected {tile.width * HASH_SIZE}")
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def tile_root(hashes: Sequence[bytes]) -> bytes:
    """The hash one tile level up of a full tile's 256 hashes."""
    if len(hashes) != TILE_WIDTH:
        raise ValueError("only a full tile has a parent hash")
    return root_of(hashes)


def tile_levels(hashes: Sequence[bytes]) -> list[list[bytes]]:
    """The complete nodes above a tile's hashes, within the tile, level by level.

    ``levels[s - 1]`` holds the ``len(hashes) >> s`` complete nodes ``s`` levels above the
    tile's hashes; a full tile gets 8 levels (128, 64, …, 2 hashes, then its one parent hash).
    """
    out: list[list[bytes]] = []
    level = list(hashes)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        out.append(level)
    return out


def encode_tile_nodes(levels: Sequence[Sequence[bytes]]) -> bytes:
    """The interior nodes of a tile (:func:`tile_levels` below the tile's parent), concatenated.

    Levels 1 to 7 within the tile: 128 + 64 + … + 2 = 254 hashes for a full tile.
    """
    return b"".join(b"".join(level) for level in levels[: TILE_HEIGHT - 1])


def tile_nodes_size(width: int) -> int:
    """The length in bytes of :func:`encode_tile_nodes` for a tile of ``width`` hashes."""
    return HASH_SIZE * sum(width >> s for s in range(1, TILE_HEIGHT))


_FULL_OFFSETS = tuple(sum(TILE_WIDTH >> s for s in range(1, sub)) for sub in range(TILE_HEIGHT))


def _nodes_offset(width: int, sub: int, j: int) -> int:
    """Where node ``j`` of level ``sub`` (1–7) lies in :func:`encode_tile_nodes` output."""
    if width == TILE_WIDTH:
        return HASH_SIZE * (_FULL_OFFSETS[sub] + j)
    return HASH_SIZE * (sum(width >> s for s in range(1, sub)) + j)


class HashView(Sequence[bytes]):
    """The hashes of tile data, read in place (no copy of the hashes not asked for)."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes) -> None:
        if len(data) % HASH_SIZE:
            raise ValueError(f"{len(data)} bytes is not a whole number of hashes")
        self._data = data

    def __len__(self) -> int:
        return len(self._data) // HASH_SIZE

    @overload
    def __getitem__(self, i: int) -> bytes: ...

    @overload
    def __getitem__(self, i: slice) -> list[bytes]: ...

    def __getitem__(self, i: int | slice) -> bytes | list[bytes]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("hash index out of range")
        return self._data[i * HASH_SIZE : (i + 1) * HASH_SIZE]


#: Reads the hashes of a tile, given its coordinates (with the width the tree size implies).
TileFetcher = Callable[[Tile], Sequence[bytes]]

#: Reads the interior nodes of a tile (:func:`encode_tile_nodes`), or None if not available.
TileNodesFetcher = Callable[[Tile], bytes | None]


class TileHashReader(HashReader):
    """A :class:`HashReader` for the tree of ``size`` leaves, computing hashes from tiles.

    Each node is found in the tile of level ``node.level // 8``; nodes between tile levels are
    read from the tile's interior nodes when ``fetch_nodes`` has them, otherwise hashed from the
    tile's hashes. Each tile (and its interior nodes) is fetched at most once per reader.
    """

    def __init__(
        self, size: int, fetch: TileFetcher, fetch_nodes: TileNodesFetcher | None = None
    ) -> None:
        self.size = size
        self._fetch = fetch
        self._fetch_nodes = fetch_nodes
        self._cache: dict[Tile, Sequence[bytes]] = {}
        self._nodes: dict[Tile, bytes | None] = {}

    def tile(self, level: int, index: int) -> Sequence[bytes]:
        """The hashes of tile ``(level, index)`` at this reader's tree size."""
        t = tile_for_size(level, index, self.size)
        got = self._cache.get(t)
        if got is None:
            got = self._fetch(t)
            if len(got) != t.width:
                raise VerificationError(f"{t.path()}: {len(got)} hashes, expected {t.width}")
            self._cache[t] = got
        return got

    def _interior(self, t: Tile) -> bytes | None:
        """The interior nodes of tile ``t``, if ``fetch_nodes`` has them."""
        if t in self._nodes:
            return self._nodes[t]
        assert self._fetch_nodes is not None
        got = self._fetch_nodes(t)
        if got is not None and len(got) != tile_nodes_size(t.width):
            raise VerificationError(
                f"{t.path()}: {len(got)} bytes of interior nodes, expected "
                f"{tile_nodes_size(t.width)}"
            )
        self._nodes[t] = got
        return got

    def read_hashes(self, nodes: Sequence[Node]) -> list[bytes]:
        """Return the hash of each complete node of the tree."""
        out: list[bytes] = []
        for level, index in nodes:
            tlevel, sub = divmod(level, TILE_HEIGHT)
            first = index << sub
            if (first + (1 << sub)) << (TILE_HEIGHT * tlevel) > self.size:
                raise ValueError(f"node ({level}, {index}) is not complete at size {self.size}")
            tindex, offset = divmod(first, TILE_WIDTH)
            if sub and self._fetch_nodes is not None:
                t = tile_for_size(tlevel, tindex, self.size)
                interior = self._interior(t)
                if interior is not None:
                    pos = _nodes_offset(t.width, sub, offset >> sub)
                    out.append(interior[pos : pos + HASH_SIZE])
                    continue
            hashes = self.tile(tlevel, tindex)
            if sub:
                out.append(root_of(hashes[offset : offset + (1 << sub)]))
            else:
                out.append(hashes[offset])
        return out
