"""``cvid status``, ``timeline``, ``agreement check|schema`` and ``verdict [verify]``, end to end.

The ledger holds the published New START aggregates, each row signed by its party's example key.
Exit codes are the contract: 0 fine, 1 a finding (a violation, a failed scenario, a verdict that
does not re-derive), 2 bad input (an invalid package).
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cvid.evidence import Ledger, sign_record
from cvid.sources import example_signer, import_declarations
from kit import cvid, ledger_vkey, ok

ROOT = Path(__file__).resolve().parents[2]
NEW_START = ROOT / "examples" / "new-start"
LATTICE = ROOT / "tests" / "agreements" / "packages" / "lattice"
CSV = NEW_START / "data" / "aggregates.csv"


def _ledger(directory: Path) -> Path:
    keys = {p: example_signer("new-start", p) for p in ("US", "RU")}
    # Historical records entered today: "as known then" follows their reported_at.
    with Ledger.create(directory, NEW_START, clock_mode="reported") as ledger:
        import_declarations(ledger, CSV, NEW_START / "mapping.yaml", keys)
    return directory


@pytest.fixture(scope="module")
def ledger_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger of the 26 published aggregates (log 0..25)."""
    return _ledger(tmp_path_factory.mktemp("cli") / "ledger")


def test_status_json_is_the_documented_document(ledger_dir: Path) -> None:
    doc = json.loads(ok(cvid("status", ledger_dir, "--as-of", "2017-09-01", "--json")).stdout)
    assert list(doc) == [
        "format",
        "agreement",
        "package_sha256",
        "checkpoint",
        "as_of",
        "view",
        "clock",
        "summary",
        "terms",
        "steps",
        "open_findings",
    ]
    assert doc["as_of"] == "2017-09-01T00:00:00Z" and doc["view"] == "now"
    assert doc["clock"] == "reported"
    assert doc["checkpoint"]["size"] == 26
    assert doc["checkpoint"]["origin"] == "cvid.ledger/new-start"
    ru = next(t for t in doc["terms"] if (t["term"], t["party"]) == ("deployed-warheads", "RU"))
    assert ru["status"] == "not_in_force" and ru["evidence"] == [23]
    assert "1,561" in ru["explanation"] and "binds from 2018-02-05" in ru["explanation"]
    assert {"term", "party", "status", "evidence", "explanation"} <= set(ru)


def test_status_as_known_then_and_in_words(ledger_dir: Path) -> None:
    doc = json.loads(
        ok(cvid("status", ledger_dir, "--as-of", "2018-02-05", "--view", "then", "--json")).stdout
    )
    assert {t["status"] for t in doc["terms"] if t["term"] == "deployed-warheads"} == {"unknown"}
    out = ok(cvid("status", ledger_dir, "--as-of", "2018-02-05")).stdout
    assert "met_claimed" in out and "within the 1,550 limit" in out


def test_status_exits_1_on_a_violation(tmp_path: Path) -> None:
    directory = _ledger(tmp_path / "ledger")
    over = {
        "agreement": "new-start",
        "kind": "declaration",
        "subject": "central-limits",
        "party": "US",
        "submitter": "US",
        "observed_at": "2018-09-01T00:00:00Z",
        "reported_at": "2018-09-20T00:00:00Z",
        "values": {"deployed_warheads": {"value": 1600, "unit": "warhead"}},
    }
    with Ledger.open(directory) as ledger:
        ledger.submit([sign_record(over, example_signer("new-start", "US"))])
    result = cvid("status", directory, "--as-of", "2018-10-01", "--json")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    us = next(t for t in doc["terms"] if (t["term"], t["party"]) == ("deployed-warheads", "US"))
    assert us["status"] == "violated" and us["evidence"] == [26]
    # As known then, before the US reported it on 20 September, there was no violation.
    assert ok(cvid("status", directory, "--as-of", "2018-09-15", "--view", "then", "--json"))


def test_timeline_json_lists_the_missed_exchanges(ledger_dir: Path) -> None:
    doc = json.loads(
        ok(
            cvid("timeline", ledger_dir, "--from", "2015-09-01", "--to", "2017-12-31", "--json")
        ).stdout
    )
    assert doc["format"] == "cvid-timeline/1" and doc["from"] == "2015-09-01T00:00:00Z"
    overdue = [c for c in doc["changes"] if c["id"] == "data-exchange" and c["to"] == "overdue"]
    assert [(c["at"][:10], c["party"]) for c in overdue] == [
        ("2016-04-01", "US"),
        ("2016-04-01", "RU"),
        ("2017-04-01", "US"),
        ("2017-04-01", "RU"),
    ]
    assert ok(cvid("timeline", ledger_dir)).stdout.count("overdue") >= 4


def test_agreement_check_exit_codes(tmp_path: Path) -> None:
    result = ok(cvid("agreement", "check", NEW_START, "--json"))
    summary = json.loads(result.stdout)
    assert summary["scenarios"] >= 8 and summary["failed"] == []
    failing = tmp_path / "failing"
    shutil.copytree(LATTICE, failing)
    path = failing / "scenarios" / "statuses.yaml"
    path.write_text(
        path.read_text().replace(
            "status: met_claimed, evidence: [0]}]", "status: met_verified, evidence: [0]}]", 1
        )
    )
    result = cvid("agreement", "check", failing)
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.stdout and "expected met_verified, got met_claimed" in result.stdout
    invalid = tmp_path / "invalid"
    shutil.copytree(LATTICE, invalid)
    text = (invalid / "agreement.yaml").read_text()
    text = text.replace('condition: "value"', 'condition: "valu"')
    (invalid / "agreement.yaml").write_text(text)
    result = cvid("agreement", "check", invalid)
    assert result.exit_code == 2
    assert "agreement.yaml:" in result.stderr and "term 'report' condition" in result.stderr
    assert "column 1" in result.stderr


def test_agreement_schema_is_the_published_one() -> None:
    printed = json.loads(ok(cvid("agreement", "schema")).stdout)
    assert printed == json.loads((ROOT / "docs" / "agreement.schema.json").read_text())


def test_verdict_is_byte_identical_and_verifies_from_the_ledger_and_tiles(
    ledger_dir: Path, tmp_path: Path
) -> None:
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    ok(cvid("verdict", ledger_dir, "--as-of", "2018-02-05", "--out", one))
    ok(cvid("verdict", "create", ledger_dir, "--as-of", "2018-02-05", "--out", two))
    assert one.read_bytes() == two.read_bytes()
    done = json.loads(ok(cvid("verdict", "verify", one, "--log", ledger_dir)).stdout)
    assert done["ok"] is True and done["checkpoint"]["size"] == 26
    tiles = tmp_path / "tiles"
    ok(cvid("log", "export", ledger_dir, tiles))
    vkey = ledger_vkey(ledger_dir)
    ok(cvid("verdict", "verify", one, "--log", tiles, "--vkey", vkey, "--package", NEW_START))


def test_verdict_verifies_from_tiles_served_over_http(ledger_dir: Path, tmp_path: Path) -> None:
    """The tiles URL form of --log: an export served by a plain static server on loopback."""
    verdict = tmp_path / "verdict.json"
    ok(cvid("verdict", ledger_dir, "--as-of", "2018-02-05", "--out", verdict))
    tiles = tmp_path / "tiles"
    ok(cvid("log", "export", ledger_dir, tiles))
    vkey = ledger_vkey(ledger_dir)
    handler = functools.partial(_QuietHandler, directory=str(tiles))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}"
            args = ("--log", url, "--vkey", vkey, "--package", NEW_START)
            done = cvid("verdict", "verify", verdict, *args)
            ok(done)
            assert json.loads(done.stdout)["ok"] is True
            (tiles / "tile" / "entries" / "000.p" / "26").unlink()
            missing = cvid("verdict", "verify", verdict, *args)
            assert missing.exit_code != 0 and "404" in missing.output, missing.output
        finally:
            server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_tampered_verdict_or_wrong_package_does_not_verify(
    ledger_dir: Path, tmp_path: Path
) -> None:
    good = tmp_path / "good.json"
    ok(cvid("verdict", ledger_dir, "--as-of", "2018-02-05", "--out", good))
    doc = json.loads(good.read_bytes())
    doc["terms"][0]["explanation"] = "edited"
    bad = tmp_path / "bad.json"
    bad.write_bytes(json.dumps(doc).encode())
    result = cvid("verdict", "verify", bad, "--log", ledger_dir)
    assert result.exit_code == 1 and "'terms' differs" in result.stderr
    result = cvid("verdict", "verify", good, "--log", ledger_dir, "--package", LATTICE)
    assert result.exit_code == 1 and "package SHA-256" in result.stderr
    doc = json.loads(good.read_bytes())
    doc["checkpoint"]["root"] = "A" * 43 + "="
    forged = tmp_path / "forged.json"
    forged.write_bytes(json.dumps(doc).encode())
    result = cvid("verdict", "verify", forged, "--log", ledger_dir)
    assert result.exit_code == 1 and "have root" in result.stderr


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("size", "26", "checkpoint.size must be a whole number"),
        ("size", -1, "checkpoint.size must be a whole number"),
        ("size", True, "checkpoint.size must be a whole number"),
        ("root", "not base64!", "checkpoint.root must be 32 bytes in base64"),
        ("origin", 7, "checkpoint.origin must be a non-empty text"),
        ("as_of", "yesterday", "as_of must be an RFC 3339 instant"),
        ("as_of", None, "as_of must be an RFC 3339 instant"),
        ("view", "sometimes", "view must be then or now"),
        ("package_sha256", "abc", "package_sha256 must be 64 lowercase hex digits"),
        ("terms", [1, 2], "terms must be a list of objects"),
        ("steps", None, "steps must be a list of objects"),
    ],
)
def test_a_malformed_verdict_is_bad_input_not_a_crash(
    ledger_dir: Path, tmp_path: Path, field: str, value: object, message: str
) -> None:
    good = tmp_path / "good.json"
    ok(cvid("verdict", ledger_dir, "--as-of", "2018-02-05", "--out", good))
    doc = json.loads(good.read_bytes())
    if field in ("size", "root", "origin"):
        doc["checkpoint"][field] = value
    else:
        doc[field] = value
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    result = cvid("verdict", "verify", bad, "--log", ledger_dir)
    assert result.exit_code == 2, result.output
    assert f"{bad}: not a valid verdict: {message}" in result.stderr


def test_an_invalid_scenario_file_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    for wrong, said in [
        ("status: met_claimed, evidence: [0]}]", "status: met_claimd, evidence: [0]}]"),
        ("status: met_claimed, evidence: [0]}]", "status: met_claimed, evidense: [0]}]"),
        ("{term: stock-limit, party: A,", "{term: stock-limt, party: A,"),
        ("observed_at: 2020-02-01,", 'observed_at: "2020-02-01T00:00:00",'),
    ]:
        copy = tmp_path / f"p{len(list(tmp_path.iterdir()))}"
        shutil.copytree(LATTICE, copy)
        path = copy / "scenarios" / "statuses.yaml"
        text = path.read_text()
        assert wrong in text
        path.write_text(text.replace(wrong, said, 1))
        result = cvid("agreement", "check", copy)
        assert result.exit_code == 2, (said, result.output)
        assert f"{path}:" in result.stderr and "Traceback" not in result.output


def test_agreement_check_piped_into_a_closed_reader_keeps_its_exit_status() -> None:
    exe = Path(sys.executable).parent / "cvid"
    for args in ([], ["--json"]):
        proc = subprocess.Popen(
            [str(exe), "agreement", "check", str(NEW_START), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # like `| head -0`: the reader is gone before anything is written
        err = proc.stderr.read()
        assert proc.wait(timeout=120) == 0, err
        assert err == b""
