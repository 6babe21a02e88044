"""Fuzz target: tlog-tiles paths (:func:`cvid.tlog.tiles.parse_path`).

A path that parses is canonical: the tile it names has exactly that path.
"""

from __future__ import annotations

from fuzzkit import fuzz, instrumented

with instrumented(__name__ == "__main__"):
    from cvid.tlog.tiles import parse_path


def one_input(data: bytes) -> None:
    path = data.decode("utf-8", "replace")
    entries, tile = parse_path(path)
    again = tile.entries_path() if entries else tile.path()
    assert again == path, f"{path!r} parses to a tile whose path is {again!r}"


if __name__ == "__main__":
    fuzz(one_input)
