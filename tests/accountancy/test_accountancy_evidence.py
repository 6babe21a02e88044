"""A balance area's results as evidence the agreements engine cites, end to end.

From the shipped examples (balances.csv: PU-PROC, Page's test alarms; balances.json: LEU-FAB,
no alarm) the CLI prints unsigned ``material_balance_report`` records; signed by the
inspectorate and admitted into a ledger, a prohibition of a Page alarm per balance area is
``violated`` for PU-PROC, citing its record, and ``met_verified`` for LEU-FAB.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from cvid.accountancy import MethodTable, evaluate_balance, parse_balances
from cvid.accountancy.evidence import balance_record, period_end
from cvid.agreements import evaluate, load_package, parse_as_of
from cvid.errors import InputError
from cvid.evidence import Ledger, sign_record
from cvid.evidence.record import Record
from cvid.evidence.units import parse_unit
from cvid.sources import from_ledger
from cvid.tlog.note import Signer
from kit import cvid

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "accountancy"
UTC = dt.UTC
REPORTED = "2025-01-15T00:00:00Z"
RECORD_ARGS = ("--record", "--agreement", "mba-demo", "--party", "A", "--submitter", "INSP")


def cli_records(name: str, *extra: str) -> list[dict[str, Any]]:
    result = cvid("accountancy", "balance", EXAMPLES / name, *RECORD_ARGS, *extra)
    assert result.exit_code == 0, result.output
    text = result.stdout.strip()
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines()]


def test_period_end() -> None:
    assert period_end("2024-12") == dt.datetime(2025, 1, 1, tzinfo=UTC)
    assert period_end("2024-02") == dt.datetime(2024, 3, 1, tzinfo=UTC)
    assert period_end("2024-Q4") == dt.datetime(2025, 1, 1, tzinfo=UTC)
    assert period_end("2024-q1") == dt.datetime(2024, 4, 1, tzinfo=UTC)
    assert period_end("2024-H1") == dt.datetime(2024, 7, 1, tzinfo=UTC)
    assert period_end("2024") == dt.datetime(2025, 1, 1, tzinfo=UTC)
    assert period_end("2024-06-30") == dt.datetime(2024, 7, 1, tzinfo=UTC)
    assert period_end("2024-06-30T12:00:00+02:00") == dt.datetime(2024, 6, 30, 10, tzinfo=UTC)
    for label in ("P1", "2024-13", "2024-Q5", "2024-H3", "2024-06-30T12:00:00", ""):
        assert period_end(label) is None, label


def test_record_from_evaluation_validates() -> None:
    text = (EXAMPLES / "balances.csv").read_text(encoding="utf-8")
    [area] = parse_balances(text, "balances.csv", MethodTable.default())
    ev = evaluate_balance(area, MethodTable.default())
    reported = dt.datetime(2025, 1, 15, tzinfo=UTC)
    obj = balance_record(ev, "mba-demo", "A", "INSP", reported, "PU-PROC balance")
    assert obj == balance_record(ev.summary(), "mba-demo", "A", "INSP", reported, "PU-PROC balance")
    assert "signer" not in obj and "signature" not in obj
    record = Record.model_validate({**obj, "signer": "placeholder"})
    assert record.kind.value == "material_balance_report"
    assert record.subject == "PU-PROC"
    assert record.observed_at == dt.datetime(2025, 1, 1, tzinfo=UTC)
    values = obj["values"]
    assert values["page_alarm"] is True
    assert values["page_alarm_periods"] == "2024-11,2024-12"
    assert values["closes"] is True and values["shewhart_alarm"] is True
    assert values["cumuf"]["value"] == pytest.approx(ev.summary()["muf_total_kg"])
    for name in ("cumuf", "sigma_cumuf"):
        parse_unit(values[name]["unit"])  # raises if the unit is unknown
    assert "alarms from 2024-11" in obj["summary"]


def test_record_needs_an_instant_without_dated_periods() -> None:
    summary = {**_summary("balances.json"), "periods": ["P1", "P2"]}
    reported = dt.datetime(2025, 1, 15, tzinfo=UTC)
    with pytest.raises(InputError, match="--observed-at"):
        balance_record(summary, "mba-demo", "A", "INSP", reported, "t")
    observed = dt.datetime(2024, 12, 31, tzinfo=UTC)
    obj = balance_record(summary, "mba-demo", "A", "INSP", reported, "t", observed_at=observed)
    assert obj["observed_at"] == "2024-12-31T00:00:00Z"
    with pytest.raises(InputError, match="not a valid evidence record"):
        balance_record(summary, "x" * 101, "A", "INSP", reported, "t", observed_at=observed)


def _summary(name: str) -> dict[str, Any]:
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    [area] = parse_balances(text, name, MethodTable.default())
    return evaluate_balance(area, MethodTable.default()).summary()


def test_cli_record_options() -> None:
    [obj] = cli_records("balances.json", "--reported-at", REPORTED, "--observed-at", "2024-12-31")
    assert obj["observed_at"] == "2024-12-31T00:00:00Z"
    assert obj["reported_at"] == REPORTED
    assert obj["values"]["page_alarm"] is False
    bad = [
        (("--record", "--agreement", "a", "--party", "A"), "--record needs --submitter"),
        ((*RECORD_ARGS, "--json"), "cannot be combined"),
        ((*RECORD_ARGS, "--reported-at", "2025-01-15T00:00:00"), "not a date or instant"),
        (("--party", "A"), "only with --record"),
    ]
    for args, message in bad:
        result = cvid("accountancy", "balance", EXAMPLES / "balances.json", *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)


def write_package(directory: Path, insp: Signer) -> Path:
    directory.mkdir()
    terms = [
        {
            "id": f"no-page-alarm-{area.lower()}",
            "kind": "prohibition",
            "title": f"No Page alarm at {area}",
            "clause": {"ref": "Article 1", "quote": "No balance area shall show a Page alarm."},
            "parties": ["A"],
            "evidence": {
                "quantity": "page_alarm",
                "kinds": ["material_balance_report"],
                "subject": area,
            },
            "verified_by": ["inspectorate"],
            "freshness_days": 400,
            "noun": f"Page alarm at {area}",
        }
        for area in ("PU-PROC", "LEU-FAB")
    ]
    agreement = {
        "format": "cvid-agreement/1",
        "id": "mba-demo",
        "title": "Material balance demo",
        "parties": [
            {"id": "A", "name": "Operator state", "roles": ["inspected_party"]},
            {"id": "INSP", "name": "Inspectorate", "roles": ["inspectorate"]},
        ],
        "keys": [
            {"party": "INSP", "vkey": insp.verifier.vkey, "kinds": ["material_balance_report"]}
        ],
        "terms": terms,
    }
    # JSON is YAML: no quoting questions for the vkey.
    (directory / "agreement.yaml").write_text(json.dumps(agreement, indent=2), encoding="utf-8")
    return directory


def test_records_admitted_and_cited_by_the_engine(tmp_path: Path) -> None:
    insp = Signer.generate("insp")
    package = write_package(tmp_path / "package", insp)
    alarming = cli_records("balances.csv", "--reported-at", REPORTED)
    clean = cli_records("balances.json", "--reported-at", REPORTED)
    signed = [sign_record(obj, insp) for obj in (*alarming, *clean)]
    with Ledger.create(tmp_path / "ledger", package, clock_mode="reported") as ledger:
        indices = ledger.submit(signed)
    assert indices == [0, 1]
    source = from_ledger(tmp_path / "ledger")
    ev = evaluate(load_package(package), source.records, parse_as_of("2025-02-01"), "now")
    got = {(t.term, t.party): t for t in ev.terms}
    pu = got[("no-page-alarm-pu-proc", "A")]
    leu = got[("no-page-alarm-leu-fab", "A")]
    assert pu.status.value == "violated", pu.explanation
    assert pu.evidence == (0,)
    assert leu.status.value == "met_verified", leu.explanation
    assert leu.evidence == (1,)
    assert ev.violated
    # Before the records were reported, known "then": nothing to judge yet.
    before = evaluate(load_package(package), source.records, parse_as_of("2025-01-10"), "then")
    assert {t.status.value for t in before.terms} == {"unknown"}
