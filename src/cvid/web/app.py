"""The HTTP service of a ledger: :func:`create_app` makes the FastAPI application.

Routes live under ``/v1/`` (docs/service.md; the OpenAPI document is docs/openapi.json and
``/v1/openapi.json``): ``POST /v1/records`` submits; ``GET /v1/status``, ``/v1/timeline``,
``/v1/verdict``, ``/v1/report``, ``/v1/records[/{index}]``, ``/v1/keys``, ``/v1/ledger``,
``/v1/package`` read; ``/v1/log/`` serves the log as ``tlog-tiles``. Every refusal is an RFC
9457 problem (:mod:`cvid.web.problems`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cvid import __version__
from cvid.errors import Error
from cvid.web import dashboard, reads, records, tiles
from cvid.web.problems import ProblemError, problem_handler, problem_response
from cvid.web.service import Service

log = logging.getLogger("cvid.web")

#: The default cap on a submission's body: 8 MiB (over a hundred large records; a record is at
#: most 65,535 bytes logged).
MAX_BODY = 8 * 1024 * 1024
#: Seconds a client has to send a submission's whole body.
BODY_TIMEOUT = 30.0

DESCRIPTION = """\
An arms-control evidence ledger over a C2SP transparency log. Submit signed evidence records
(all or nothing, authorised by their signatures under the ledger's admission rules); read each
agreement term's status, the timeline of changes, verdicts and the HTML report, exactly as the
`cvid` command prints them; fetch records with inclusion proofs and receipts; and read the log
itself as C2SP tlog-tiles under /v1/log/ to audit it trusting only its key. Errors are RFC 9457
problem documents. See docs/service.md.
"""


class _Headers:
    """Adds ``X-Content-Type-Options: nosniff`` to every answer: a record's text served as
    JSON or a tile must never be sniffed into something a browser runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-content-type-options", b"nosniff")]
            await send(message)

        await self.app(scope, receive, send_with)


async def _internal(request: Request, exc: Exception) -> Response:
    """An unexpected error: logged here (with its traceback), a bare 500 problem there."""
    log.error("unexpected error answering %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(ProblemError(500, "internal", "an unexpected error; it was logged"))


def _build(service: Service | None, **state: Any) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        # Shutdown: uvicorn has stopped accepting and finished the requests in flight; the
        # writer commits whatever is still queued before the ledger closes.
        if service is not None:
            service.close()

    app = FastAPI(
        title="cvid ledger",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/v1/openapi.json",
        # The interactive pages fetch scripts from a CDN: nothing here loads outside code.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.redact = service.redact if service is not None else str
    for k, v in state.items():
        setattr(app.state, k, v)
    for exc_type in (ProblemError, RequestValidationError, StarletteHTTPException, Error):
        app.add_exception_handler(exc_type, problem_handler)
    app.add_exception_handler(Exception, _internal)
    app.include_router(records.router)
    app.include_router(reads.router)
    app.include_router(tiles.router)
    app.include_router(dashboard.router)
    app.add_middleware(_Headers)
    return app


def create_app(
    ledger_location: str | Path,
    *,
    max_body: int = MAX_BODY,
    body_timeout: float = BODY_TIMEOUT,
    public_url: str | None = None,
    max_pending: int = 1024,
    max_group: int = 256,
    max_records: int = 20_000,
) -> FastAPI:
    """The service of the ledger at ``ledger_location`` (a directory or a PostgreSQL URL).

    Opens the ledger now (an :class:`~cvid.errors.InputError` if there is none) and starts its
    writer thread; the app's shutdown (lifespan) commits what is queued and closes the ledger.
    ``max_body`` caps a submission's body in bytes and ``body_timeout`` is the seconds a client
    has to send it; ``public_url`` is how the report names the service (default: as each
    request reached it); the ``max_*`` bound the writer (:class:`~cvid.web.writer.Writer`).
    """
    service = Service(
        ledger_location, max_pending=max_pending, max_group=max_group, max_records=max_records
    )
    try:
        return _build(service, max_body=max_body, body_timeout=body_timeout, public_url=public_url)
    except BaseException:
        service.close()
        raise


def openapi_document() -> dict[str, Any]:
    """The service's OpenAPI document (docs/openapi.json), without opening any ledger."""
    return _build(None, max_body=MAX_BODY, body_timeout=BODY_TIMEOUT, public_url=None).openapi()
