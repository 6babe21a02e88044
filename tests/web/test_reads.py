"""The read routes answer with exactly the JSON the commands print for the same ledger.

``cvid status --json``, ``timeline --json``, ``evidence list --json``, ``evidence show
--json``, ``ledger keys --json`` and ``verdict create`` run in-process on the ledger directory
the service serves; the service's documents must be equal (the verdict: byte for byte).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from web_kit import TestClient, jsonl, signed

from cvid.tlog import merkle
from cvid.tlog.checkpoint import open_checkpoint
from cvid.tlog.note import Verifier
from cvid.tlog.receipt import Receipt, verify_receipt
from kit import cvid, ok


@pytest.fixture(scope="module")
def grown(read_dir: Path, reader: TestClient) -> Path:
    """The shared ledger with a few more records: a correction, a dispute, RU's figures."""
    batch = [
        signed(1, observed_at="2018-09-01T00:00:00Z", reported_at="2018-09-20T00:00:00Z"),
        signed(2, party="RU", observed_at="2018-09-01T00:00:00Z"),
        signed(3, supersedes=26, observed_at="2018-09-01T00:00:00Z"),
        signed(4, party="RU", kind="statement", disputes=26, subject="central-limits"),
    ]
    resp = reader.post(
        "/v1/records", content=jsonl(batch), headers={"content-type": "application/jsonl"}
    )
    assert resp.status_code == 201, resp.text
    return read_dir


def cli_json(*args: object) -> Any:
    return json.loads(ok(cvid(*args)).stdout)


def got(client: TestClient, path: str, **params: str) -> Any:
    resp = client.get(path, params=params)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.headers["cache-control"] == "no-cache"
    return resp.json()


@pytest.mark.parametrize(
    ("as_of", "view"),
    [("2018-02-05", "now"), ("2018-02-05", "then"), ("2019-01-01T12:00:00Z", "now")],
)
def test_status_is_the_commands_document(
    grown: Path, reader: TestClient, as_of: str, view: str
) -> None:
    served = got(reader, "/v1/status", as_of=as_of, view=view)
    assert served == cli_json("status", grown, "--as-of", as_of, "--view", view, "--json")
    assert served["checkpoint"]["size"] == 30


def test_timeline_is_the_commands_document(grown: Path, reader: TestClient) -> None:
    assert got(reader, "/v1/timeline") == cli_json("timeline", grown, "--json")
    bounded = got(reader, "/v1/timeline", **{"from": "2015-09-01", "to": "2017-12-31"})
    assert bounded == cli_json(
        "timeline", grown, "--from", "2015-09-01", "--to", "2017-12-31", "--json"
    )
    assert any(c["to"] == "overdue" for c in bounded["changes"])


def test_keys_and_a_record_are_the_commands_documents(grown: Path, reader: TestClient) -> None:
    assert got(reader, "/v1/keys") == cli_json("ledger", "keys", grown, "--json")
    shown = got(reader, "/v1/records/26")
    receipt = shown.pop("receipt")
    assert shown == cli_json("evidence", "show", grown, "26", "--json")
    assert shown["status"] == "superseded" and shown["superseded_by"] == 28
    assert shown["disputed_by"] == [29]
    entry = reader.get("/v1/log/tile/entries/000.p/30").content[2:]  # bundle's first entry
    key = Verifier.from_vkey(got(reader, "/v1/ledger")["log_vkey"])
    rec = Receipt.parse(receipt.encode())
    assert rec.index == 26
    with pytest.raises(Exception, match="not proven"):
        verify_receipt(rec, entry, key)  # entry 0 is not record 26


def test_the_verdict_is_byte_for_byte_the_one_the_command_writes(
    grown: Path, reader: TestClient, tmp_path: Path
) -> None:
    out = tmp_path / "verdict.json"
    ok(cvid("verdict", grown, "--as-of", "2018-02-05", "--view", "then", "--out", out))
    resp = reader.get("/v1/verdict", params={"as_of": "2018-02-05", "view": "then"})
    assert resp.status_code == 200 and resp.content == out.read_bytes()


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"party": "US"},
        {"party": "RU", "since": "2017-01-01"},
        {"kind": "statement"},
        {"submitter": "RU", "until": "2011-09-01"},
        {"until": "2011-09-01T00:00:00Z", "subject": "central-limits"},
        {"party": "nobody"},
    ],
)
def test_records_are_the_commands_listing_with_proofs(
    grown: Path, reader: TestClient, filters: dict[str, str]
) -> None:
    args = [x for k, v in filters.items() for x in (f"--{k}", v)]
    listed = cli_json("evidence", "list", grown, *args, "--json")
    page = got(reader, "/v1/records", **filters, limit="10000")
    assert page["next"] is None
    cp = open_checkpoint(
        page["signed_checkpoint"].encode(),
        Verifier.from_vkey(got(reader, "/v1/ledger")["log_vkey"]),
    ).checkpoint
    assert page["checkpoint"]["size"] == cp.size == 30
    rows = []
    for row in page["records"]:
        leaf = base64.b64decode(row.pop("leaf_hash"))
        proof = [base64.b64decode(h) for h in row.pop("inclusion_proof")]
        merkle.verify_inclusion(row["index"], cp.size, leaf, proof, cp.root)
        rows.append(row)
    assert rows == listed


def test_records_page_by_after_until_next_is_null(grown: Path, reader: TestClient) -> None:
    seen: list[dict[str, Any]] = []
    after: str | None = None
    pages = 0
    while True:
        params = {"limit": "7", **({"after": after} if after is not None else {})}
        page = got(reader, "/v1/records", **params)
        pages += 1
        assert len(page["records"]) <= 7
        seen.extend(page["records"])
        if page["next"] is None:
            break
        assert page["next"] == page["records"][-1]["index"]
        after = str(page["next"])
    assert [r["index"] for r in seen] == list(range(30)) and pages == 5
    party = got(reader, "/v1/records", party="RU", limit="3", after="5")
    assert [r["index"] for r in party["records"]] == [7, 9, 11]


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/v1/status", {}, "as_of"),
        ("/v1/status", {"as_of": "5 Feb"}, "as_of"),
        ("/v1/status", {"as_of": "2018-02-05T00:00:00"}, "as_of"),
        ("/v1/status", {"as_of": "2018-02-05", "view": "later"}, "view"),
        ("/v1/status", {"as_of": "2018-02-05", "asof": "x"}, "asof"),
        ("/v1/timeline", {"from": "yesterday"}, "from"),
        ("/v1/timeline", {"from": "2018-01-01", "to": "2017-01-01"}, None),
        ("/v1/verdict", {"as_of": ""}, "as_of"),
        ("/v1/report", {"as_of": "2018-02-30"}, "as_of"),
        ("/v1/records", {"limit": "0"}, "limit"),
        ("/v1/records", {"limit": "10001"}, "limit"),
        ("/v1/records", {"after": "-2"}, "after"),
        ("/v1/records", {"after": "one"}, "after"),
        ("/v1/records", {"kind": "rumour"}, "kind"),
        ("/v1/records", {"since": "2018-13-01"}, "since"),
        ("/v1/records/x", {}, "index"),
        ("/v1/records/-1", {}, "index"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(
    reader: TestClient, path: str, params: dict[str, str], name: str | None
) -> None:
    resp = reader.get(path, params=params)
    assert resp.status_code == 400, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    doc = resp.json()
    assert doc["status"] == 400 and doc["detail"]
    if name is not None:
        assert doc["parameter"] == name and doc["detail"].startswith(f"{name}: ")


def test_a_repeated_parameter_is_refused(reader: TestClient) -> None:
    resp = reader.get("/v1/status?as_of=2018-02-05&as_of=2019-01-01")
    assert resp.status_code == 400 and resp.json()["parameter"] == "as_of"


def test_what_is_not_there_is_a_404_problem(reader: TestClient) -> None:
    for path in ("/v1/records/100000", "/v1/nothing", "/v2/status"):
        resp = reader.get(path)
        assert resp.status_code == 404, path
        assert resp.headers["content-type"] == "application/problem+json"
    resp = reader.delete("/v1/records")
    assert resp.status_code == 405 and resp.json()["type"] == "/v1/problems/method-not-allowed"


def test_the_ledger_and_its_package_are_described(grown: Path, reader: TestClient) -> None:
    info = got(reader, "/v1/ledger")
    meta = cli_json("ledger", "keys", grown, "--json")  # the ledger opens: it is one
    assert meta and info["format"] == "cvid-ledger-info/1" and info["size"] == 30
    assert info["agreement"] == "new-start" and info["clock"] == "reported"
    assert "package_source" not in info and str(grown) not in json.dumps(info)
    files = got(reader, "/v1/package")["files"]
    assert "agreement.yaml" in files
    page = reader.get("/")
    assert page.status_code == 200 and "/v1/report?as_of=" in page.text


def test_the_report_is_the_html_report_of_the_served_ledger(reader: TestClient) -> None:
    page = reader.get("/v1/report", params={"as_of": "2018-02-05"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "New START" in page.text and "met_claimed" in page.text
    assert "<script" not in page.text.lower()
    assert "/v1/log" in page.text  # how to audit the served tiles


def test_an_instant_outside_the_accepted_years_is_a_400_not_a_413(reader: TestClient) -> None:
    """An out-of-range instant is a bad value (400), not a body over a size limit (413)."""
    for value in ("1800-01-01", "9999-12-31T23:59:59-23:59"):
        resp = reader.get(f"/v1/status?as_of={value}")
        assert resp.status_code == 400, (value, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
