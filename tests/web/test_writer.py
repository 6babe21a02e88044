"""The writer thread: queued batches share one commit, each still all or nothing, and
nothing queued is dropped when it stops."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from web_kit import TestClient, signed

from cvid.errors import InputError, StoreError
from cvid.evidence import Candidate, Ledger, RecordError
from cvid.web import create_app
from cvid.web.writer import Busy, Writer


def batch(*records: dict[str, Any]) -> list[Candidate]:
    return [Candidate("", obj=r) for r in records]


class Gated:
    """``ledger.submit_many``, held at its first call until :attr:`gate` is set."""

    def __init__(self, ledger: Ledger) -> None:
        self.real = ledger.submit_many
        self.gate = threading.Event()
        self.calls: list[int] = []
        ledger.submit_many = self  # type: ignore[method-assign]

    def __call__(self, batches: Sequence[Sequence[Candidate]]) -> Any:
        self.calls.append(len(batches))
        if len(self.calls) == 1:
            assert self.gate.wait(10)
        return self.real(batches)

    def wait_for_first(self) -> None:
        deadline = time.monotonic() + 10
        while not self.calls:
            assert time.monotonic() < deadline
            time.sleep(0.005)


@pytest.fixture
def opened(ledger_dir: Path) -> Iterator[Ledger]:
    with Ledger.open(ledger_dir) as ledger:
        yield ledger


def test_batches_queued_during_a_commit_share_the_next_one(opened: Ledger) -> None:
    gated = Gated(opened)
    writer = Writer(opened)
    first = writer.submit(batch(signed(0)))
    gated.wait_for_first()
    good = [writer.submit(batch(signed(n), signed(100 + n))) for n in range(1, 6)]
    forged = writer.submit(batch({**signed(50), "signature": signed(51)["signature"]}))
    replay = writer.submit(batch(signed(1)))  # signed(1) is in a batch before it, same commit
    gated.gate.set()
    assert first.result(10) == [26]
    results = [f.result(10) for f in good]
    assert results == [[27 + 2 * k, 28 + 2 * k] for k in range(5)]
    assert isinstance(forged.result(10), RecordError) and forged.result().check == "signature"
    assert isinstance(replay.result(10), RecordError) and replay.result().check == "replay"
    assert gated.calls == [1, 7] and writer.commits == 2
    writer.close()
    assert opened.size == 37


def test_close_commits_what_is_queued(opened: Ledger) -> None:
    gated = Gated(opened)
    writer = Writer(opened)
    futures = [writer.submit(batch(signed(0)))]
    gated.wait_for_first()
    futures += [writer.submit(batch(signed(n))) for n in range(1, 4)]
    closer = threading.Thread(target=writer.close)
    closer.start()
    time.sleep(0.05)  # close waits for the queue, which waits for the gate
    assert closer.is_alive()
    with pytest.raises(Busy):
        writer.submit(batch(signed(9)))
    gated.gate.set()
    closer.join(10)
    assert [f.result(0) for f in futures] == [[26], [27], [28], [29]]


def test_a_full_queue_is_busy(opened: Ledger) -> None:
    gated = Gated(opened)
    writer = Writer(opened, max_pending=2)
    writer.submit(batch(signed(0)))
    gated.wait_for_first()
    writer.submit(batch(signed(1)))
    writer.submit(batch(signed(2)))
    with pytest.raises(Busy, match="waiting"):
        writer.submit(batch(signed(3)))
    gated.gate.set()
    writer.close()
    assert opened.size == 29


@pytest.mark.parametrize("error", [StoreError, InputError])
def test_a_failed_commit_fails_every_batch_in_it_with_a_503(
    ledger_dir: Path, error: type[Exception]
) -> None:
    with TestClient(create_app(ledger_dir)) as client:
        service = client.app.state.service  # type: ignore[attr-defined]

        def broken(_: object) -> Callable[..., Any]:
            # (a full disk is a 507: tests/web/test_disk_full.py)
            raise error(f"{ledger_dir}/ledger.db: writing: SQLite error: disk I/O error")

        service.ledger.submit_many = broken
        resp = client.post(
            "/v1/records",
            content=json.dumps(signed(1)),
            headers={"content-type": "application/json"},
        )
        assert resp.status_code == 503 and resp.headers["retry-after"] == "1"
        doc = resp.json()
        assert doc["type"] == "/v1/problems/unavailable" and "disk I/O error" in doc["detail"]
        # The server's paths stay on the server.
        assert str(ledger_dir) not in resp.text
        assert client.get("/v1/ledger").json()["size"] == 26


def test_a_commit_makes_its_records_receipts_at_once(opened: Ledger) -> None:
    from cvid.tlog.receipt import Receipt, verify_receipt

    writer = Writer(opened)
    indices = writer.submit(batch(signed(0), signed(1))).result(10)
    assert indices == [26, 27]
    made = writer.receipts(indices)
    assert made is not None
    cp, receipts = made
    assert cp.checkpoint.size == 28 and sorted(receipts) == ["26", "27"]
    for i in indices:
        entry = opened.log.read_entries(i, i + 1)[0]
        got = verify_receipt(Receipt.parse(receipts[str(i)].encode()), entry, opened.log.verifier)
        assert got.size == 28
    assert writer.receipts([26, 99]) is None  # not all at hand: the handler makes them
    writer.close()
