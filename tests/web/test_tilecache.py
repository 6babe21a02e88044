"""The served-tile cache: byte-bounded, least recently used first out."""

from __future__ import annotations

from cvid.web.tilecache import TileCache


def test_the_cache_keeps_at_most_its_bytes_and_drops_the_least_recently_used() -> None:
    cache = TileCache(limit=10)
    cache.put("a", b"1234")
    cache.put("b", b"5678")
    assert cache.get("a") == b"1234"  # a is now the most recent
    cache.put("c", b"90ab")  # 12 bytes > 10: b goes
    assert cache.get("b") is None
    assert cache.get("a") == b"1234" and cache.get("c") == b"90ab"
    cache.put("huge", b"x" * 11)  # larger than the whole cache: never kept
    assert cache.get("huge") is None and cache.get("a") == b"1234"
    cache.put("a", b"zzzz")  # an immutable tile is never replaced
    assert cache.get("a") == b"1234"
