"""What the witness tests share: logs, witnesses in process and on loopback, a router."""

from __future__ import annotations

import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn

from cvid.store.log import Log
from cvid.witness.app import create_app
from cvid.witness.client import WitnessEndpoint
from cvid.witness.witness import Witness

with warnings.catch_warnings():
    # Starlette's TestClient says it prefers httpx2; httpx is what this project pins.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

__all__ = ["ORIGIN", "Clock", "Router", "TestClient", "WitnessMaker", "free_port", "served"]

ORIGIN = "example.org/witnessed-log"


class Clock:
    """A settable clock for witnesses (POSIX seconds)."""

    def __init__(self, now: float = 1_700_000_000) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Log]:
    """A log of three entries in ``tmp_path/log``."""
    with Log.create(tmp_path / "log", ORIGIN) as opened:
        opened.append([b"alpha", b"beta", b"gamma"])
        yield opened


WitnessMaker = Callable[[str], Witness]


@pytest.fixture
def make_witness(tmp_path: Path, log: Log, clock: Clock) -> Iterator[WitnessMaker]:
    """Make (and finally close) a witness named ``name`` in ``tmp_path/<name>`` that witnesses
    the ``log`` fixture's log."""
    made: list[Witness] = []

    def make(name: str) -> Witness:
        directory = tmp_path / name
        Witness.create(directory, name).close()
        w = Witness.open(directory, clock)
        w.state.add_log(log.origin, log.verifier.vkey)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


class Router(httpx.AsyncBaseTransport):
    """An async transport sending each host's requests to its in-process ASGI app."""

    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}

    def add(self, host: str, witness: Witness) -> WitnessEndpoint:
        self.apps[host] = httpx.ASGITransport(app=create_app(witness))
        return WitnessEndpoint(f"http://{host}", witness.key)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        app = self.apps.get(request.url.host)
        if app is None:
            raise httpx.ConnectError("connection refused", request=request)
        return await app.handle_async_request(request)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(witness: Witness, port: int | None = None) -> Iterator[str]:
    """Serve ``witness`` on 127.0.0.1 with uvicorn in a thread; its URL. Stops within 5 s."""
    port = port or free_port()
    config = uvicorn.Config(
        create_app(witness), host="127.0.0.1", port=port, log_level="error", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the witness did not start within 5 s")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)
