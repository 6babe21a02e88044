"""Every admission refusal: its own check and message, and the log left exactly as it was."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from evidence_kit import NOW, World

from cvid.errors import InputError
from cvid.evidence import Candidate, Ledger, RecordError, format_utc, sign_record


def refused(ledger: Ledger, batch: list[Any], check: str, *fragments: str) -> RecordError:
    """Submit ``batch``, expect refusal by ``check`` naming ``fragments``, log untouched."""
    size, root = ledger.log.size, ledger.log.root()
    records_before = ledger.size
    with pytest.raises(RecordError) as info:
        ledger.submit(batch)
    err = info.value
    assert err.check == check, err.diagnostics()
    for fragment in fragments:
        assert fragment in err.diagnostics(), err.diagnostics()
    assert isinstance(err, InputError) and err.exit_code == 2
    assert "\n" not in err.diagnostics()
    assert (ledger.log.size, ledger.log.root()) == (size, root)
    assert ledger.log.driver.size() == size
    assert ledger.size == records_before
    return err


def text(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj).encode()


def test_a_good_batch_is_admitted_in_order(world: World, ledger: Ledger) -> None:
    batch = [world.signed(), world.signed("ru-decl", submitter="RU", party="RU")]
    assert ledger.submit(batch) == [0, 1]
    assert ledger.log.size == 2
    assert [r.record.submitter for r in ledger.records()] == ["US", "RU"]


def test_malformed_json_names_file_and_line(world: World, ledger: Ledger, tmp_path: Path) -> None:
    good = json.dumps(world.signed())
    path = tmp_path / "batch.jsonl"
    path.write_text(good + "\n" + '{"agreement": "new-start",\n')
    err = refused(ledger, ledger_files(path), "json", "batch.jsonl line 2", "record 2 of 2")
    assert "not valid JSON" in err.detail


def ledger_files(*paths: Path) -> list[Candidate]:
    from cvid.evidence import read_files

    return read_files(list(paths))


def test_malformed_single_object_names_line_and_column(ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text('{\n  "agreement": "new-start",\n  "kind": declaration\n}\n')
    with pytest.raises(RecordError) as info:
        ledger_files(path)
    assert info.value.check == "json"
    assert "one.json" in info.value.where and "line 3 column 11" in info.value.detail


def test_duplicate_member_names_are_refused(world: World, ledger: Ledger) -> None:
    good = json.dumps(world.signed())
    dup = good[:-1] + ', "kind": "statement"}'
    refused(ledger, [Candidate("dup.json", text=dup.encode())], "json", "duplicate member", "kind")


def test_a_record_must_be_an_object(ledger: Ledger) -> None:
    refused(ledger, [Candidate("x", text=b"[1, 2]")], "json", "must be a JSON object")


def test_schema_errors_are_flattened_one_per_field(world: World, ledger: Ledger) -> None:
    bad = world.signed()
    del bad["subject"]
    bad["kind"] = "rumour"
    bad["values"] = {"w": {"value": 1, "unit": "warhead", "colour": "red"}}
    err = refused(ledger, [bad], "schema", "record 1 of 1")
    assert "subject: Field required" in err.detail
    assert "kind: Input should be" in err.detail
    assert "values.w.Quantity.colour: Extra inputs are not permitted" in err.detail


def test_key_fields_belong_to_key_records_only(world: World, ledger: Ledger) -> None:
    bad = world.forged("us-admin", kind="key_registration")
    refused(ledger, [bad], "schema", "key_registration record needs 'key'")


def test_unknown_units_are_refused(world: World, ledger: Ledger) -> None:
    bad = world.signed(values={"w": {"value": 1, "unit": "warheads"}})
    refused(ledger, [bad], "unit", "values.w", "unknown unit 'warheads'")


def test_unsigned_record_is_refused(world: World, ledger: Ledger) -> None:
    obj = world.signed()
    del obj["signature"]
    refused(ledger, [obj], "signature", "not signed")


def test_tampered_record_fails_its_signature(world: World, ledger: Ledger) -> None:
    obj = world.signed()
    obj["values"]["deployed_warheads"]["value"] = 1550
    refused(ledger, [world.signed(), obj], "signature", "record 2 of 2", "does not verify")


def test_signature_by_another_key_fails(world: World, ledger: Ledger) -> None:
    obj = world.signed()
    obj["signature"] = world.signed("ru-decl", submitter="RU")["signature"]
    refused(ledger, [obj], "signature", "does not verify with the signer's key 'us-decl'")


def test_malformed_signer_is_refused(world: World, ledger: Ledger) -> None:
    obj = world.signed()
    obj["signer"] = "us-decl+00000000+AAAA"
    refused(ledger, [obj], "signer", "Ed25519")


def test_oversized_record_is_refused(world: World, ledger: Ledger) -> None:
    values = {f"item_{i:05d}": {"value": i, "unit": "item"} for i in range(2500)}
    err = refused(ledger, [world.signed(values=values)], "size", "65,535-byte limit")
    assert "attachments" in err.detail


def test_other_agreement_is_refused(world: World, ledger: Ledger) -> None:
    refused(ledger, [world.signed(agreement="inf-treaty")], "agreement", "'inf-treaty'")


def test_unknown_party_is_refused(world: World, ledger: Ledger) -> None:
    refused(ledger, [world.signed(party="UK")], "party", "'UK' is not in the agreement")


def test_unknown_key_is_refused(world: World, ledger: Ledger) -> None:
    refused(ledger, [world.signed("stranger")], "key-unknown", "'stranger'", "not registered")


def test_revoked_key_is_refused(world: World, ledger: Ledger) -> None:
    revoke = world.signed(
        "us-admin", kind="key_revocation", revokes=world.keys["us-decl"].verifier.vkey, values={}
    )
    ledger.submit([revoke])
    refused(ledger, [world.signed()], "key-revoked", "'us-decl' was revoked by record 0")


def test_submitter_must_be_the_keys_party(world: World, ledger: Ledger) -> None:
    bad = world.signed("us-decl", submitter="RU")
    refused(ledger, [bad], "key-party", "submitter 'RU' is not the party of key 'us-decl'")


def test_key_must_be_allowed_the_kind(world: World, ledger: Ledger) -> None:
    bad = world.signed("us-decl", kind="notice")
    refused(ledger, [bad], "key-kind", "may sign declaration, statement, inspection_finding")


def test_only_key_managers_sign_key_records(world: World, ledger: Ledger) -> None:
    grant = {"vkey": world.keys["us-new"].verifier.vkey, "party": "US", "kinds": ["declaration"]}
    bad = world.signed("us-decl", kind="key_registration", key=grant, values={})
    refused(ledger, [bad], "key-kind", "may not manage keys")


def test_a_party_registers_keys_for_itself_only(world: World, ledger: Ledger) -> None:
    grant = {"vkey": world.keys["us-new"].verifier.vkey, "party": "RU", "kinds": ["declaration"]}
    bad = world.signed("us-admin", kind="key_registration", key=grant, values={})
    refused(ledger, [bad], "key-registration", "for itself only")


def test_a_key_is_registered_once(world: World, ledger: Ledger) -> None:
    grant = {"vkey": world.keys["us-decl"].verifier.vkey, "party": "US", "kinds": ["notice"]}
    bad = world.signed("us-admin", kind="key_registration", key=grant, values={})
    refused(ledger, [bad], "key-registration", "already registered (by the agreement package)")


def test_a_party_revokes_its_own_keys_only(world: World, ledger: Ledger) -> None:
    bad = world.signed(
        "us-admin", kind="key_revocation", revokes=world.keys["ru-decl"].verifier.vkey, values={}
    )
    refused(ledger, [bad], "key-revocation", "its own keys only", "belongs to RU")


def test_revoking_an_unknown_key_is_refused(world: World, ledger: Ledger) -> None:
    bad = world.signed(
        "us-admin", kind="key_revocation", revokes=world.keys["stranger"].verifier.vkey, values={}
    )
    refused(ledger, [bad], "key-revocation", "never registered")


def test_replay_of_a_logged_record_is_refused(world: World, ledger: Ledger) -> None:
    obj = world.signed()
    ledger.submit([obj])
    refused(ledger, [obj], "replay", "already in the ledger")


def test_replay_within_a_batch_is_refused(world: World, ledger: Ledger) -> None:
    obj = world.signed()
    refused(ledger, [obj, dict(obj)], "replay", "record 2 of 2", "already in this batch")


def test_replay_survives_reopening(world: World, ledger: Ledger) -> None:
    obj = world.signed()
    ledger.submit([obj])
    directory = ledger.where
    ledger.close()
    with Ledger.open(directory, clock=lambda: NOW) as again:
        refused(again, [obj], "replay", "already in the ledger")


def test_reported_at_in_the_future_is_refused(world: World, ledger: Ledger) -> None:
    soon = format_utc(NOW + timedelta(minutes=4))
    later = format_utc(NOW + timedelta(minutes=6))
    refused(ledger, [world.signed(reported_at=later)], "time", "in the future", "5 minutes")
    assert ledger.submit([world.signed(reported_at=soon)]) == [0]


def test_observed_after_reported_is_refused(world: World, ledger: Ledger) -> None:
    bad = world.signed(observed_at="2017-10-02T00:00:00Z")
    refused(ledger, [bad], "time", "observed_at 2017-10-02T00:00:00Z is after reported_at")


def test_timestamps_need_a_time_zone(world: World, ledger: Ledger) -> None:
    bad = world.forged(observed_at="2017-09-01T00:00:00")
    refused(ledger, [bad], "schema", "observed_at: must carry a time zone")


@pytest.mark.parametrize(
    ("link", "message"),
    [
        ("supersedes", "supersedes 5: no earlier record has that index"),
        ("disputes", "disputes 5: no earlier record has that index"),
    ],
)
def test_links_must_name_an_earlier_record(
    world: World, ledger: Ledger, link: str, message: str
) -> None:
    ledger.submit([world.signed()])
    bad = world.signed("ru-decl", submitter="RU", party="RU", **{link: 5})
    refused(ledger, [bad], link, message)


def test_a_record_cannot_link_to_itself(world: World, ledger: Ledger) -> None:
    refused(ledger, [world.signed(supersedes=0)], "supersedes", "(this is 0)")


def test_only_the_submitter_corrects_a_record(world: World, ledger: Ledger) -> None:
    ledger.submit([world.signed()])
    bad = world.signed("ru-decl", submitter="RU", supersedes=0)
    refused(ledger, [bad], "supersedes", "submitted by US", "may dispute it instead")


def test_a_correction_keeps_the_kind(world: World, ledger: Ledger) -> None:
    ledger.submit([world.signed()])
    refused(ledger, [world.signed(kind="statement", supersedes=0)], "supersedes", "declaration")


def test_a_record_is_superseded_once(world: World, ledger: Ledger) -> None:
    ledger.submit([world.signed()])
    ledger.submit([world.signed(summary="first correction", supersedes=0)])
    bad = world.signed(summary="second correction", supersedes=0)
    refused(ledger, [bad], "supersedes", "already superseded by record 1; supersede 1 instead")


def test_a_party_does_not_dispute_itself(world: World, ledger: Ledger) -> None:
    ledger.submit([world.signed()])
    refused(ledger, [world.signed(summary="no", disputes=0)], "disputes", "supersedes instead")


def test_key_records_cannot_be_corrected(world: World, ledger: Ledger) -> None:
    grant = {"vkey": world.keys["us-new"].verifier.vkey, "party": "US", "kinds": ["declaration"]}
    ledger.submit([world.signed("us-admin", kind="key_registration", key=grant, values={})])
    bad = world.signed("ru-decl", submitter="RU", disputes=0)
    refused(ledger, [bad], "disputes", "is a key record")


def test_a_batch_is_all_or_nothing(world: World, ledger: Ledger) -> None:
    ledger.submit([world.signed(summary="already there")])
    batch = [
        world.signed(),
        world.signed("ru-decl", submitter="RU", party="RU"),
        world.signed(summary="late", reported_at="2099-01-01T00:00:00Z"),
    ]
    refused(ledger, batch, "time", "record 3 of 3")
    assert [r.record.summary for r in ledger.records()] == ["already there"]
    assert ledger.submit(batch[:2]) == [1, 2]


def test_large_batches_are_checked_in_parallel_and_in_order(
    world: World, new_ledger: Callable[[], Ledger]
) -> None:
    ledger = new_ledger()
    assert ledger.workers >= 1
    batch = [world.signed(summary=f"n{i}") for i in range(400)]
    batch[300] = dict(batch[300], summary="tampered")
    batch[350] = world.signed(summary="n350", agreement="other")
    err = refused(ledger, batch, "signature", "record 301 of 400")
    assert err.where == "record 301 of 400"
    del batch[300]
    refused(ledger, batch, "agreement", "record 350 of 399")
    del batch[349]
    assert ledger.submit(batch) == list(range(398))


def test_signing_refuses_another_signer(world: World) -> None:
    obj = world.record(signer=world.keys["ru-decl"].verifier.vkey)
    with pytest.raises(InputError, match="not this key"):
        sign_record(obj, world.keys["us-decl"])


def test_submitting_restores_the_garbage_collector(world: World, ledger: Ledger) -> None:
    import gc

    assert gc.isenabled()
    ledger.submit([world.signed()])
    assert gc.isenabled()
    gc.disable()
    try:
        ledger.submit([world.signed(summary="second")])
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize(
    ("change", "check", "fragment"),
    [
        ({"value": "nan", "unit": "warhead"}, "schema", "values.deployed_warheads"),
        ({"value": " 1700 ", "unit": "warhead"}, "schema", "values.deployed_warheads"),
        ({"value": "1700", "unit": "warhead"}, "schema", "values.deployed_warheads"),
        ({"value": 1700, "unit": "warhead", "uncertainty": "0.5"}, "schema", "uncertainty"),
    ],
    ids=["nan-text", "padded-number-text", "number-text", "uncertainty-text"],
)
def test_text_is_never_read_as_a_number(
    world: World, ledger: Ledger, change: dict[str, Any], check: str, fragment: str
) -> None:
    values = {"deployed_warheads": change}
    refused(ledger, [world.forged(values=values)], check, fragment)


def test_a_bool_is_not_a_number(world: World, ledger: Ledger) -> None:
    values = {"deployed_warheads": {"value": True, "unit": "warhead"}}
    refused(ledger, [world.forged(values=values)], "schema", "values.deployed_warheads")
    refused(ledger, [world.forged(supersedes=True)], "schema", "supersedes")


@pytest.mark.parametrize("when", [1504224000, 1504224000.0, "1504224000", "2017-09-01"])
def test_a_time_is_rfc3339_text_only(world: World, ledger: Ledger, when: object) -> None:
    refused(ledger, [world.forged(observed_at=when)], "schema", "observed_at")


@pytest.mark.parametrize(
    "number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"], ids=lambda n: f"json-{n}"
)
def test_no_nan_or_infinity_in_any_spelling(world: World, ledger: Ledger, number: str) -> None:
    obj = world.signed()
    line = json.dumps(obj).replace('"value": 1393', f'"value": {number}').encode()
    assert number.encode() in line
    refused(ledger, [Candidate("batch.jsonl line 1", text=line)], "json", "batch.jsonl line 1")


def test_a_logged_entry_must_be_exactly_its_canonical_bytes(world: World) -> None:
    """The replay refuses an entry that is not JCS of its record (``canonical``), which the
    write path can never log: it logs the canonical bytes itself."""
    from cvid.evidence import load_parties
    from cvid.evidence.replay import replay

    signed = json.dumps(world.signed()).encode()  # spaces after ':' and ','
    out = replay(load_parties(world.package), [signed])
    assert [(f.index, f.check) for f in out.findings] == [(0, "canonical")]
    assert out.records == []


@pytest.mark.parametrize("where", ["first", "last"])
def test_a_logged_entry_with_a_repeated_member_name_is_refused(world: World, where: str) -> None:
    """A log entry is parsed keeping the last of repeated names (faster), so it is the
    canonical check that must refuse one: canonical bytes never repeat a name. Whichever copy
    is read, the entry is refused and nothing after it is lost."""
    from cvid.evidence import load_parties
    from cvid.evidence.replay import replay
    from cvid.evidence.signing import canonical

    entry = canonical(world.signed())
    name = b'"agreement":'
    assert entry.startswith(b"{" + name)
    value = entry[len(name) + 1 : entry.index(b",")]  # the record's own agreement id
    copy = name + value
    doubled = (
        b"{" + copy + b"," + entry[1:] if where == "first" else entry[:-1] + b"," + copy + b"}"
    )
    assert doubled.count(name) == 2
    out = replay(load_parties(world.package), [doubled, entry])
    assert [(f.index, f.check) for f in out.findings] == [(0, "canonical")]
    assert len(out.records) == 1
