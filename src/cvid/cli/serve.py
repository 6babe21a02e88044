"""``cvid serve LEDGER``: the ledger as an HTTP service (docs/service.md).

FastAPI and uvicorn are imported only when the command runs: every other command (and
``cvid --version``) starts without them.

Stopping: SIGTERM or SIGINT (Ctrl-C) stops accepting connections, lets the requests in flight
finish (up to :data:`GRACE` seconds), has the writer commit every batch still queued, closes
the ledger and exits 0. A submission is acknowledged (2xx) only after its commit, so even
SIGKILL loses nothing that was acknowledged.
"""

from __future__ import annotations

import json
import signal
import socket
import sys
import threading
import webbrowser
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cvid.cli._common import err_console, reports_errors
from cvid.errors import InputError

if TYPE_CHECKING:
    from types import FrameType

#: Seconds the requests in flight get to finish once a stop is asked for.
GRACE = 30.0
#: Seconds an idle keep-alive connection stays open (a slow client is dropped).
KEEP_ALIVE = 5
#: Connections served at once; beyond it new ones get a 503.
MAX_CONNECTIONS = 1000


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free one); InputError if impossible."""
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        # Listening before uvicorn starts: a client given the printed URL at once is queued,
        # not refused.
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def _url(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _open_browser(url: str) -> None:
    """Open ``url`` in a browser, in the background; a note when there is none."""

    def run() -> None:
        try:
            opened = webbrowser.open(url)
        except webbrowser.Error:
            opened = False
        if not opened:
            err_console.print(f"no browser to open; visit {url}", soft_wrap=True)

    threading.Thread(target=run, name="cvid-browser", daemon=True).start()


@reports_errors
def serve_command(
    ledger: Annotated[
        str | None,
        typer.Argument(help="The ledger: its directory, or a postgresql:// URL."),
    ] = None,
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port to listen on (0: any free port).")] = 8000,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the dashboard in a browser.")
    ] = False,
    max_body: Annotated[
        int, typer.Option(help="The largest submission body accepted, in bytes.")
    ] = 8 * 1024 * 1024,
    body_timeout: Annotated[
        float, typer.Option(help="Seconds a client has to send a submission's body.")
    ] = 30.0,
    public_url: Annotated[
        str | None, typer.Option(help="The service's public URL, as the report names it.")
    ] = None,
    log_level: Annotated[
        str, typer.Option(help="uvicorn's log level: critical, error, warning, info, debug.")
    ] = "info",
    access_log: Annotated[
        bool, typer.Option("--access-log", help="Log every request on standard error.")
    ] = False,
    openapi: Annotated[
        bool, typer.Option("--openapi", help="Print the OpenAPI document and exit.")
    ] = False,
) -> None:
    """Serve a ledger over HTTP: submissions, statuses, records with proofs, and the log as
    tlog-tiles under /v1/log/ (docs/service.md). Prints the URL; SIGTERM stops it cleanly."""
    if openapi:
        from cvid.web import openapi_document

        sys.stdout.write(openapi_json(openapi_document()))
        return
    if ledger is None:
        raise InputError("give the ledger to serve (a directory or a postgresql:// URL)")
    if max_body < 1 or body_timeout <= 0:
        raise InputError("--max-body and --body-timeout must be positive")
    import uvicorn

    from cvid.web import create_app, public_name

    app = create_app(ledger, max_body=max_body, body_timeout=body_timeout, public_url=public_url)
    try:
        sock = _listen(host, port)
    except BaseException:
        app.state.service.close()
        raise
    url = _url(host, sock)
    typer.echo(f"cvid serving {public_name(ledger)} at {url}/ (tiles: {url}/v1/log)")
    sys.stdout.flush()
    if open_browser:
        _open_browser((public_url or url).rstrip("/") + "/dashboard/")

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            # uvicorn would re-raise the signal after its graceful shutdown, so the process
            # would die of it; a stop asked for is a clean exit (0) here. A second Ctrl-C
            # still forces the exit.
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True

    config = uvicorn.Config(
        app,
        log_level=log_level,
        timeout_keep_alive=KEEP_ALIVE,
        timeout_graceful_shutdown=int(GRACE),
        limit_concurrency=MAX_CONNECTIONS,
        server_header=False,
        access_log=access_log,
        lifespan="on",
    )
    try:
        Server(config).run(sockets=[sock])
    finally:
        sock.close()
        app.state.service.close()  # done already by the app's shutdown, unless it failed
    err_console.print("cvid serve stopped", soft_wrap=True)


def openapi_json(doc: dict[str, Any]) -> str:
    """The OpenAPI document as published in docs/openapi.json (2-space JSON, a newline)."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def register(app: typer.Typer) -> None:
    """Add ``cvid serve`` to ``app``."""
    app.command("serve")(serve_command)
