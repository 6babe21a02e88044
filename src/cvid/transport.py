"""Transports: where the files of a served log come from, behind one method.

An audit (:mod:`cvid.audit`) reads a ``tlog-tiles`` tree — ``checkpoint``, ``tile/<L>/<N>``,
``tile/entries/<N>`` — through a :class:`Transport`, so the audit never knows whether the files
are on disk, on a web server or in memory::

    from cvid.transport import MemoryTransport, transport_for

    transport_for("tiles/")                          # DirectoryTransport
    transport_for("https://example.org/log/")        # HttpTransport
    MemoryTransport({"checkpoint": b"..."})          # for tests

Every transport refuses a file over :data:`MAX_FILE_BYTES` and reports every failure as an
:class:`~cvid.errors.InputError` naming the file's path or URL. :class:`HttpTransport` also
bounds each request by a total deadline, and never inflates a compressed body past the cap.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import weakref
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import httpx

from cvid.errors import InputError
from cvid.tlog import MAX_ENTRY_SIZE, TILE_WIDTH

__all__ = [
    "DEADLINE_SECONDS",
    "MAX_FILE_BYTES",
    "DirectoryTransport",
    "HttpTransport",
    "MemoryTransport",
    "Transport",
    "transport_for",
]

#: The largest file a tiles tree holds: a full entry bundle, 256 entries of at most 65,535
#: bytes, each behind a 2-byte length (16,777,472 bytes). A hash tile is at most 8 KiB and a
#: checkpoint a few hundred bytes, so a larger body cannot be a valid file: refusing it loses
#: nothing, and it bounds what one read may cost in memory.
MAX_FILE_BYTES = TILE_WIDTH * (2 + MAX_ENTRY_SIZE)

#: The total time one HTTP request may take, connection to last byte. A full bundle at
#: 1 MiB/s takes 16 s; a server slower than a quarter of that is treated as not answering.
DEADLINE_SECONDS = 60.0

#: The longest wait for any one network step (connect, one read), within the deadline.
STEP_TIMEOUT_SECONDS = 30.0

#: A gzip body (sent despite ``Accept-Encoding: identity``) is one of these.
_GZIP = ("gzip", "x-gzip")


class Transport(Protocol):
    """Reads one file of a served log by its path in the tree (``tile/0/000``)."""

    def get(self, path: str) -> bytes:
        """The file's bytes; :class:`InputError` naming the file if it cannot be had."""
        ...


class MemoryTransport:
    """Files held in memory, by path: what tests serve a log from."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = dict(files)

    def get(self, path: str) -> bytes:
        """The bytes stored at ``path``; :class:`InputError` if there are none."""
        try:
            return self.files[path]
        except KeyError:
            raise InputError(f"{path}: not served") from None


class DirectoryTransport:
    """Files under a directory (a tree ``cvid log export`` wrote, or its copy)."""

    def __init__(self, root: Path, max_bytes: int = MAX_FILE_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def get(self, path: str) -> bytes:
        """The bytes of ``root/path``; :class:`InputError` naming it if unreadable or too big."""
        file = self.root / path
        try:
            with file.open("rb") as f:
                # read(n) allocates n bytes: ask for what the file holds (one more shows growth).
                size = min(os.fstat(f.fileno()).st_size, self.max_bytes)
                data = f.read(size + 1)
        except OSError as exc:
            raise InputError(f"{file}: {exc.strerror}") from None
        if len(data) > self.max_bytes:
            raise InputError(f"{file}: over {self.max_bytes:,} bytes, larger than any tiles file")
        return data

    def close(self) -> None:
        """Nothing to release."""


class HttpTransport:
    """Files under an ``http(s)://`` prefix, each fetched with a bounded GET.

    Each request asks for ``Accept-Encoding: identity``; a body is streamed and refused past
    ``max_bytes`` (a gzip body a server sends anyway is inflated chunk by chunk under the same
    cap, any other encoding refused); and the whole request, connection to last byte, must end
    within ``deadline`` seconds, however slowly the server trickles bytes. Only status 200 is
    a file (redirects are not followed). ``transport`` replaces httpx's network transport
    (``httpx.MockTransport`` in tests). Not for use by several threads at once.
    """

    def __init__(
        self,
        prefix: str,
        *,
        max_bytes: int = MAX_FILE_BYTES,
        deadline: float = DEADLINE_SECONDS,
        timeout: float = STEP_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.prefix = prefix.rstrip("/") + "/"
        self.max_bytes = max_bytes
        self.deadline = deadline
        self._client = httpx.Client(
            timeout=min(timeout, deadline),
            headers={"Accept-Encoding": "identity"},
            transport=transport,
        )
        # The sockets this client connected, so a deadline can cut a read that is waiting.
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()

    def url(self, path: str) -> str:
        """The URL of ``path``."""
        return self.prefix + path

    def get(self, path: str) -> bytes:
        """The body of ``GET prefix/path``; :class:`InputError` naming the URL if the request
        fails, is not answered 200, exceeds the size cap or outlasts the deadline."""
        url = self.url(path)
        expired = threading.Event()
        watchdog = threading.Timer(self.deadline, self._cut, (expired,))
        watchdog.daemon = True
        ends = time.monotonic() + self.deadline
        watchdog.start()
        try:
            with self._client.stream("GET", url, extensions={"trace": self._trace}) as resp:
                if resp.status_code != 200:
                    raise InputError(f"{url}: HTTP {resp.status_code}")
                body = self._body(url, resp, ends)
        except httpx.HTTPError as exc:
            if expired.is_set() or time.monotonic() >= ends:
                raise InputError(self._too_slow(url)) from None
            raise InputError(f"{url}: {str(exc) or type(exc).__name__}") from None
        finally:
            watchdog.cancel()
        if expired.is_set():  # cut at the deadline: a body ended by the closed socket is short
            raise InputError(self._too_slow(url))
        return body

    def _body(self, url: str, resp: httpx.Response, ends: float) -> bytes:
        encoding = resp.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", "", *_GZIP):
            raise InputError(f"{url}: served with Content-Encoding {encoding!r}, not identity")
        declared = resp.headers.get("content-length", "")
        if encoding in ("identity", "") and declared.isdigit() and int(declared) > self.max_bytes:
            raise InputError(self._too_big(url, f"Content-Length {int(declared):,}"))
        if resp.is_stream_consumed:  # made in memory (httpx.MockTransport): read and decoded
            if len(resp.content) > self.max_bytes:
                raise InputError(self._too_big(url, "the body"))
            return resp.content
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding in _GZIP else None
        # On the wire a gzip body may exceed what it holds by its framing (<1% when stored).
        wire_cap = self.max_bytes + self.max_bytes // 64 + 1024
        body = bytearray()
        wire = 0
        # Raw chunks as they arrive: httpx's own decoding would inflate without a cap.
        for chunk in resp.iter_raw():
            if time.monotonic() >= ends:
                raise InputError(self._too_slow(url))
            wire += len(chunk)
            if wire > wire_cap:
                raise InputError(
                    self._too_big(url, "the body" if inflate is None else "the gzip body as sent")
                )
            if inflate is None:
                body += chunk
            else:
                # Never more than one byte past the cap: either the output fills the room
                # (refused) or the whole chunk is consumed.
                try:
                    body += inflate.decompress(chunk, self.max_bytes + 1 - len(body))
                except zlib.error as exc:
                    raise InputError(f"{url}: a corrupt gzip body ({exc})") from None
                if inflate.unused_data:
                    raise InputError(f"{url}: bytes after the end of the gzip body")
            if len(body) > self.max_bytes:
                what = "the body" if inflate is None else "the inflated gzip body"
                raise InputError(self._too_big(url, what))
        if inflate is not None and not inflate.eof:
            raise InputError(f"{url}: the gzip body is truncated")
        return bytes(body)

    def _too_big(self, url: str, what: str) -> str:
        return f"{url}: {what} is over {self.max_bytes:,} bytes, larger than any tiles file"

    def _too_slow(self, url: str) -> str:
        return f"{url}: no complete answer within {self.deadline:g} s (the per-request deadline)"

    def _trace(self, event: str, info: Mapping[str, Any]) -> None:
        """httpx's ``trace`` hook: remember each socket this client connects."""
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if isinstance(sock, socket.socket):
                self._sockets.add(sock)

    def _cut(self, expired: threading.Event) -> None:
        """At the deadline: wake any read waiting on this client's sockets (it then fails)."""
        expired.set()
        for sock in list(self._sockets):
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Close the HTTP client and its connections."""
        self._client.close()


def transport_for(
    location: str,
    *,
    max_bytes: int = MAX_FILE_BYTES,
    deadline: float = DEADLINE_SECONDS,
) -> DirectoryTransport | HttpTransport:
    """The transport for ``location``: an ``http(s)://`` prefix, else a directory."""
    if location.startswith(("http://", "https://")):
        return HttpTransport(location, max_bytes=max_bytes, deadline=deadline)
    return DirectoryTransport(Path(location), max_bytes)
