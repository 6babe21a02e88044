"""Verdicts rest only on admissible entries: ``verdict create`` and ``verdict verify``, over a
ledger or its public tiles, replay admission and fail (exit 1, naming the entry and check) on a
log holding an entry the ledger would have refused.

The ledger holds the published New START aggregates, each row signed by its party's example key.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from cvid.agreements.package import load_package
from cvid.agreements.verdict import make_verdict, verdict_bytes
from cvid.evidence import Ledger, sign_record
from cvid.evidence.signing import canonical
from cvid.sources import example_signer, from_tiles, import_declarations
from cvid.store.sqlbase import size_in
from cvid.tlog.checkpoint import Checkpoint
from cvid.tlog.note import Signer, Verifier
from kit import cvid, ledger_vkey, ok, raw_sql

ROOT = Path(__file__).resolve().parents[2]
NEW_START = ROOT / "examples" / "new-start"
CSV = NEW_START / "data" / "aggregates.csv"


def _ledger(directory: Path) -> Path:
    keys = {p: example_signer("new-start", p) for p in ("US", "RU")}
    with Ledger.create(directory, NEW_START, clock_mode="reported") as ledger:
        import_declarations(ledger, CSV, NEW_START / "mapping.yaml", keys)
    return directory


def test_a_rewritten_entry_fails_verdict_create_and_verify(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "ledger")
    verdict = tmp_path / "verdict.json"
    ok(cvid("verdict", "create", ledger, "--as-of", "2018-02-05", "--out", verdict))
    ok(cvid("verdict", "verify", verdict, "--log", ledger))
    ok(cvid("ledger", "verify", ledger))

    with Ledger.open(ledger, readonly=True) as opened:
        entry = opened.log.read_entries(3, 4)[0]
    obj = json.loads(entry)
    name, quantity = next((k, v) for k, v in obj["values"].items() if isinstance(v, dict))
    obj["values"][name] = {**quantity, "value": quantity["value"] + 100}
    forged = canonical(obj)  # still canonical, its signature no longer holds
    raw_sql(
        ledger / "ledger.db",
        "DROP TRIGGER entries_no_update",
        f"UPDATE entries SET data = X'{forged.hex()}' WHERE idx = 3",
    )
    created = cvid("verdict", "create", ledger, "--as-of", "2018-02-05", "--out", tmp_path / "v2")
    assert created.exit_code == 1
    assert "entry 3: signature" in created.output
    verified = cvid("verdict", "verify", verdict, "--log", ledger)
    assert verified.exit_code == 1
    assert "entry 3: signature" in verified.output
    checked = cvid("ledger", "verify", ledger, "--json")
    assert checked.exit_code == 1
    found = {(f["index"], f["check"]) for f in json.loads(checked.stdout)["findings"]}
    assert {(3, "signature"), (26, "checkpoint")} <= found


def test_tiles_holding_a_rogue_key_fail_verdict_verify(tmp_path: Path) -> None:
    """An operator appends a US key registration signed by RU and a declaration signed by that
    key, signs a checkpoint over them (it holds the log key) and publishes tiles and a verdict
    made the trusting way. Verifying the tiles with the package replays admission: exit 1."""
    ledger = _ledger(tmp_path / "ledger")
    rogue = Signer.generate("rogue")
    ru = example_signer("new-start", "RU")
    registration = sign_record(
        {
            "agreement": "new-start",
            "kind": "key_registration",
            "subject": "keys",
            "observed_at": "2018-01-01T00:00:00Z",
            "reported_at": "2018-01-01T00:00:00Z",
            "key": {"vkey": rogue.verifier.vkey, "party": "US", "kinds": ["declaration"]},
            "submitter": "RU",
        },
        ru,
    )
    with Ledger.open(ledger) as opened:
        size = opened.size
        template = json.loads(opened.log.read_entries(0, 1)[0])
        assert template["submitter"] == "US"
        template.pop("signature")
        template.pop("signer")
        template["summary"] = "signed by the rogue key"
        declaration = sign_record(template, rogue)
        with opened.driver.write() as tx:
            for k, obj in enumerate((registration, declaration)):
                tx.execute(
                    "INSERT INTO entries (idx, data) VALUES (?, ?)", (size + k, canonical(obj))
                )
            assert size_in(tx) == size + 2
        opened.log.reload()
        with opened.driver.write() as tx:
            cp = Checkpoint(opened.log.origin, size + 2, opened.log.root())
            opened._sign_in(tx, cp, int(datetime.now(UTC).timestamp()))
    tiles = tmp_path / "tiles"
    ok(cvid("log", "export", ledger, tiles))
    vkey = ledger_vkey(ledger)

    trusting = from_tiles(str(tiles), Verifier.from_vkey(vkey), size + 2)  # signatures only
    assert trusting.checkpoint is not None
    doc = make_verdict(
        load_package(NEW_START), trusting.records, "2018-02-05", "now", trusting.checkpoint
    )
    verdict = tmp_path / "verdict.json"
    verdict.write_bytes(verdict_bytes(doc))

    got = cvid("verdict", "verify", verdict, "--log", tiles, "--vkey", vkey, "--package", NEW_START)
    assert got.exit_code == 1
    assert f"entry {size}: key-registration" in got.output
    also = cvid("verdict", "verify", verdict, "--log", ledger)
    assert also.exit_code == 1 and f"entry {size}: key-registration" in also.output
    checked = cvid("ledger", "verify", ledger)
    assert checked.exit_code == 1
    assert f"entry {size}: key-registration" in checked.stdout
    assert f"entry {size + 1}: key-unknown" in checked.stdout
