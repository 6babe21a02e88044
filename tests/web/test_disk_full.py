"""``POST /v1/records`` when the store runs out of space (issue 12): a commit refused for lack
of space answers a 507 problem saying so and writes nothing; records that were committed are
answered 201 with their indices, whatever failed after the commit, never as refused.

The full disk is SQLite's own: ``PRAGMA max_page_count`` on the writer's connection makes the
database unable to grow, and SQLite then fails the write with SQLITE_FULL ("database or disk is
full"), as on a full filesystem. ``scripts/faults.sh`` runs the same answers on a real full
filesystem (its serve disk-full rounds, as root).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from web_kit import TestClient, jsonl, signed

import cvid.web.common
import cvid.web.records
from cvid.errors import StoreError
from cvid.web.service import Service

JSONL = {"content-type": "application/jsonl"}
FULL = "ledger.db: writing: the disk is full; the transaction was rolled back, nothing was written"


def service(client: TestClient) -> Service:
    svc: Service = client.app.state.service  # type: ignore[attr-defined]
    return svc


def size(client: TestClient) -> int:
    r = client.get("/v1/records", params={"limit": 1000})
    assert r.status_code == 200
    return len(r.json()["records"])


@contextmanager
def full_store(svc: Service) -> Iterator[None]:
    """The writer's database unable to grow by a page while inside."""
    driver = svc.writer.ledger.driver
    db: sqlite3.Connection = driver._db  # type: ignore[attr-defined]
    with driver._wlock:  # type: ignore[attr-defined]
        (pages,) = db.execute("PRAGMA page_count").fetchone()
        db.execute(f"PRAGMA max_page_count = {pages}")
    try:
        yield
    finally:
        with driver._wlock:  # type: ignore[attr-defined]
            db.execute("PRAGMA max_page_count = 4294967294")


def test_a_commit_refused_for_lack_of_space_is_507_and_writes_nothing(
    client: TestClient,
) -> None:
    batch = jsonl([signed(n) for n in range(120)])
    before = size(client)
    with full_store(service(client)):
        r = client.post("/v1/records", content=batch, headers=JSONL)
        assert r.status_code == 507, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["retry-after"] == "60"
        doc = r.json()
        assert doc["type"] == "/v1/problems/disk-full" and doc["status"] == 507
        assert "the disk is full" in doc["detail"] and "nothing was written" in doc["detail"]
        assert size(client) == before
    # Space again: the same batch is admitted whole, after the 26 records already there.
    r = client.post("/v1/records", content=batch, headers=JSONL)
    assert r.status_code == 201, r.text
    assert r.json()["indices"] == list(range(before, before + 120))
    assert size(client) == before + 120


def test_the_disk_full_problem_type_resolves_to_its_description(client: TestClient) -> None:
    r = client.get("/v1/problems/disk-full")
    assert r.status_code == 200
    assert "nothing was written" in r.text


def test_records_committed_whose_receipts_cannot_be_made_are_201_with_their_indices(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_receipts(*args: Any, **kwargs: Any) -> Any:
        raise StoreError(FULL.replace("writing", "reading"))

    before = size(client)
    with monkeypatch.context() as m:
        m.setattr(cvid.web.common, "receipts_for", no_receipts)  # the writer's
        m.setattr(cvid.web.records, "receipts_for", no_receipts)  # the handler's
        r = client.post("/v1/records", content=jsonl([signed(1), signed(2)]), headers=JSONL)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["indices"] == [before, before + 1]
    assert doc["receipts"] == {} and doc["checkpoint"] is None and doc["size"] is None
    assert doc["receipts_error"].startswith("the records are admitted, but their receipts")
    assert "the disk is full" in doc["receipts_error"]
    assert size(client) == before + 2
    # The receipts once the store can make them: by index, and by submitting the same again.
    shown = client.get(f"/v1/records/{before}")
    assert shown.status_code == 200 and shown.json()["receipt"]
    again = client.post("/v1/records", content=jsonl([signed(1), signed(2)]), headers=JSONL)
    assert again.status_code == 200
    assert again.json()["indices"] == [before, before + 1]
    assert set(again.json()["receipts"]) == {str(before), str(before + 1)}


def test_a_commit_that_failed_after_committing_is_answered_as_admitted(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = service(client).writer.ledger
    real = ledger.submit_many

    def commit_then_fail(batches: Any) -> Any:
        real(batches)
        raise StoreError(FULL)

    before = size(client)
    monkeypatch.setattr(ledger, "submit_many", commit_then_fail)
    r = client.post("/v1/records", content=jsonl([signed(5), signed(6)]), headers=JSONL)
    assert r.status_code == 201, r.text
    assert r.json()["indices"] == [before, before + 1]
    assert set(r.json()["receipts"]) == {str(before), str(before + 1)}
    assert size(client) == before + 2


def test_a_failed_commit_whose_batch_is_not_in_the_ledger_is_a_problem(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = service(client).writer.ledger

    def fail(batches: Any) -> Any:
        raise StoreError(FULL)

    before = size(client)
    monkeypatch.setattr(ledger, "submit_many", fail)
    r = client.post("/v1/records", content=jsonl([signed(7)]), headers=JSONL)
    assert r.status_code == 507 and r.json()["type"] == "/v1/problems/disk-full"
    assert size(client) == before


def test_postgresql_out_of_space_is_a_507_that_says_the_disk_is_full(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(batches: Any) -> Any:
        raise StoreError(
            'the ledger: writing: PostgreSQL error 53100: could not extend file "base/1/2": '
            "No space left on device"
        )

    monkeypatch.setattr(service(client).writer.ledger, "submit_many", fail)
    r = client.post("/v1/records", content=jsonl([signed(8)]), headers=JSONL)
    assert r.status_code == 507 and r.json()["type"] == "/v1/problems/disk-full"
    detail = r.json()["detail"]
    assert detail.startswith("the disk is full; the transaction was rolled back, nothing was")
    assert "PostgreSQL error 53100" in detail
