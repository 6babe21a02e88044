"""Key rotation, corrections and disputes: the ledger's state is a function of its log."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from evidence_kit import NOW, World

from cvid.errors import InputError, StoreError
from cvid.evidence import Ledger, RecordError, package_sha256
from cvid.tlog.receipt import Receipt, verify_receipt
from kit import raw_sql


def rotate(world: World) -> list[dict[str, object]]:
    """us-admin registers us-new for declarations, then revokes us-decl."""
    new = world.keys["us-new"].verifier.vkey
    grant = {"vkey": new, "party": "US", "kinds": ["declaration"], "may_manage_keys": False}
    register = world.signed(
        "us-admin", kind="key_registration", key=grant, values={}, subject="keys"
    )
    revoke = world.signed(
        "us-admin",
        kind="key_revocation",
        revokes=world.keys["us-decl"].verifier.vkey,
        values={},
        subject="keys",
    )
    return [register, revoke]


def test_key_rotation(world: World, ledger: Ledger) -> None:
    before = world.signed(summary="signed before the rotation")
    assert ledger.submit([before]) == [0]
    assert ledger.submit(rotate(world)) == [1, 2]

    late = world.signed(summary="signed by the old key after its revocation")
    with pytest.raises(RecordError) as info:
        ledger.submit([late])
    assert info.value.check == "key-revoked"
    assert "revoked by record 2" in info.value.detail

    assert ledger.submit([world.signed("us-new", summary="signed by the new key")]) == [3]
    listed = ledger.records()
    assert listed[0].record.summary == "signed before the rotation"
    assert listed[0].superseded_by is None
    state = ledger.registry.get(world.keys["us-decl"].verifier.vkey)
    assert state is not None and state.revoked_at == 2 and state.registered_at is None
    new_state = ledger.registry.get(world.keys["us-new"].verifier.vkey)
    assert new_state is not None and new_state.registered_at == 1


def test_the_registry_is_rebuilt_from_the_log(world: World, ledger: Ledger) -> None:
    ledger.submit([world.signed(), *rotate(world)])
    directory = ledger.where
    ledger.close()
    with Ledger.open(directory, clock=lambda: NOW) as again:
        assert again.size == 3
        with pytest.raises(RecordError, match="revoked by record 2"):
            again.submit([world.signed(summary="late")])
        assert again.submit([world.signed("us-new", summary="new")]) == [3]


def test_a_key_registered_in_a_batch_signs_later_records_in_it(
    world: World, ledger: Ledger
) -> None:
    register, _ = rotate(world)
    with pytest.raises(RecordError) as info:
        ledger.submit([world.signed("us-new")])
    assert info.value.check == "key-unknown"
    assert ledger.submit([register, world.signed("us-new")]) == [0, 1]


def test_a_revoked_key_cannot_come_back(world: World, ledger: Ledger) -> None:
    ledger.submit(rotate(world))
    grant = {"vkey": world.keys["us-decl"].verifier.vkey, "party": "US", "kinds": ["notice"]}
    again = world.signed("us-admin", kind="key_registration", key=grant, values={}, summary="x")
    with pytest.raises(RecordError, match=r"already registered .* and revoked"):
        ledger.submit([again])


def test_revoking_twice_is_refused(world: World, ledger: Ledger) -> None:
    _, revoke = rotate(world)
    ledger.submit([revoke])
    twice = world.signed(
        "us-admin",
        kind="key_revocation",
        revokes=world.keys["us-decl"].verifier.vkey,
        values={},
        summary="again",
    )
    with pytest.raises(RecordError, match="already revoked by record 0"):
        ledger.submit([twice])


def test_corrections_are_new_records_and_both_are_listed(world: World, ledger: Ledger) -> None:
    wrong = world.signed(values={"deployed_warheads": {"value": 1339, "unit": "warhead"}})
    ledger.submit([wrong])
    fixed = world.signed(
        values={"deployed_warheads": {"value": 1393, "unit": "warhead"}},
        summary="typo corrected",
        supersedes=0,
    )
    disputed = world.signed("ru-decl", submitter="RU", party="US", disputes=1, summary="no")
    assert ledger.submit([fixed, disputed]) == [1, 2]
    listed = ledger.records()
    assert [(r.index, r.superseded_by) for r in listed] == [(0, 1), (1, None), (2, None)]
    assert listed[1].disputed_by == (2,)
    assert listed[0].raw == wrong
    directory = ledger.where
    ledger.close()
    with Ledger.open(directory) as again:
        marks = [(r.index, r.superseded_by) for r in again.records()]
    assert marks == [(0, 1), (1, None), (2, None)]


def test_receipts_prove_inclusion(world: World, ledger: Ledger) -> None:
    [index] = ledger.submit([world.signed()])
    receipt = Receipt.parse(ledger.receipt(index).encode())
    entry = ledger.log.read_entries(index, index + 1)[0]
    checkpoint = verify_receipt(receipt, entry, ledger.log.verifier)
    assert checkpoint.size == 1
    assert json.loads(entry)["signature"] == ledger.record(0).raw["signature"]


@pytest.mark.sqlite_only
def test_the_ledger_keeps_a_copy_of_its_package(world: World, ledger: Ledger) -> None:
    meta = ledger.meta
    assert meta["package_sha256"] == package_sha256(world.package)
    assert meta["origin"] == "cvid.ledger/new-start" == ledger.log.origin
    assert ledger.package_files["agreement.yaml"] == (world.package / "agreement.yaml").read_bytes()
    # The copy is in the store, not beside it.
    names = {p.name for p in Path(ledger.where).iterdir()}
    assert "ledger.db" in names and all(n.startswith("ledger.db") for n in names), names


@pytest.mark.sqlite_only
def test_a_changed_package_copy_is_detected(ledger: Ledger) -> None:
    db = Path(ledger.where) / "ledger.db"
    where = ledger.where
    ledger.close()
    raw_sql(
        db,
        "DROP TRIGGER ledger_files_no_update",
        "UPDATE ledger_files SET data = x'69643a2074616d70657265640a' "
        "WHERE path = 'agreement.yaml'",
    )
    with pytest.raises(StoreError, match=r"not .* as recorded"):
        Ledger.open(where)


def test_ledgers_need_an_empty_directory(world: World, tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(InputError, match="not empty"):
        Ledger.create(tmp_path / "full", world.package)
    with pytest.raises(InputError, match="no ledger here"):
        Ledger.open(tmp_path / "nowhere")


def test_two_ledger_objects_see_each_others_appends(
    world: World, new_ledger: Callable[[], Ledger]
) -> None:
    first = new_ledger()
    with Ledger.open(first.where, clock=lambda: NOW) as second:
        first.submit([world.signed()])
        assert second.submit([world.signed(summary="second", supersedes=0)]) == [1]
        with pytest.raises(RecordError) as info:
            first.submit([world.signed(summary="third", supersedes=0)])
        assert "already superseded by record 1" in info.value.detail
