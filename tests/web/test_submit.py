"""``POST /v1/records``: admitted with receipts that verify, idempotent, and every refusal a
problem document with nothing written.

The ledger is New START's 26 aggregates (log 0..25); records to submit are US or RU
declarations signed by the example keys the package registers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from web_kit import TestClient, declaration, jsonl, signed

from cvid.evidence import canonical, sign_record
from cvid.sources import example_signer
from cvid.tlog.note import Signer, Verifier
from cvid.tlog.receipt import Receipt, verify_receipt

US_KEY = example_signer("new-start", "US")
JSON = {"content-type": "application/json"}
JSONL = {"content-type": "application/jsonl"}


def size(client: TestClient) -> int:
    """The served log's size (its latest checkpoint)."""
    return int(client.get("/v1/ledger").json()["size"])


def post_one(client: TestClient, record: dict[str, Any]) -> Any:
    """POST one record as application/json."""
    return client.post("/v1/records", content=json.dumps(record), headers=JSON)


def vkey(client: TestClient) -> Verifier:
    return Verifier.from_vkey(client.get("/v1/ledger").json()["log_vkey"])


def problem(resp: Any, status: int) -> dict[str, Any]:
    """The problem document of ``resp``, checked to be one with ``status``."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    doc: dict[str, Any] = resp.json()
    assert doc["status"] == status
    assert doc["type"].startswith("/v1/problems/") and doc["title"] and doc["detail"]
    assert "Traceback" not in resp.text
    return doc


def test_one_record_is_admitted_with_a_receipt_that_verifies(client: TestClient) -> None:
    record = signed(1)
    resp = client.post("/v1/records", content=json.dumps(record), headers=JSON)
    assert resp.status_code == 201, resp.text
    doc = resp.json()
    assert doc["indices"] == [26] and doc["size"] == 27
    assert doc["checkpoint"]["size"] == 27 and resp.headers["location"] == "/v1/records/26"
    cp = verify_receipt(
        Receipt.parse(doc["receipts"]["26"].encode()), canonical(record), vkey(client)
    )
    assert cp.size == 27 and size(client) == 27
    # The record reads back exactly as signed.
    shown = client.get("/v1/records/26").json()
    assert shown["record"] == record and shown["status"] == "current"


def test_a_batch_is_admitted_in_order_and_each_receipt_proves_its_own_record(
    client: TestClient,
) -> None:
    records = [signed(n) for n in range(1, 6)]
    resp = client.post("/v1/records", content=jsonl(records), headers=JSONL)
    assert resp.status_code == 201, resp.text
    doc = resp.json()
    assert doc["indices"] == [26, 27, 28, 29, 30]
    key = vkey(client)
    for i, record in zip(doc["indices"], records, strict=True):
        receipt = Receipt.parse(doc["receipts"][str(i)].encode())
        assert receipt.index == i
        verify_receipt(receipt, canonical(record), key)
    # A receipt does not prove another record.
    with pytest.raises(Exception, match="not proven"):
        verify_receipt(Receipt.parse(doc["receipts"]["26"].encode()), canonical(records[1]), key)


def test_x_ndjson_is_json_lines_too(client: TestClient) -> None:
    resp = client.post(
        "/v1/records",
        content=jsonl([signed(1), signed(2)]),
        headers={"content-type": "application/x-ndjson; charset=utf-8"},
    )
    assert resp.status_code == 201 and resp.json()["indices"] == [26, 27]


def test_the_same_records_again_answer_200_with_their_first_indices(client: TestClient) -> None:
    batch = jsonl([signed(1), signed(2)])
    first = client.post("/v1/records", content=batch, headers=JSONL)
    assert first.status_code == 201
    again = client.post("/v1/records", content=batch, headers=JSONL)
    assert again.status_code == 200, again.text
    assert again.json()["indices"] == first.json()["indices"] == [26, 27]
    verify_receipt(
        Receipt.parse(again.json()["receipts"]["27"].encode()), canonical(signed(2)), vkey(client)
    )
    one = client.post("/v1/records", content=json.dumps(signed(2)), headers=JSON)
    assert one.status_code == 200 and one.json()["indices"] == [27]
    assert size(client) == 28


def test_a_replay_that_is_not_a_resubmission_is_409_and_writes_nothing(
    client: TestClient,
) -> None:
    assert (
        client.post("/v1/records", content=json.dumps(signed(1)), headers=JSON).status_code == 201
    )
    # A new record beside an old one: the old one is a replay, the batch is refused whole.
    doc = problem(
        client.post("/v1/records", content=jsonl([signed(2), signed(1)]), headers=JSONL), 409
    )
    assert doc["check"] == "replay" and doc["record"] == "record 2 of 2 (line 2)"
    assert doc["position"] == 2 and doc["type"] == "/v1/problems/replay"
    # The same record twice in one batch is a replay of itself, not a resubmission.
    doc = problem(
        client.post("/v1/records", content=jsonl([signed(3), signed(3)]), headers=JSONL), 409
    )
    assert doc["check"] == "replay" and doc["position"] == 2
    assert size(client) == 27


def test_a_logged_record_with_another_signature_is_refused_not_taken_for_it(
    client: TestClient,
) -> None:
    assert (
        client.post("/v1/records", content=json.dumps(signed(1)), headers=JSON).status_code == 201
    )
    # The same content, but not the same signed bytes: not a resubmission of record 26.
    forged = {**signed(1), "signature": signed(2)["signature"]}
    doc = problem(client.post("/v1/records", content=json.dumps(forged), headers=JSON), 422)
    assert doc["check"] == "signature"
    assert size(client) == 27


@pytest.mark.parametrize(
    ("body", "check", "where"),
    [
        (b'{"agreement": ', "json", "request body"),
        (b"[1, 2]", "json", "record 1 of 1"),
        (b"{} {}", "json", "request body"),
        (b"   \n", "json", "request body"),
        (b"\xff\xfe{}", "json", "request body"),
        (b'{"a": 1, "a": 2}', "json", "request body"),
    ],
)
def test_malformed_json_is_400(client: TestClient, body: bytes, check: str, where: str) -> None:
    doc = problem(client.post("/v1/records", content=body, headers=JSON), 400)
    assert doc["check"] == check and doc["record"] == where
    assert doc["type"] == "/v1/problems/malformed"
    assert size(client) == 26


def test_a_malformed_json_line_is_400_naming_its_line_and_nothing_is_written(
    client: TestClient,
) -> None:
    body = jsonl([signed(1)]) + b'{"oops"\n' + jsonl([signed(2)])
    doc = problem(client.post("/v1/records", content=body, headers=JSONL), 400)
    assert doc["record"] == "record 2 of 3 (line 2)" and doc["check"] == "json"
    assert size(client) == 26


@pytest.mark.parametrize(
    ("make", "check"),
    [
        (lambda: {k: v for k, v in signed(1).items() if k != "subject"}, "schema"),
        (lambda: {**signed(1), "signature": signed(2)["signature"]}, "signature"),
        (lambda: sign_record(declaration(1), Signer.generate("stranger")), "key-unknown"),
        (lambda: sign_record(declaration(1, submitter="RU"), US_KEY), "key-party"),
        (lambda: signed(1, agreement="inf-treaty"), "agreement"),
        (lambda: signed(1, supersedes=99), "supersedes"),
        (lambda: signed(1, values={"w": {"value": 1, "unit": "warheadz"}}), "unit"),
    ],
)
def test_a_record_failing_an_admission_check_is_422_and_nothing_is_written(
    client: TestClient, make: Any, check: str
) -> None:
    batch = [signed(7), make(), signed(8)]
    doc = problem(client.post("/v1/records", content=jsonl(batch), headers=JSONL), 422)
    assert doc["check"] == check and doc["record"] == "record 2 of 3 (line 2)"
    assert doc["detail"].startswith(f"record 2 of 3 (line 2): {check}: ")
    assert doc["type"] == "/v1/problems/admission"
    assert size(client) == 26


def test_a_body_over_the_cap_is_413_whether_declared_or_streamed(client: TestClient) -> None:
    big = jsonl([signed(n) for n in range(200)])  # ~ 90 KB, over the fixture's 64 KiB
    assert len(big) > 64 * 1024
    doc = problem(client.post("/v1/records", content=big, headers=JSONL), 413)
    assert doc["limit"] == 64 * 1024 and doc["type"] == "/v1/problems/too-large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap holds while reading
        for i in range(0, len(big), 4096):
            yield big[i : i + 4096]

    problem(client.post("/v1/records", content=chunks(), headers=JSONL), 413)
    assert size(client) == 26


@pytest.mark.parametrize(
    "ctype", ["text/plain", "application/xml", "", "application/json; charset=latin-1"]
)
def test_another_content_type_is_415(client: TestClient, ctype: str) -> None:
    headers = {"content-type": ctype} if ctype else {}
    doc = problem(
        client.post("/v1/records", content=json.dumps(signed(1)).encode(), headers=headers), 415
    )
    assert doc["type"] == "/v1/problems/unsupported-media-type"
    assert size(client) == 26


def test_problem_types_resolve_to_a_description(client: TestClient) -> None:
    doc = problem(client.post("/v1/records", content=b"{", headers=JSON), 400)
    page = client.get(doc["type"])
    assert page.status_code == 200 and "Malformed" in page.text
    problem(client.get("/v1/problems/nonsense"), 404)


def test_text_from_records_is_data_in_every_answer(client: TestClient) -> None:
    hostile = '<script>alert("x")</script> & \u2028'
    record = signed(1, summary=hostile, observed_at="2018-02-01T00:00:00Z")
    assert client.post("/v1/records", content=json.dumps(record), headers=JSON).status_code == 201
    shown = client.get("/v1/records/26")
    assert shown.json()["record"]["summary"] == hostile
    assert shown.headers["x-content-type-options"] == "nosniff"
    page = client.get("/v1/report", params={"as_of": "2018-02-05"})
    assert page.status_code == 200
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]


def test_a_status_asked_again_after_a_submission_is_the_new_one(client: TestClient) -> None:
    params = {"as_of": "2018-10-01"}
    before = client.get("/v1/status", params=params).json()
    assert before == client.get("/v1/status", params=params).json()  # asked twice: the same
    over = signed(
        1,
        observed_at="2018-09-01T00:00:00Z",
        reported_at="2018-09-20T00:00:00Z",
        values={"deployed_warheads": {"value": 1600, "unit": "warhead"}},
    )
    assert post_one(client, over).status_code == 201
    after = client.get("/v1/status", params=params).json()
    assert (before["checkpoint"]["size"], after["checkpoint"]["size"]) == (26, 27)
    us = next(t for t in after["terms"] if (t["term"], t["party"]) == ("deployed-warheads", "US"))
    assert us["status"] == "violated" and us["evidence"] == [26]
    assert "violated" not in before["summary"]
