"""``cvid evidence list`` filters by speaker and shows speaker, quote and attachments; ``show``
shows attachments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from kit import cvid, ok

SHA = "ab" * 32


def record(n: int, speaker: str | None, quote: str | None, attach: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "v": 1,
        "agreement": "pact",
        "kind": "statement",
        "subject": "relief",
        "party": "A",
        "observed_at": f"2020-01-0{n}T00:00:00Z",
        "reported_at": f"2020-01-0{n}T00:00:00Z",
        "submitter": "A",
    }
    if speaker or quote:
        doc["source"] = {"title": f"Briefing {n}", "speaker": speaker, "quote": quote}
        doc["source"] = {k: v for k, v in doc["source"].items() if v is not None}
    if attach:
        doc["attachments"] = [
            {
                "sha256": SHA,
                "size": 12345,
                "name": "transcript.pdf",
                "media_type": "application/pdf",
            }
        ]
    return doc


def test_list_by_speaker_with_quote_and_attachments(tmp_path: Path) -> None:
    vkey = ok(cvid("key", "new", "a", "--out", tmp_path / "a.key")).stdout.strip()
    package = tmp_path / "pact"
    package.mkdir()
    doc = {
        "id": "pact",
        "title": "Pact",
        "parties": [{"id": "A", "name": "State A", "roles": ["inspected_party"]}],
        "keys": [{"party": "A", "vkey": vkey, "kinds": ["statement"]}],
    }
    (package / "agreement.yaml").write_text(yaml.safe_dump(doc))
    ledger = tmp_path / "ledger"
    ok(cvid("ledger", "init", ledger, "--agreement", package))
    lines = []
    for n, (speaker, quote, attach) in enumerate(
        [
            ("Secretary Pompeo", "Sanctions will remain [red]in place[/]", True),
            ("Chairman Kim", "We will dismantle the site", False),
            (None, None, False),
        ],
        1,
    ):
        (tmp_path / "r.json").write_text(json.dumps(record(n, speaker, quote, attach)))
        lines.append(ok(cvid("evidence", "sign", tmp_path / "r.json", "--key", tmp_path / "a.key")))
    (tmp_path / "batch.jsonl").write_text(
        "".join(json.dumps(json.loads(r.stdout)) + "\n" for r in lines)
    )
    ok(cvid("submit", ledger, tmp_path / "batch.jsonl"))

    rows = json.loads(ok(cvid("evidence", "list", ledger, "--json")).stdout)
    assert [(r["speaker"], r["quote"]) for r in rows] == [
        ("Secretary Pompeo", "Sanctions will remain [red]in place[/]"),
        ("Chairman Kim", "We will dismantle the site"),
        (None, None),
    ]
    assert rows[0]["attachments"] == [
        {"sha256": SHA, "size": 12345, "name": "transcript.pdf", "media_type": "application/pdf"}
    ]
    assert rows[1]["attachments"] == [] and rows[2]["attachments"] == []

    only = json.loads(
        ok(cvid("evidence", "list", ledger, "--speaker", "Chairman Kim", "--json")).stdout
    )
    assert [r["index"] for r in only] == [1]

    text = ok(cvid("evidence", "list", ledger)).stdout
    # The quote is data: its brackets are printed, never read as console markup.
    assert "Secretary Pompeo: \u201cSanctions will remain [red]in place[/]\u201d" in text
    assert "1 attachment" in text
    shown = ok(cvid("evidence", "show", ledger, "0")).stdout
    assert f"sha256:{SHA}  12,345 bytes  transcript.pdf, application/pdf" in shown
    assert "source.speaker Secretary Pompeo" in shown
    assert "attachments    [{" not in shown  # shown on lines of their own, not as a list
