"""Transports: an audit over an in-memory tree, and HTTP reads that a hostile server cannot
make unbounded — too big a body, a gzip bomb, a server trickling bytes past the deadline.

The HTTP cases run twice where it matters: against ``httpx.MockTransport`` (no network) and a
real loopback server (``http.server`` on 127.0.0.1 in a thread), whose handlers stop after a
few seconds whatever the client does.
"""

from __future__ import annotations

import gzip
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from cvid.audit import TileSource, audit
from cvid.errors import InputError
from cvid.store import Log, export_tiles
from cvid.transport import (
    MAX_FILE_BYTES,
    DirectoryTransport,
    HttpTransport,
    MemoryTransport,
    transport_for,
)

PREFIX = "http://tiles.test/log"
CAP = 4096


# -- an audit through an injected transport --------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[Log, dict[str, bytes]]:
    """A log of 300 entries (a full bundle and a partial one), its tiles tree in memory."""
    directory = tmp_path_factory.mktemp("log")
    log = Log.create(directory / "log", "cvid.test/transport")
    log.append([b"entry %d" % i for i in range(300)])
    log.checkpoint()
    out = directory / "tiles"
    export_tiles(log, out)
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    return log, files


def test_an_audit_reads_an_in_memory_tree(served: tuple[Log, dict[str, bytes]]) -> None:
    log, files = served
    report = audit(TileSource("memory:", MemoryTransport(files)), log.verifier)
    assert report.ok and report.entries == 300


def test_an_altered_file_in_memory_is_found(served: tuple[Log, dict[str, bytes]]) -> None:
    log, files = served
    altered = dict(files)
    bundle = altered["tile/entries/000"]
    altered["tile/entries/000"] = bundle[:2] + b"E" + bundle[3:]  # first entry, first byte
    report = audit(TileSource("memory:", MemoryTransport(altered)), log.verifier)
    assert not report.ok
    assert "tile/entries/000: entry 0 (log index 0)" in " ".join(report.problems)


def test_a_missing_file_is_named() -> None:
    with pytest.raises(InputError, match="tile/0/000: not served"):
        MemoryTransport({}).get("tile/0/000")


def test_the_location_chooses_the_transport(tmp_path: Path) -> None:
    assert isinstance(transport_for(str(tmp_path)), DirectoryTransport)
    http = transport_for("https://example.org/log/")
    assert isinstance(http, HttpTransport) and http.url("checkpoint").endswith("log/checkpoint")
    http.close()


def test_a_directory_refuses_a_file_over_the_cap(tmp_path: Path) -> None:
    (tmp_path / "checkpoint").write_bytes(b"x" * (CAP + 1))
    (tmp_path / "ok").write_bytes(b"x" * CAP)
    transport = DirectoryTransport(tmp_path, CAP)
    assert transport.get("ok") == b"x" * CAP
    with pytest.raises(InputError, match=rf"{tmp_path / 'checkpoint'}: over 4,096 bytes"):
        transport.get("checkpoint")
    with pytest.raises(InputError, match="missing"):
        transport.get("missing")


def test_the_cap_holds_a_full_bundle_and_nothing_larger() -> None:
    assert MAX_FILE_BYTES == 256 * (2 + 65535)


# -- HTTP against httpx.MockTransport ---------------------------------------------------------


def mock(handler: Callable[[httpx.Request], httpx.Response], **kw: float) -> HttpTransport:
    return HttpTransport(PREFIX, transport=httpx.MockTransport(handler), max_bytes=CAP, **kw)


class Body(httpx.SyncByteStream):
    """A body streamed as it would come off a socket, in chunks of ``size`` bytes."""

    def __init__(self, data: bytes, size: int = 1024) -> None:
        self.data, self.size = data, size

    def __iter__(self) -> Iterator[bytes]:
        for i in range(0, len(self.data), self.size):
            yield self.data[i : i + self.size]


def gzipped(data: bytes) -> httpx.Response:
    return httpx.Response(200, stream=Body(data), headers={"content-encoding": "gzip"})


class Trickle(httpx.SyncByteStream):
    """A body of ``n`` one-byte chunks, ``pause`` seconds apart."""

    def __init__(self, n: int, pause: float) -> None:
        self.n, self.pause = n, pause

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(self.n):
            time.sleep(self.pause)
            yield b"x"


def test_a_file_is_read_and_identity_is_asked_for() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"tile bytes")

    assert mock(handler).get("tile/0/000") == b"tile bytes"
    assert str(seen[0].url) == f"{PREFIX}/tile/0/000"
    assert seen[0].headers["accept-encoding"] == "identity"


def test_not_200_is_an_error_naming_the_url() -> None:
    t = mock(lambda r: httpx.Response(404))
    with pytest.raises(InputError, match=f"^{PREFIX}/checkpoint: HTTP 404$"):
        t.get("checkpoint")


def test_a_declared_length_over_the_cap_is_refused_unread() -> None:
    t = mock(lambda r: httpx.Response(200, headers={"content-length": str(CAP + 1)}))
    with pytest.raises(InputError, match=f"{PREFIX}/tile/entries/000: Content-Length 4,097"):
        t.get("tile/entries/000")


def test_an_undeclared_body_over_the_cap_is_refused() -> None:
    t = mock(lambda r: httpx.Response(200, stream=Trickle(CAP + 1, 0.0)))
    with pytest.raises(InputError, match=f"{PREFIX}/tile/0/000: the body is over 4,096 bytes"):
        t.get("tile/0/000")
    assert mock(lambda r: httpx.Response(200, stream=Trickle(CAP, 0.0))).get("x") == b"x" * CAP


def test_gzip_is_inflated_under_the_cap_and_a_bomb_refused() -> None:
    small = gzip.compress(b"a" * CAP)
    assert mock(lambda r: gzipped(small)).get("checkpoint") == b"a" * CAP
    bomb = gzip.compress(bytes(10 << 20))  # 10 MiB of zeros in about 10 KiB
    assert len(bomb) < 20_000
    with pytest.raises(InputError, match="the inflated gzip body is over 4,096 bytes"):
        mock(lambda r: gzipped(bomb)).get("checkpoint")
    # Inflating stops at the cap: a single chunk holding the whole bomb costs no more.
    one_chunk = httpx.Response(
        200, stream=Body(bomb, len(bomb)), headers={"content-encoding": "gzip"}
    )
    roomy = HttpTransport(PREFIX, transport=httpx.MockTransport(lambda r: one_chunk))
    roomy.max_bytes = 64 * 1024  # the 10 KiB bomb fits on the wire, not inflated
    with pytest.raises(InputError, match="inflated gzip body is over 65,536 bytes"):
        roomy.get("checkpoint")
    # Bytes that inflate to nothing (here a 10 KB gzip comment) are capped as sent.
    raw = gzip.compress(b"a")
    padded = raw[:3] + b"\x10" + raw[4:10] + b"c" * 10_000 + b"\0" + raw[10:]
    assert gzip.decompress(padded) == b"a"
    with pytest.raises(InputError, match="the gzip body as sent is over 4,096 bytes"):
        mock(lambda r: gzipped(padded)).get("checkpoint")


def test_a_body_made_in_memory_is_capped_too() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        resp = httpx.Response(200, content=b"x" * (CAP + 1))
        del resp.headers["content-length"]
        return resp

    t = mock(handler)
    with pytest.raises(InputError, match="the body is over 4,096 bytes"):
        t.get("checkpoint")


def test_other_encodings_and_broken_gzip_are_refused() -> None:
    br = mock(lambda r: httpx.Response(200, content=b"..", headers={"content-encoding": "br"}))
    with pytest.raises(InputError, match="Content-Encoding 'br'"):
        br.get("checkpoint")
    cut = gzip.compress(b"a" * 1000)[:-10]
    with pytest.raises(InputError, match="gzip body is truncated"):
        mock(lambda r: gzipped(cut)).get("checkpoint")
    with pytest.raises(InputError, match="corrupt gzip body"):
        mock(lambda r: gzipped(b"not gzip at all")).get("checkpoint")


def test_a_trickled_body_stops_at_the_deadline() -> None:
    # 40 chunks 0.1 s apart would take 4 s; each arrives well within any per-read timeout.
    t = mock(lambda r: httpx.Response(200, stream=Trickle(40, 0.1)), deadline=0.5)
    start = time.monotonic()
    with pytest.raises(InputError, match=f"{PREFIX}/tile/0/000: no complete answer within 0.5 s"):
        t.get("tile/0/000")
    assert time.monotonic() - start < 1.5


# -- HTTP against a real loopback server ------------------------------------------------------

STOP_AFTER = 5.0  # a handler never runs longer, whatever the client does


class Handler(http.server.BaseHTTPRequestHandler):
    """``/big``: CAP+1 bytes, no length; ``/bomb``: a gzip bomb; ``/slow``: a body a byte
    every 0.2 s; ``/slow-head``: the status line itself a byte every 0.2 s; else 404."""

    protocol_version = "HTTP/1.1"
    bomb = gzip.compress(bytes(64 << 20))  # 64 MiB of zeros, about 64 KiB on the wire

    def do_GET(self) -> None:
        try:
            if self.path.endswith("/big"):
                self.send_response(200)
                self.send_header("Connection", "close")  # ended by closing, not declared
                self.end_headers()
                self.wfile.write(b"x" * (CAP + 1))
            elif self.path.endswith("/bomb"):
                self.send_response(200)
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(self.bomb)))
                self.end_headers()
                self.wfile.write(self.bomb)
            elif self.path.endswith("/slow"):
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                self._trickle(b"x" * 100)
            elif self.path.endswith("/slow-head"):
                self._trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx")
            else:
                self.send_error(404)
        except OSError:
            pass  # the client hung up: what a refusal looks like from here

    def _trickle(self, data: bytes) -> None:
        ends = time.monotonic() + STOP_AFTER
        for i in range(len(data)):
            if time.monotonic() > ends:
                return
            self.wfile.write(data[i : i + 1])
            self.wfile.flush()
            time.sleep(0.2)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The loopback server's URL prefix."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/log"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=STOP_AFTER)


def test_loopback_a_body_over_the_cap(server: str) -> None:
    t = HttpTransport(server, max_bytes=CAP)
    with pytest.raises(InputError, match=f"{server}/big: the body is over 4,096 bytes"):
        t.get("big")
    with pytest.raises(InputError, match=f"{server}/nothing: HTTP 404"):
        t.get("nothing")
    t.close()


def test_loopback_a_gzip_bomb_is_not_inflated(server: str) -> None:
    t = HttpTransport(server)  # the real cap: 16 MiB, a quarter of what the bomb holds
    start = time.monotonic()
    with pytest.raises(InputError, match=f"{server}/bomb: the inflated gzip body is over"):
        t.get("bomb")
    assert time.monotonic() - start < 5
    t.close()


@pytest.mark.parametrize("path", ["slow", "slow-head"])
def test_loopback_a_trickling_server_meets_the_deadline(server: str, path: str) -> None:
    # A byte every 0.2 s never trips a per-read timeout of 30 s; only the deadline ends it.
    t = HttpTransport(server, deadline=1.0, timeout=30.0)
    start = time.monotonic()
    with pytest.raises(InputError, match=f"{server}/{path}: no complete answer within 1 s"):
        t.get(path)
    assert time.monotonic() - start < 2.5
    t.close()


def test_loopback_audit_of_served_tiles(
    served: tuple[Log, dict[str, bytes]], tmp_path: Path
) -> None:
    log, files = served
    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    handler = _directory_handler(tmp_path)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        with TileSource(f"http://127.0.0.1:{httpd.server_address[1]}/") as source:
            report = audit(source, log.verifier)
        assert report.ok and report.entries == 300
    finally:
        httpd.shutdown()
        httpd.server_close()


def _directory_handler(root: Path) -> Callable[..., http.server.BaseHTTPRequestHandler]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Quiet
