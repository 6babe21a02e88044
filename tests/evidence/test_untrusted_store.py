"""An operator with write access to a ledger's store, but no party's key, cannot make evidence.

Each attack of issue 8 that admission replay answers: the entry is refused at the next write
(:class:`StoreError` naming its index and check), reported by ``cvid ledger verify``, and never
evidence to a verdict; reads that do not need it go on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from evidence_kit import NOW, World, fixed_key

from cvid.errors import StoreError, VerificationError
from cvid.evidence import Ledger, RecordError, load_parties, sign_record
from cvid.evidence.ledgerdb import RecordQuery, insert_rows, record_row, value_rows
from cvid.evidence.record import Record
from cvid.evidence.replay import Finding
from cvid.evidence.signing import canonical, signing_bytes
from cvid.evidence.verify import verify_ledger
from cvid.sources import from_ledger
from cvid.store.sqlbase import size_in
from cvid.tlog.note import Verifier, b64
from kit import cvid, raw_sql


def append_behind(
    ledger: Ledger, entry: bytes, *, forge_row: bool = False, row_of: dict[str, Any] | None = None
) -> int:
    """Append ``entry`` to the ledger's store as raw SQL would, bypassing admission; with
    ``forge_row`` also the index rows a ledger would have written for it (or, with ``row_of``,
    for that other record). Its index."""
    with ledger.driver.write() as tx:
        index = size_in(tx)
        tx.execute("INSERT INTO entries (idx, data) VALUES (?, ?)", (index, entry))
        if forge_row:
            obj = json.loads(entry)
            record = Record.model_validate(row_of or obj)
            digest = hashlib.sha256(signing_bytes(obj)).digest()
            insert_rows(tx, [record_row(index, digest, record)], value_rows(index, record))
    return index


def checks(findings: list[Finding]) -> list[tuple[int, str]]:
    return [(f.index, f.check) for f in findings]


def rogue_registration(world: World) -> dict[str, Any]:
    """A key registration for party US, signed by RU's key manager (RU holds no US authority)."""
    grant = {
        "vkey": fixed_key("rogue").verifier.vkey,
        "party": "US",
        "kinds": ["declaration"],
        "may_manage_keys": False,
    }
    return world.signed(
        "ru-decl", kind="key_registration", key=grant, values={}, subject="keys", submitter="RU"
    )


@pytest.mark.parametrize("forge_row", [False, True], ids=["bare-entry", "with-forged-index"])
def test_a_key_registered_behind_the_ledgers_back_signs_nothing(
    world: World, new_ledger: Callable[[], Ledger], forge_row: bool
) -> None:
    ledger = new_ledger()
    ledger.submit([world.signed()])
    at = append_behind(ledger, canonical(rogue_registration(world)), forge_row=forge_row)
    rogue_decl = sign_record(world.record(summary="signed by the rogue key"), fixed_key("rogue"))

    # Refused at submit: by the ledger that was open, and by one opened afresh.
    with pytest.raises(StoreError, match=rf"entry {at} was not admitted .*key-registration"):
        ledger.submit([rogue_decl])
    with Ledger.open(ledger.where, clock=lambda: NOW) as fresh:
        with pytest.raises(StoreError, match=rf"entry {at} .*key-registration"):
            fresh.submit([world.signed(summary="even a good record")])
        assert fresh.registry.get(fixed_key("rogue").verifier.vkey) is None
        assert fresh.record(0).record.submitter == "US"  # reads go on
    assert ledger.size == at + 1

    # Appended behind the ledger too, the rogue key's record is no evidence either.
    append_behind(ledger, canonical(rogue_decl), forge_row=forge_row)
    found = verify_ledger(ledger)
    assert (at, "key-registration") in checks(found.findings)
    assert (at + 1, "key-unknown") in checks(found.findings)
    assert found.admitted == 1
    # A verdict over those entries (as verdict verify reads a verdict's size) fails.
    with pytest.raises(VerificationError, match=rf"entry {at}: key-registration"):
        from_ledger(ledger.where, at + 2, verify=True)


def test_a_garbage_entry_stops_writes_not_reads(
    world: World, new_ledger: Callable[[], Ledger], tmp_path: Path
) -> None:
    ledger = new_ledger()
    ledger.submit([world.signed()])
    at = append_behind(ledger, b"\xff not an evidence record")
    with pytest.raises(StoreError, match=rf"entry {at} was not admitted .*: json: "):
        ledger.submit([world.signed(summary="later")])
    with Ledger.open(ledger.where, clock=lambda: NOW) as fresh:
        with pytest.raises(StoreError, match=rf"entry {at} .*json"):
            fresh.submit([world.signed(summary="later")])
        assert [r.index for r in fresh.query(RecordQuery(party="US"))] == [0]
    found = verify_ledger(ledger)
    assert (at, "json") in checks(found.findings)
    assert found.admitted == 1

    listed = cvid("evidence", "list", ledger.where, "--json")
    assert listed.exit_code == 0, listed.output
    assert [r["index"] for r in json.loads(listed.stdout)] == [0]
    verified = cvid("ledger", "verify", ledger.where)
    assert verified.exit_code == 1
    assert f"entry {at}: json:" in verified.stdout
    shown = cvid("evidence", "show", ledger.where, str(at))
    assert shown.exit_code == 2 and isinstance(shown.exception, SystemExit)


def test_an_entry_with_a_forged_index_row_is_refused(
    world: World, new_ledger: Callable[[], Ledger]
) -> None:
    """A well-signed record appended behind the ledger's back with an index row that lies."""
    ledger = new_ledger()
    ledger.submit([world.signed()])
    good = world.signed(summary="well signed, never admitted")
    lie = world.signed(summary="well signed, never admitted", subject="elsewhere")
    at = append_behind(ledger, canonical(good), forge_row=True, row_of=lie)
    with pytest.raises(StoreError, match=rf"entry {at} .*index: .*column subject"):
        ledger.submit([world.signed(summary="later")])
    assert (at, "index") in checks(verify_ledger(ledger).findings)


def spellings(vkey: str) -> dict[str, str]:
    """The same public key as vkey text, spelled otherwise."""
    name, hexid, key = vkey.split("+", 2)
    public = Verifier.from_vkey(vkey).public_key
    return {
        "upper-case key ID": f"{name}+{hexid.upper()}+{key}",
        "another name": Verifier("us-decl-again", public).vkey,
        "blanks around it": f" {vkey} ",
    }


@pytest.mark.parametrize("spelling", ["upper-case key ID", "another name", "blanks around it"])
def test_a_revoked_key_never_comes_back_under_another_spelling(
    world: World, ledger: Ledger, spelling: str
) -> None:
    vkey = world.keys["us-decl"].verifier.vkey
    other = spellings(vkey)[spelling]
    assert other != vkey
    assert Verifier.from_vkey(other).public_key == world.keys["us-decl"].verifier.public_key
    revoke = world.signed("us-admin", kind="key_revocation", revokes=other, values={}, subject="k")
    assert ledger.submit([revoke]) == [0]  # revoked by any spelling
    state = ledger.registry.get(vkey)
    assert state is not None and state.revoked_at == 0

    grant = {"vkey": other, "party": "US", "kinds": ["declaration"]}
    again = world.signed("us-admin", kind="key_registration", key=grant, values={}, subject="k")
    with pytest.raises(RecordError) as info:
        ledger.submit([again])
    assert info.value.check == "key-registration"
    assert "already registered" in info.value.detail and "revoked" in info.value.detail

    # Signing under that spelling is still signing with the revoked key.
    obj = world.record(signer=other, summary="the old key, spelled anew")
    obj["signature"] = b64(world.keys["us-decl"].sign(signing_bytes(obj)))
    with pytest.raises(RecordError) as info:
        ledger.submit([obj])
    assert info.value.check == "key-revoked"


def test_a_key_is_registered_once_whatever_its_spelling(world: World, ledger: Ledger) -> None:
    for n, other in enumerate(spellings(world.keys["us-decl"].verifier.vkey).values()):
        grant = {"vkey": other, "party": "US", "kinds": ["notice"]}
        again = world.signed(
            "us-admin", kind="key_registration", key=grant, values={}, subject=f"k{n}"
        )
        with pytest.raises(RecordError) as info:
            ledger.submit([again])
        assert info.value.check == "key-registration"
        assert "already registered (by the agreement package)" in info.value.detail


@pytest.mark.sqlite_only
def test_an_entry_rewritten_in_place_is_caught(
    world: World, new_ledger: Callable[[], Ledger]
) -> None:
    ledger = new_ledger()
    ledger.submit([world.signed(), world.signed(summary="to be rewritten")])
    entry = ledger.log.read_entries(1, 2)[0]
    forged = entry.replace(b'"value":1393', b'"value":1600')
    assert forged != entry
    raw_sql(
        Path(ledger.where) / "ledger.db",
        "DROP TRIGGER entries_no_update",
        f"UPDATE entries SET data = X'{forged.hex()}' WHERE idx = 1",
    )
    found = verify_ledger(ledger)
    assert (1, "signature") in checks(found.findings)
    assert (2, "checkpoint") in checks(found.findings)  # the root of size 2 no longer holds
    assert (1, "index") in checks(found.findings)  # its row describes no admissible entry
    with pytest.raises(VerificationError, match=r"entry 1: signature"):
        from_ledger(ledger.where, verify=True)


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ("strip-clock", (1, "clock")),
        ("delete-last-checkpoint", (1, "checkpoint")),
        ("delete-every-checkpoint", (0, "checkpoint")),
        ("roll-back", (1, "index")),
    ],
)
def test_checkpoint_tampering_is_reported(
    world: World, new_ledger: Callable[[], Ledger], tamper: str, expected: tuple[int, str]
) -> None:
    ledger = new_ledger()
    ledger.submit([world.signed()])
    ledger.submit([world.signed(summary="second commit")])
    db = Path(ledger.where) / "ledger.db"
    assert verify_ledger(ledger).ok
    if tamper == "strip-clock":
        [(note,)] = _rows(db, "SELECT note FROM checkpoints WHERE size = 1")
        stripped = b"\n".join(line for line in note.split(b"\n") if b"/clock " not in line)
        raw_sql(
            db,
            "DROP TRIGGER checkpoints_no_update",
            f"UPDATE checkpoints SET note = X'{stripped.hex()}' WHERE size = 1",
        )
    elif tamper == "delete-last-checkpoint":
        raw_sql(db, "DROP TRIGGER checkpoints_no_delete", "DELETE FROM checkpoints WHERE size = 2")
    elif tamper == "delete-every-checkpoint":
        raw_sql(
            db,
            "DROP TRIGGER checkpoints_no_delete",
            "DROP TRIGGER checkpoint_times_no_delete",
            "DELETE FROM checkpoints",
            "DELETE FROM checkpoint_times",
        )
    else:
        raw_sql(
            db,
            "DROP TRIGGER entries_no_delete",
            "DROP TRIGGER checkpoints_no_delete",
            "DROP TRIGGER checkpoint_times_no_delete",
            "DELETE FROM entries WHERE idx = 1",
            "DELETE FROM checkpoints WHERE size = 2",
            "DELETE FROM checkpoint_times WHERE size = 2",
        )
    found = verify_ledger(ledger)
    assert expected in checks(found.findings), found.findings
    got = cvid("ledger", "verify", ledger.where, "--json")
    assert got.exit_code == 1
    doc = json.loads(got.stdout)
    assert doc["ok"] is False
    assert {"index": expected[0], "check": expected[1]} in [
        {"index": f["index"], "check": f["check"]} for f in doc["findings"]
    ]


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    import sqlite3

    con = sqlite3.connect(db)
    try:
        return [tuple(r) for r in con.execute(sql)]
    finally:
        con.close()


def test_ledger_verify_on_a_clean_ledger(world: World, ledger: Ledger) -> None:
    ledger.submit([world.signed(), world.signed("ru-decl", submitter="RU", party="RU")])
    got = cvid("ledger", "verify", ledger.where, "--json")
    assert got.exit_code == 0, got.output
    doc = json.loads(got.stdout)
    assert doc == {
        "ok": True,
        "ledger": str(ledger.where),
        "size": 2,
        "admitted": 2,
        "checkpoints": 1,
        "findings": [],
    }
    text = cvid("ledger", "verify", ledger.where)
    assert text.exit_code == 0 and text.stdout.rstrip().endswith(": ok")


def test_ledger_verify_refuses_what_is_not_a_ledger(tmp_path: Path) -> None:
    got = cvid("ledger", "verify", tmp_path)
    assert got.exit_code == 2 and "no ledger here" in got.output


def test_the_replay_over_the_package_alone_agrees(world: World, ledger: Ledger) -> None:
    """What the ledger admitted is exactly what a replay from its package admits."""
    from cvid.evidence.replay import replay

    ledger.submit([world.signed(), world.signed(summary="b")])
    entries = ledger.log.read_entries(0, 2)
    out = replay(load_parties(world.package), entries, ledger.logged_times())
    assert out.findings == [] and [i for i, _ in out.records] == [0, 1]


def test_the_pools_find_what_inline_verification_finds(
    world: World, new_ledger: Callable[[], Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signatures verified on threads or in worker processes give the same findings as
    inline."""
    from cvid.evidence import verify

    ledger = new_ledger()
    ledger.submit([world.signed(summary=f"r{i}") for i in range(5)])
    bad = world.signed(summary="tampered")
    bad["summary"] = "tampered after signing"
    append_behind(ledger, canonical(bad))
    append_behind(ledger, canonical(rogue_registration(world)))
    monkeypatch.setattr(verify, "PARALLEL_MIN", 10**9)
    inline = verify_ledger(ledger)
    monkeypatch.setattr(verify, "PARALLEL_MIN", 0)
    in_workers = verify_ledger(ledger, workers=2, processes=False)
    assert in_workers.findings == inline.findings
    in_processes = verify_ledger(ledger, workers=2, processes=True)
    assert in_processes.findings == inline.findings
    assert in_processes.admitted == inline.admitted
    assert (5, "signature") in checks(inline.findings)
    assert (6, "key-registration") in checks(inline.findings)
    assert in_workers.admitted == inline.admitted == 5


def test_large_ledgers_verify_signatures_in_processes_small_ones_on_threads() -> None:
    """The pool chosen by size (what ``processes=None`` means), and never for tiny ledgers."""
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    from cvid.evidence import verify

    assert verify._pool(verify.PARALLEL_MIN - 1, 2, None) is None
    assert verify._pool(10**6, 1, None) is None
    with verify._pool(verify.PROCESS_MIN - 1, 2, None) as small:  # type: ignore[union-attr]
        assert isinstance(small, ThreadPoolExecutor)
    with verify._pool(verify.PROCESS_MIN, 2, None) as large:  # type: ignore[union-attr]
        assert isinstance(large, ProcessPoolExecutor)
    with verify._pool(verify.PROCESS_MIN, 2, False) as forced:  # type: ignore[union-attr]
        assert isinstance(forced, ThreadPoolExecutor)


def test_a_finding_names_its_entry_unless_it_is_of_no_entry() -> None:
    # A record the record model refuses is check "schema" and names its entry; the store's
    # own schema findings (a trigger dropped) are of no entry.
    assert str(Finding(3, "schema", "subject: Field required")) == (
        "entry 3: schema: subject: Field required"
    )
    assert str(Finding(-1, "schema", "trigger entries_no_update dropped")) == (
        "schema: trigger entries_no_update dropped"
    )
    assert str(Finding(5, "checkpoint", "checkpoint of size 5: bad root")) == (
        "checkpoint: checkpoint of size 5: bad root"
    )
