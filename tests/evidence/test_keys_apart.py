"""Keys apart from the text: a package without keys, each party's first key registered in the log.

The whole path uses the CLI only: ``ledger init`` of the package as published, ``key new``,
``evidence template key_registration`` filled in, ``evidence sign`` with the very key it
registers, ``submit``; then delegated keys, evidence, ``ledger verify`` and ``ledger keys``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from cvid.evidence import Ledger
from cvid.evidence.parties import package_sha256
from kit import cvid, ok

PACKAGE = {
    "id": "pact",
    "title": "A pact of two parties and an inspectorate",
    "parties": [
        {"id": "A", "name": "State A", "roles": ["inspected_party"]},
        {"id": "B", "name": "State B", "roles": ["inspected_party"]},
        {"id": "INS", "name": "The inspectorate", "roles": ["inspectorate"]},
    ],
}


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Any]:
    """A package with no keys (as published), its ledger, and one key file per party."""
    package = tmp_path / "pact"
    package.mkdir()
    (package / "agreement.yaml").write_text(yaml.safe_dump(PACKAGE))
    published = package_sha256(package)
    ledger = tmp_path / "ledger"
    doc = json.loads(ok(cvid("ledger", "init", ledger, "--agreement", package, "--json")).stdout)
    assert doc["package_sha256"] == published  # the package as published, hash unchanged
    keys = {}
    for name in ("a-root", "b-root", "ins-root", "a-decl", "stranger"):
        path = tmp_path / f"{name}.key"
        vkey = ok(cvid("key", "new", name, "--out", path)).stdout.strip()
        keys[name] = (path, vkey)
    return {"tmp": tmp_path, "ledger": ledger, "package": package, "keys": keys}


def signed(world: dict[str, Any], name: str, record: dict[str, Any], key: str) -> Path:
    """Write ``record`` to NAME.json, sign it with KEY's file through the CLI; the signed file."""
    tmp: Path = world["tmp"]
    (tmp / f"{name}.json").write_text(json.dumps(record))
    out = ok(cvid("evidence", "sign", tmp / f"{name}.json", "--key", world["keys"][key][0]))
    (tmp / f"{name}.signed.json").write_text(out.stdout)
    return tmp / f"{name}.signed.json"


def registration(
    world: dict[str, Any], party: str, key: str, *, kinds: list[str], manage: bool = True
) -> dict[str, Any]:
    """``cvid evidence template key_registration`` filled in for KEY of PARTY."""
    record: dict[str, Any] = json.loads(ok(cvid("evidence", "template", "key_registration")).stdout)
    record.update(agreement="pact", submitter=party)
    record["key"] = {
        "vkey": world["keys"][key][1],
        "party": party,
        "kinds": kinds,
        "may_manage_keys": manage,
    }
    return record


def declaration(party: str, n: int) -> dict[str, Any]:
    return {
        "v": 1,
        "agreement": "pact",
        "kind": "declaration",
        "subject": "stockpile",
        "party": party,
        "observed_at": "2020-01-01T00:00:00Z",
        "reported_at": "2020-01-02T00:00:00Z",
        "values": {"warheads": {"value": n, "unit": "warhead"}},
        "submitter": party,
    }


def submit(world: dict[str, Any], *files: Path) -> tuple[int, str]:
    result = cvid("submit", world["ledger"], *files)
    return result.exit_code, result.output


def test_a_multi_party_ledger_from_a_package_without_keys(world: dict[str, Any]) -> None:
    roots = [
        signed(world, "a-root", registration(world, "A", "a-root", kinds=["statement"]), "a-root"),
        signed(
            world, "b-root", registration(world, "B", "b-root", kinds=["declaration"]), "b-root"
        ),
    ]
    code, output = submit(world, *roots)
    assert code == 0, output
    # A further head entry: the inspectorate's root, in a later batch, still in the genesis.
    ins = registration(world, "INS", "ins-root", kinds=["inspection_finding"])
    code, output = submit(world, signed(world, "ins-root", ins, "ins-root"))
    assert code == 0, output
    # Delegation as before: A's root registers A's declaration key.
    a_decl = registration(world, "A", "a-decl", kinds=["declaration"], manage=False)
    code, output = submit(
        world,
        signed(world, "a-decl", a_decl, "a-root"),
        signed(world, "a-1", declaration("A", 10), "a-decl"),
        signed(world, "b-1", declaration("B", 12), "b-root"),
    )
    assert code == 0, output

    keys = json.loads(ok(cvid("ledger", "keys", world["ledger"], "--json")).stdout)
    assert [(k["party"], k["registered_at"], k["may_manage_keys"]) for k in keys] == [
        ("A", 0, True),
        ("B", 1, True),
        ("INS", 2, True),
        ("A", 3, False),
    ]
    text = ok(cvid("ledger", "keys", world["ledger"])).stdout
    assert "a-root  A  registered by record 0" in text
    # Admission replayed from index 0 by a verifier agrees, and a reopened ledger does too.
    verified = json.loads(ok(cvid("ledger", "verify", world["ledger"], "--json")).stdout)
    assert verified["ok"] and verified["admitted"] == 6 and verified["findings"] == []
    with Ledger.open(world["ledger"], readonly=True) as ledger:
        assert ledger.registry.genesis == 4
        assert ledger.package_sha256 == package_sha256(world["package"])


def refused(world: dict[str, Any], *files: Path) -> str:
    before = json.loads(ok(cvid("ledger", "info", world["ledger"], "--json")).stdout)["size"]
    code, output = submit(world, *files)
    assert code == 2, output
    after = json.loads(ok(cvid("ledger", "info", world["ledger"], "--json")).stdout)["size"]
    assert after == before  # nothing written
    return output


def test_a_party_has_one_self_registered_root(world: dict[str, Any]) -> None:
    a_root = registration(world, "A", "a-root", kinds=["statement"])
    ok(cvid("submit", world["ledger"], signed(world, "a-root", a_root, "a-root")))
    again = registration(world, "A", "stranger", kinds=["statement"])
    output = refused(world, signed(world, "again", again, "stranger"))
    assert "key-registration" in output and "A already has key 'a-root' (from record 0)" in output


def test_self_registration_ends_with_the_head_of_the_log(world: dict[str, Any]) -> None:
    a_root = registration(world, "A", "a-root", kinds=["declaration"])
    ok(cvid("submit", world["ledger"], signed(world, "a-root", a_root, "a-root")))
    ok(cvid("submit", world["ledger"], signed(world, "a-1", declaration("A", 3), "a-root")))
    late = registration(world, "B", "b-root", kinds=["declaration"])
    output = refused(world, signed(world, "late", late, "b-root"))
    assert "key-unknown" in output and "this is entry 2 and the head ended at 1" in output
    # In one batch, the same: a declaration before it ends the head.
    output = refused(
        world,
        signed(world, "a-2", declaration("A", 4), "a-root"),
        signed(world, "late2", late, "b-root"),
    )
    assert "this is entry 3 and the head ended at 1" in output


def test_an_initial_key_must_manage_keys_and_belong_to_a_party(world: dict[str, Any]) -> None:
    weak = registration(world, "A", "a-root", kinds=["declaration"], manage=False)
    output = refused(world, signed(world, "weak", weak, "a-root"))
    assert "must have may_manage_keys: true" in output
    alien = registration(world, "ZZ", "stranger", kinds=["declaration"])
    output = refused(world, signed(world, "alien", alien, "stranger"))
    assert "'ZZ' is not one (A, B, INS)" in output
    # A key registering another key is no initial registration: its signer is unknown.
    other = registration(world, "A", "a-decl", kinds=["declaration"])
    output = refused(world, signed(world, "other", other, "a-root"))
    assert "key-unknown" in output and "'a-root'" in output


def test_a_package_key_leaves_no_room_for_a_self_registered_one(tmp_path: Path) -> None:
    vkey = ok(cvid("key", "new", "a-pkg", "--out", tmp_path / "a-pkg.key")).stdout.strip()
    package = tmp_path / "pact"
    package.mkdir()
    doc = {**PACKAGE, "keys": [{"party": "A", "vkey": vkey, "kinds": ["declaration"]}]}
    (package / "agreement.yaml").write_text(yaml.safe_dump(doc))
    ledger = tmp_path / "ledger"
    ok(cvid("ledger", "init", ledger, "--agreement", package))
    record = json.loads(ok(cvid("evidence", "template", "key_registration")).stdout)
    record.update(agreement="pact", submitter="A")
    pub = ok(cvid("key", "new", "a-self", "--out", tmp_path / "a-self.key")).stdout.strip()
    record["key"] = {"vkey": pub, "party": "A", "kinds": ["declaration"], "may_manage_keys": True}
    (tmp_path / "r.json").write_text(json.dumps(record))
    out = ok(cvid("evidence", "sign", tmp_path / "r.json", "--key", tmp_path / "a-self.key"))
    (tmp_path / "r.signed.json").write_text(out.stdout)
    result = cvid("submit", ledger, tmp_path / "r.signed.json")
    assert result.exit_code == 2
    assert "A already has key 'a-pkg' (from the agreement package)" in result.output
