"""Real ``cvid serve`` processes under load: several on one ledger, and one killed with SIGKILL.

- Two services on one SQLite ledger, and two on one PostgreSQL ledger, take concurrent
  submissions: every record acknowledged (2xx) is in the ledger at exactly the index it was
  given, no index was given twice, and the log verifies.
- A service is killed with SIGKILL while clients submit, 20 rounds on one ledger: after each,
  every record acknowledged before the kill is there at its index, and the ledger keeps
  working (the next round's service opens it and admits more).
"""

from __future__ import annotations

import hashlib
import json
import random
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from web_kit import make_ledger, signed

from cvid.evidence import Ledger
from cvid.evidence.signing import canonical
from cvid.store import verify_log
from kit import ROOT

CVID = str(ROOT / ".venv" / "bin" / "cvid")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """``cvid serve LOCATION`` on a free loopback port."""

    def __init__(self, location: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [CVID, "serve", location, "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/v1/log/checkpoint", timeout=2).status_code in (200, 404):
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise AssertionError(f"cvid serve exited {self.proc.returncode}: {err}")
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError("cvid serve did not answer within 60 s")
            time.sleep(0.05)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(30)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(60) == 0


def _digest(obj: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in obj.items() if k != "signature"})).hexdigest()


class Submitters:
    """Threads POSTing distinct records (singles and small JSONL batches) until stopped; what
    each 2xx acknowledged, by index."""

    def __init__(self, urls: list[str], first: int, threads: int = 6) -> None:
        self.acked: dict[int, str] = {}
        self.duplicates: list[int] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._next = iter(range(first, first + 10_000_000))
        self._threads = [
            threading.Thread(target=self._run, args=(urls[k % len(urls)], k), daemon=True)
            for k in range(threads)
        ]
        for t in self._threads:
            t.start()

    def _run(self, url: str, k: int) -> None:
        rng = random.Random(k)
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                with self._lock:
                    ns = [next(self._next) for _ in range(rng.choice((1, 1, 3, 10)))]
                records = [signed(n) for n in ns]
                try:
                    if len(records) == 1:
                        got = client.post(f"{url}/v1/records", json=records[0])
                    else:
                        body = b"".join(json.dumps(r).encode() + b"\n" for r in records)
                        got = client.post(
                            f"{url}/v1/records",
                            content=body,
                            headers={"content-type": "application/jsonl"},
                        )
                except httpx.HTTPError:
                    continue  # the service went away: this batch was never acknowledged
                if got.status_code not in (200, 201):
                    continue
                indices = got.json()["indices"]
                with self._lock:
                    for i, r in zip(indices, records, strict=True):
                        if i in self.acked:
                            self.duplicates.append(i)
                        self.acked[i] = _digest(r)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)


def _check(location: str, acked: dict[int, str]) -> int:
    """Every acknowledged record is at its index; the log verifies; the ledger's size."""
    with Ledger.open(location, readonly=True) as ledger:
        got = {r.index: _digest(r.raw) for r in ledger.records_at(sorted(acked))}
        assert got == acked
        assert verify_log(ledger.log) == []
        return ledger.size


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A New START ledger of 26 records on each backend."""
    if request.param == "sqlite":
        yield str(make_ledger(tmp_path / "ledger"))
        return
    url: str = request.getfixturevalue("postgres_url")
    make_ledger_at(url)
    yield url


def make_ledger_at(url: str) -> None:
    from web_kit import CSV, NEW_START

    from cvid.sources import example_signer, import_declarations

    keys = {p: example_signer("new-start", p) for p in ("US", "RU")}
    with Ledger.create(url, NEW_START, clock_mode="reported") as ledger:
        import_declarations(ledger, CSV, NEW_START / "mapping.yaml", keys)


def test_two_services_on_one_ledger_give_every_index_once(location: str) -> None:
    a, b = Service(location), Service(location)
    try:
        load = Submitters([a.url, b.url], first=0, threads=8)
        time.sleep(3)
        load.stop()
    finally:
        a.stop()
        b.stop()
    assert load.duplicates == []
    assert len(load.acked) > 50
    size = _check(location, load.acked)
    # Nothing but what was acknowledged (and the 26 aggregates) was admitted: a request is
    # answered only after its commit, and every request here was answered.
    assert sorted(load.acked) == list(range(26, size))


def test_sigkill_under_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    location = str(make_ledger(tmp_path / "ledger"))
    acked: dict[int, str] = {}
    rng = random.Random(20180612)
    first = 0
    for _ in range(20):
        service = Service(location)
        load = Submitters([service.url], first=first, threads=6)
        time.sleep(rng.uniform(0.3, 1.0))
        service.kill()  # SIGKILL: no shutdown, no flush
        load.stop()
        assert load.duplicates == []
        assert not set(load.acked) & set(acked)
        acked.update(load.acked)
        first += 10_000_000
        size = _check(location, acked)
        assert size >= 26 + len(acked)
    assert len(acked) > 100
