"""The witness's HTTP service (FastAPI): ``tlog-witness`` with one prefix for both uses.

- ``POST /add-checkpoint``: :meth:`cvid.witness.witness.Witness.add_checkpoint`. The body is
  read up to :data:`~cvid.witness.protocol.MAX_REQUEST_BYTES`; a longer one is a 400 before
  anything is parsed (a declared ``Content-Length`` over it too: 413 is not in the spec).
- ``GET /<hex SHA-256 of the origin>/checkpoint``: the latest cosigned checkpoint of that log,
  its log signature(s) and this witness's cosignature; 404 if it never cosigned one.

Imported only by ``cvid witness serve`` and tests: the CLI does not load FastAPI otherwise.
"""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from cvid.witness.protocol import MAX_REQUEST_BYTES
from cvid.witness.witness import Answer, Witness

__all__ = ["create_app"]

_DIGEST = re.compile(r"[0-9a-f]{64}")
NO_CACHE = {"Cache-Control": "no-store"}


def _response(a: Answer) -> Response:
    # The header is set as is: Starlette would append "; charset=utf-8" to a text/* media type,
    # and clients compare a 409's Content-Type with "text/x.tlog.size" exactly.
    return Response(
        a.body, status_code=a.status, headers={**NO_CACHE, "Content-Type": a.content_type}
    )


async def _bounded_body(request: Request) -> bytes | None:
    """The request body, or None once it exceeds :data:`MAX_REQUEST_BYTES` (never read past)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_REQUEST_BYTES:
            return None
    return bytes(body)


def create_app(witness: Witness) -> FastAPI:
    """The witness's ASGI app over ``witness`` (whose state it never closes)."""
    app = FastAPI(title="cvid witness", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/add-checkpoint")
    async def add_checkpoint(request: Request) -> Response:
        body = await _bounded_body(request)
        if body is None:
            return _response(
                Answer(400, f"request body over {MAX_REQUEST_BYTES:,} bytes\n".encode())
            )
        # SQLite and Ed25519 block: off the event loop, so a slow fsync stalls no other request.
        return _response(await run_in_threadpool(witness.add_checkpoint, body))

    @app.get("/{digest}/checkpoint")
    async def checkpoint(digest: str) -> Response:
        if not _DIGEST.fullmatch(digest):
            return _response(
                Answer(404, b"the path is /<lowercase hex SHA-256 of the origin>/checkpoint\n")
            )
        note = await run_in_threadpool(witness.checkpoint_of, digest)
        if note is None:
            return _response(Answer(404, b"this witness never cosigned a checkpoint of that log\n"))
        return _response(Answer(200, note))

    return app
