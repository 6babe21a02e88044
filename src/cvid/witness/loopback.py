"""Witnesses run in this process on 127.0.0.1, each on a uvicorn server in a thread (the
demo's, and anyone's who wants a regime on one machine).

::

    with loopback_witnesses(Path("witnesses"), ["w1.example", "w2.example"]) as running:
        for r in running:
            r.witness.state.add_log(origin, log_vkey)
            print(r.url, r.witness.key.vkey)

Each witness is made in ``directory/<name>`` (or reopened there), listens on a port the
system picks on 127.0.0.1 only, and is stopped and closed when the block ends. Starting waits
at most :data:`START_TIMEOUT` seconds per witness, stopping at most :data:`STOP_TIMEOUT`.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from cvid.errors import StoreError
from cvid.witness.app import create_app
from cvid.witness.witness import Witness

__all__ = ["RunningWitness", "loopback_witnesses"]

START_TIMEOUT = 5.0
STOP_TIMEOUT = 5.0


@dataclass(frozen=True)
class RunningWitness:
    """A witness being served: the witness (its key and state) and its URL prefix."""

    witness: Witness
    url: str


@contextmanager
def _serve(witness: Witness) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        create_app(witness), log_level="error", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="cvid-witness", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise StoreError(f"witness {witness.key.name} did not start within 5 s")
            time.sleep(0.005)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT)
        sock.close()


@contextmanager
def loopback_witnesses(directory: Path, names: Sequence[str]) -> Iterator[list[RunningWitness]]:
    """Make (or reopen) a witness per name under ``directory`` and serve each on loopback for
    the block (see the module). :class:`StoreError` if one does not start."""
    with ExitStack() as stack:
        running = []
        for name in names:
            where = directory / name
            if not where.exists():
                Witness.create(where, name).close()
            witness = Witness.open(where)
            stack.callback(witness.close)
            running.append(RunningWitness(witness, stack.enter_context(_serve(witness))))
        yield running
