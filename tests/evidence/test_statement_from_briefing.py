"""A statement record made from the briefing the project started from, admitted and read back."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import yaml
from evidence_kit import NOW, fixed_key

from cvid.evidence import Kind, Ledger, sign_record
from cvid.tlog.receipt import Receipt, verify_receipt


@pytest.fixture(scope="module")
def briefing(shared_dir: Path) -> str:
    return (shared_dir / "origin" / "000_c0e8270ad46462a9.txt").read_text(encoding="utf-8")


def test_pompeos_assurances_statement(briefing: str, tmp_path: Path) -> None:
    key = fixed_key("us-state")
    package = tmp_path / "singapore-2018"
    package.mkdir()
    (package / "agreement.yaml").write_text(
        yaml.safe_dump(
            {
                "id": "singapore-2018",
                "title": "Joint Statement of President Trump and Chairman Kim, Singapore 2018",
                "parties": [
                    {"id": "US", "name": "United States", "roles": ["counterparty"]},
                    {"id": "KP", "name": "DPRK", "roles": ["inspected_party"]},
                ],
                "keys": [{"party": "US", "vkey": key.verifier.vkey, "kinds": ["statement"]}],
                "steps": [{"id": "assurances", "after": ["denuclearization"]}],
            }
        )
    )

    # Everything in the record comes from the report's own words.
    headline = briefing.splitlines()[0]
    speaker = re.search(r"Secretary of State (Mike Pompeo)", briefing)
    venue = re.search(r"held an extensive briefing in (\w+) on (Monday)", briefing)
    quote = re.search(r"“(We’re prepared to take security assurances[^”]*)”", briefing)
    assert speaker and venue and quote
    # The report says "on Monday"; origin/README.md dates it 11 June 2018, the eve of the summit.
    day = date(2018, 6, 11)
    assert day.strftime("%A") == venue.group(2)

    obj = {
        "agreement": "singapore-2018",
        "kind": "statement",
        "subject": "security-assurances",
        "party": "US",
        "observed_at": f"{day.isoformat()}T00:00:00Z",
        "reported_at": f"{day.isoformat()}T00:00:00Z",
        "summary": "The US offers North Korea security assurances in return for complete, "
        "verifiable and irreversible denuclearization.",
        "source": {
            "title": headline,
            "quote": quote.group(1),
            "speaker": speaker.group(1),
            "venue": venue.group(1),
            "published": day.isoformat(),
        },
        "submitter": "US",
    }
    signed = sign_record(obj, key)
    with Ledger.create(tmp_path / "ledger", package, clock=lambda: NOW) as ledger:
        [index] = ledger.submit([signed])
        receipt = ledger.receipt(index)
        entry = ledger.log.read_entries(index, index + 1)[0]
        assert verify_receipt(Receipt.parse(receipt.encode()), entry, ledger.log.verifier)

    with Ledger.open(tmp_path / "ledger") as ledger:
        back = ledger.record(index).record
    assert back.kind is Kind.STATEMENT
    assert back.source is not None
    assert back.source.speaker == "Mike Pompeo"
    assert back.source.venue == "Singapore"
    assert back.source.quote is not None and back.source.quote in briefing
    assert back.source.quote.startswith("We’re prepared to take security assurances")
    assert "different, unique" in back.source.quote
    assert back.observed_at.date() == date(2018, 6, 11)
    assert back.signer == key.verifier.vkey
