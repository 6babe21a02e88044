"""``cvid key/evidence/ledger/submit/import``: the whole path from a key to a listed record."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cvid.cli.main import app
from cvid.evidence import Kind, Ledger, record_schema, verify_record
from cvid.store.log import Log
from cvid.tlog.receipt import Receipt, verify_receipt
from kit import NEW_START_CSV, cvid, ok

ROOT = Path(__file__).resolve().parents[2]
MAPPING = ROOT / "tests" / "evidence" / "data" / "new-start-mapping.yaml"
Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run() -> Run:
    """Run ``cvid ARGS...``; return exit code, standard output and standard error."""
    runner = CliRunner()

    def invoke(*args: str | Path) -> tuple[int, str, str]:
        result = runner.invoke(app, [str(a) for a in args])
        return result.exit_code, result.stdout, result.stderr

    return invoke


@pytest.fixture
def setup(run: Run, tmp_path: Path) -> dict[str, Path]:
    """Keys for US (declarations, statements) and RU, a New START package and its ledger."""
    paths = {"us": tmp_path / "us.key", "ru": tmp_path / "ru.key"}
    vkeys = {}
    for name, path in paths.items():
        code, out, _ = run("key", "new", f"{name}-decl", "--out", path)
        assert code == 0
        vkeys[name] = out.strip()
    package = tmp_path / "new-start"
    package.mkdir()
    doc = {
        "id": "new-start",
        "title": "New START",
        "parties": [
            {"id": "US", "name": "United States", "roles": ["inspected_party", "inspectorate"]},
            {"id": "RU", "name": "Russian Federation", "roles": ["inspected_party"]},
        ],
        "keys": [
            {"party": "US", "vkey": vkeys["us"], "kinds": ["declaration", "statement"]},
            {"party": "RU", "vkey": vkeys["ru"], "kinds": ["declaration"]},
        ],
        "terms": [{"id": "warheads", "limit": 1550}],
    }
    (package / "agreement.yaml").write_text(yaml.safe_dump(doc))
    ledger = tmp_path / "ledger"
    code, out, err = run("ledger", "init", ledger, "--agreement", package, "--json")
    assert code == 0, err
    assert json.loads(out)["agreement"] == "new-start"
    return {**paths, "package": package, "ledger": ledger, "tmp": tmp_path}


def log_state(ledger: Path) -> tuple[int, bytes]:
    with Log.open(ledger) as log:
        return log.size, log.root()


def test_key_new_writes_a_private_key_once(run: Run, tmp_path: Path) -> None:
    key = tmp_path / "k.key"
    code, out, _ = run("key", "new", "alice", "--out", key)
    assert code == 0 and out.startswith("alice+")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().startswith("PRIVATE+KEY+alice+")
    before = key.read_bytes()
    code, _, err = run("key", "new", "alice", "--out", key)
    assert code == 2 and "refusing to overwrite" in err
    assert key.read_bytes() == before


def test_schema_command_prints_the_published_schema(run: Run) -> None:
    code, out, _ = run("evidence", "schema")
    assert code == 0
    assert json.loads(out) == record_schema()
    assert out == (ROOT / "docs" / "evidence.schema.json").read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", list(Kind))
def test_every_template_signs_into_a_valid_record(run: Run, tmp_path: Path, kind: Kind) -> None:
    code, out, _ = run("evidence", "template", kind.value)
    assert code == 0
    draft = tmp_path / "draft.json"
    draft.write_text(out)
    key = tmp_path / "k.key"
    run("key", "new", "k", "--out", key)
    code, signed, err = run("evidence", "sign", draft, "--key", key)
    assert code == 0, err
    assert verify_record(json.loads(signed)).kind is kind


def test_sign_refuses_another_signer(run: Run, setup: dict[str, Path]) -> None:
    code, out, _ = run("evidence", "template", "declaration")
    draft = setup["tmp"] / "d.json"
    draft.write_text(out)
    code, signed, _ = run("evidence", "sign", draft, "--key", setup["us"])
    draft.write_text(signed)
    code, _, err = run("evidence", "sign", draft, "--key", setup["ru"])
    assert code == 2 and "not this key" in err


def sign(run: Run, path: Path, key: Path, **fields: object) -> dict[str, object]:
    code, out, _ = run("evidence", "template", "declaration")
    obj = json.loads(out) | {k: v for k, v in fields.items()}
    path.write_text(json.dumps(obj))
    code, signed, err = run("evidence", "sign", path, "--key", key)
    assert code == 0, err
    result: dict[str, object] = json.loads(signed)
    path.write_text(signed)
    return result


def test_submit_list_show_with_receipts(run: Run, setup: dict[str, Path]) -> None:
    tmp, ledger = setup["tmp"], setup["ledger"]
    first = sign(run, tmp / "a.json", setup["us"], summary="first")
    code, out, err = run("submit", ledger, tmp / "a.json", "--receipts", tmp / "receipts")
    assert code == 0, err
    assert "admitted record 0" in out
    receipt = Receipt.parse((tmp / "receipts" / "0.tlog-proof").read_bytes())
    with Log.open(ledger) as log:
        entry = log.read_entries(0, 1)[0]
        assert verify_receipt(receipt, entry, log.verifier).size == 1
    assert json.loads(entry)["signature"] == first["signature"]

    sign(run, tmp / "b.json", setup["us"], summary="corrected", supersedes=0)
    sign(run, tmp / "c.json", setup["ru"], submitter="RU", party="RU", summary="russia")
    code, out, err = run("submit", ledger, tmp / "b.json", tmp / "c.json", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["indexes"] == [1, 2] and doc["size"] == 3
    assert Receipt.parse(doc["receipts"]["2"].encode()).index == 2

    code, out, _ = run("evidence", "list", ledger, "--json")
    listed = json.loads(out)
    assert [(r["index"], r["status"], r["superseded_by"]) for r in listed] == [
        (0, "superseded", 1),
        (1, "current", None),
        (2, "current", None),
    ]
    code, out, _ = run("evidence", "list", ledger)
    assert code == 0 and "superseded by 1" in out
    code, out, _ = run("evidence", "list", ledger, "--party", "RU", "--json")
    assert [r["index"] for r in json.loads(out)] == [2]
    code, out, _ = run("evidence", "show", ledger, "0", "--json")
    shown = json.loads(out)
    assert shown["superseded_by"] == 1 and shown["record"] == first
    code, out, _ = run("evidence", "show", ledger, "1")
    assert code == 0 and "supersedes" in out and "corrected" in out
    code, _, err = run("evidence", "show", ledger, "9")
    assert code == 2 and "no record 9" in err


def test_a_refused_batch_writes_nothing(run: Run, setup: dict[str, Path]) -> None:
    tmp, ledger = setup["tmp"], setup["ledger"]
    good = sign(run, tmp / "a.json", setup["us"], summary="good")
    bad = sign(run, tmp / "b.json", setup["us"], summary="bad")
    bad["summary"] = "changed after signing"
    lines = tmp / "batch.jsonl"
    lines.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    before = log_state(ledger)
    code, out, err = run("submit", ledger, lines)
    assert code == 2 and out == ""
    message = " ".join(err.split())
    assert "record 2 of 2" in message and "batch.jsonl line 2" in message
    assert "signature: does not verify" in message and "nothing was written" in message
    assert "Traceback" not in err
    assert log_state(ledger) == before


def test_unknown_ledger_and_bad_json(run: Run, setup: dict[str, Path]) -> None:
    code, _, err = run("evidence", "list", setup["tmp"] / "none")
    assert code == 2 and "no ledger here" in err
    junk = setup["tmp"] / "junk.json"
    junk.write_text('{"agreement": ')
    code, _, err = run("submit", setup["ledger"], junk)
    assert code == 2 and "json: not valid JSON" in " ".join(err.split())


def test_import_new_start_aggregates(run: Run, setup: dict[str, Path]) -> None:
    code, out, err = run(
        "import",
        "csv",
        setup["ledger"],
        NEW_START_CSV,
        "--mapping",
        MAPPING,
        "--key",
        setup["us"],
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["rows"] == 26 and doc["skipped"] == 0 and doc["indexes"] == list(range(26))
    with Ledger.open(setup["ledger"]) as ledger:
        records = [r.record for r in ledger.records()]
    assert len(records) == 26
    ru = [
        r for r in records if r.party == "RU" and r.observed_at.date().isoformat() == "2017-09-01"
    ]
    assert len(ru) == 1
    warheads = ru[0].values["deployed_warheads"]
    assert not isinstance(warheads, str | bool)
    assert (warheads.value, warheads.unit) == (1561, "warhead")
    assert ru[0].submitter == "US" and ru[0].source is not None
    assert ru[0].source.title.startswith("ExchangeMonitor")
    partial = [r for r in records if r.observed_at.date().isoformat() == "2012-09-01"]
    assert [sorted(r.values) for r in partial] == [["deployed_warheads"]] * 2
    code, out, _ = run(
        "evidence",
        "list",
        setup["ledger"],
        "--party",
        "RU",
        "--since",
        "2017-09-01",
        "--until",
        "2017-09-01",
        "--json",
    )
    assert [r["values"]["deployed_warheads"]["value"] for r in json.loads(out)] == [1561]


def test_import_is_all_or_nothing(run: Run, setup: dict[str, Path]) -> None:
    rows = NEW_START_CSV.read_text().splitlines()
    table = setup["tmp"] / "with-bad-row.csv"
    table.write_text("\n".join([*rows, rows[-1].replace(",RU,", ",UK,")]) + "\n")
    before = log_state(setup["ledger"])
    code, _, err = run(
        "import", "csv", setup["ledger"], table, "--mapping", MAPPING, "--key", setup["us"]
    )
    message = " ".join(err.split())
    assert code == 2 and "record 27 of 27" in message and "line 28" in message
    assert "party 'UK' is not in the agreement" in message
    assert log_state(setup["ledger"]) == before


def test_ledger_keys_and_signing_json_lines(run: Run, setup: dict[str, Path]) -> None:
    code, out, _ = run("ledger", "keys", setup["ledger"], "--json")
    keys = json.loads(out)
    assert code == 0 and [(k["party"], k["registered_at"]) for k in keys] == [
        ("US", None),
        ("RU", None),
    ]
    code, out, _ = run("ledger", "keys", setup["ledger"])
    assert "us-decl" in out and "the agreement package" in out
    _, draft, _ = run("evidence", "template", "declaration")
    one = json.loads(draft)
    lines = setup["tmp"] / "drafts.jsonl"
    lines.write_text(json.dumps(one) + "\n" + json.dumps(one | {"summary": "two"}) + "\n")
    code, out, err = run("evidence", "sign", lines, "--key", setup["us"])
    assert code == 0, err
    signed = [json.loads(line) for line in out.splitlines()]
    assert [verify_record(s).summary for s in signed][1] == "two"
    signed_file = setup["tmp"] / "signed.jsonl"
    signed_file.write_text(out)
    code, out, err = run("submit", setup["ledger"], signed_file, "--json")
    assert code == 0 and json.loads(out)["indexes"] == [0, 1]


def test_ledger_info_prints_the_keys_and_writes_the_package_copy(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    package = ROOT / "examples" / "new-start"
    made = json.loads(ok(cvid("ledger", "init", ledger, "--agreement", package, "--json")).stdout)
    out = tmp_path / "published"
    info = json.loads(ok(cvid("ledger", "info", ledger, "--package-out", out, "--json")).stdout)
    assert info["log_vkey"] == made["log_vkey"] and info["size"] == 0
    assert info["checkpoint"] is None
    assert (out / "agreement.yaml").read_bytes() == (package / "agreement.yaml").read_bytes()
    again = cvid("ledger", "info", ledger, "--package-out", out)
    assert again.exit_code == 2 and "needs a new directory" in again.output
