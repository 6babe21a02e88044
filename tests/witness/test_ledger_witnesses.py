"""A ledger whose agreement package names three witnesses (2 of 3), one of them down: each
commit is witnessed to a quorum, receipts and the export carry the cosignatures, ``verdict
verify`` applies the package's policy (or --policy) and exits 1 without the quorum, and a
"then" verdict under clock ``log`` re-derives from a tiles export with its checkpoint history
(refused, naming what is missing, without it)."""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from witness_kit import TestClient, free_port, served

from cvid.errors import InputError
from cvid.evidence import Ledger, sign_record
from cvid.evidence.parties import parse_parties, witness_policy_text
from cvid.sources import example_signer, import_declarations
from cvid.tlog.cosignature import CosignerKey
from cvid.tlog.note import Signer
from cvid.web import create_app
from cvid.witness.policy import parse_policy
from cvid.witness.witness import Witness
from kit import cvid, ok

ROOT = Path(__file__).resolve().parents[2]
NEW_START = ROOT / "examples" / "new-start"
CSV = NEW_START / "data" / "aggregates.csv"


@dataclass
class Regime:
    ledger: Path
    package: Path
    log_vkey: str
    clock_vkey: str
    witness_vkeys: dict[str, str]


def _package_with_witnesses(into: Path, members: list[dict[str, str]], quorum: int) -> Path:
    shutil.copytree(NEW_START, into)
    path = into / "agreement.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["witnesses"] = {"quorum": quorum, "members": members}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return into


@pytest.fixture
def regime(tmp_path: Path) -> Iterator[Regime]:
    """The New START ledger (clock ``log``) with witnesses W1, W2 served on loopback and W3
    down; the declarations admitted in one commit and witnessed after it."""
    names = ["w1.example", "w2.example", "w3.example"]
    witnesses = []
    for name in names:
        Witness.create(tmp_path / name, name).close()
        witnesses.append(Witness.open(tmp_path / name))
    with ExitStack() as stack:
        for w in witnesses:
            stack.callback(w.close)
        urls = [stack.enter_context(served(w)) for w in witnesses[:2]]
        urls.append(f"http://127.0.0.1:{free_port()}")  # nobody listens there
        members = [
            {"name": f"W{i + 1}", "vkey": w.key.vkey, "url": urls[i] + "/"}
            for i, w in enumerate(witnesses)
        ]
        package = _package_with_witnesses(tmp_path / "package", members, 2)
        keys = {p: example_signer("new-start", p) for p in ("US", "RU")}
        with Ledger.create(tmp_path / "ledger", package, clock_mode="log") as ledger:
            for w in witnesses:
                w.state.add_log(ledger.log.origin, ledger.log.verifier.vkey)
            import_declarations(ledger, CSV, NEW_START / "mapping.yaml", keys)
            outcome = ledger.publish(timeout=2.0)
            assert outcome is not None and outcome.quorum is True
            assert sorted(outcome.gathered.failures) == ["w3.example"]
            regime = Regime(
                tmp_path / "ledger",
                package,
                ledger.meta["log_vkey"],
                ledger.meta["clock_vkey"],
                {f"W{i + 1}": w.key.vkey for i, w in enumerate(witnesses)},
            )
        yield regime


def test_the_packages_witnesses_make_a_k_of_n_policy() -> None:
    keys = [CosignerKey.of(Signer.generate(f"w{i}.example")) for i in (1, 2)]

    def package(quorum: int | None) -> dict[str, object]:
        members = [{"name": f"W{i + 1}", "vkey": k.vkey} for i, k in enumerate(keys)]
        members[0]["url"] = "https://w1.example/"
        witnesses: dict[str, object] = {"members": members}
        if quorum is not None:
            witnesses["quorum"] = quorum
        return {
            "id": "a",
            "title": "A",
            "parties": [{"id": "US", "name": "US", "roles": ["inspected_party"]}],
            "witnesses": witnesses,
        }

    text = witness_policy_text(parse_parties(package(None)))
    policy = parse_policy(text)
    assert policy.groups["regime-witnesses"].threshold == 2  # default: all of them
    assert policy.witnesses["W1"].url == "https://w1.example/"
    assert policy.witnesses["W2"].url is None
    assert (
        parse_policy(witness_policy_text(parse_parties(package(1))))
        .groups["regime-witnesses"]
        .threshold
        == 1
    )
    with pytest.raises(InputError, match="quorum 3 exceeds its 2 members"):
        parse_parties(package(3))


def test_a_package_with_a_bad_witness_key_is_refused(tmp_path: Path) -> None:
    members = [{"name": "W1", "vkey": "not-a-key", "url": "https://w1.example/"}]
    package = _package_with_witnesses(tmp_path / "package", members, 1)
    r = cvid("ledger", "init", tmp_path / "ledger", "--agreement", package)
    assert r.exit_code == 2
    assert "witnesses" in r.output


def test_each_commit_is_witnessed_to_a_quorum_with_one_witness_down(
    regime: Regime, tmp_path: Path
) -> None:
    shown = json.loads(ok(cvid("ledger", "witnesses", regime.ledger, "--json")).stdout)
    assert shown["quorum"] == 2
    assert [w["name"] for w in shown["witnesses"]] == ["W1", "W2", "W3"]
    assert [w["cosigned_at"] is not None for w in shown["witnesses"]] == [True, True, False]
    assert shown["latest_has_quorum"] is True

    # A second commit through `cvid submit`: witnessed after it, the receipt cosigned.
    with Ledger.open(regime.ledger, readonly=True) as ledger:
        size = ledger.size
        record = json.loads(ledger.log.read_entries(0, 1)[0])
    record.pop("signature", None)
    record["observed_at"] = "2018-09-01T00:00:00Z"
    record["reported_at"] = "2018-09-02T00:00:00Z"
    record.pop("id", None)
    signed = tmp_path / "r.json"
    signed.write_text(json.dumps(sign_record(record, example_signer("new-start", "US"))))
    r = cvid("submit", regime.ledger, signed, "--json", "--witness-timeout", "2")
    doc = json.loads(ok(r).stdout)
    assert doc["indexes"] == [size]
    assert doc["witnesses"]["quorum"] is True
    assert doc["witnesses"]["cosigned"] == ["W1", "W2"]
    assert list(doc["witnesses"]["failures"]) == ["w3.example"]
    receipt = doc["receipts"][str(size)]
    assert "— w1.example " in receipt and "— w2.example " in receipt
    assert "— w3.example " not in receipt

    # The export's checkpoint and every history file carry the quorum.
    tiles = tmp_path / "tiles"
    ok(cvid("log", "export", regime.ledger, tiles))
    policy = tmp_path / "policy.txt"
    ok(cvid("ledger", "witnesses", regime.ledger, "--policy-out", policy))
    assert policy.read_text().count("\nwitness ") == 3
    ok(cvid("audit", "--vkey", regime.log_vkey, tiles, "--policy", policy))
    for n in (tiles / "checkpoints" / "index").read_text().split():
        note = (tiles / "checkpoints" / n).read_text()
        assert "— w1.example " in note and "— w2.example " in note


def test_verdict_verify_applies_the_packages_policy_or_the_one_given(
    regime: Regime, tmp_path: Path
) -> None:
    verdict = tmp_path / "verdict.json"
    ok(cvid("verdict", "create", regime.ledger, "--as-of", "2018-02-05", "--out", verdict))
    done = json.loads(ok(cvid("verdict", "verify", verdict, "--log", regime.ledger)).stdout)
    assert done["witnesses"] == ["W1", "W2"]

    tiles = tmp_path / "tiles"
    ok(cvid("log", "export", regime.ledger, tiles))
    args = ("--log", tiles, "--vkey", regime.log_vkey, "--package", regime.package)
    done = json.loads(ok(cvid("verdict", "verify", verdict, *args)).stdout)
    assert done["witnesses"] == ["W1", "W2"]

    with Ledger.open(regime.ledger, readonly=True) as ledger:
        text = witness_policy_text(ledger.parties, regime.log_vkey)
    strict = tmp_path / "all.txt"
    strict.write_text(text.replace("regime-witnesses 2 ", "regime-witnesses 3 "))
    for where in (("--log", regime.ledger), args):
        r = cvid("verdict", "verify", verdict, *where, "--policy", strict)
        assert r.exit_code == 1, r.output
        assert "needs 3 of 3 (W1, W2, W3) and has 2: missing W3" in r.output
    two = tmp_path / "two.txt"
    two.write_text(text)
    ok(cvid("verdict", "verify", verdict, *args, "--policy", two))

    # Tiles whose checkpoint lost a cosignature no longer meet the package's quorum.
    for path in [tiles / "checkpoint", *(tiles / "checkpoints").iterdir()]:
        if path.name != "index":
            kept = [ln for ln in path.read_text().split("\n") if "— w2.example " not in ln]
            path.write_text("\n".join(kept))
    r = cvid("verdict", "verify", verdict, *args)
    assert r.exit_code == 1, r.output
    assert "missing W2, W3" in r.output


def test_a_then_verdict_under_clock_log_re_derives_from_the_exported_history(
    regime: Regime, tmp_path: Path
) -> None:
    verdict = tmp_path / "then.json"
    create = ("verdict", "create", regime.ledger, "--as-of", "2018-02-05", "--view", "then")
    ok(cvid(*create, "--out", verdict))
    assert json.loads(verdict.read_text())["clock"] == "log"
    tiles = tmp_path / "tiles"
    ok(cvid("log", "export", regime.ledger, tiles))
    args = ("--log", tiles, "--vkey", regime.log_vkey, "--package", regime.package)
    done = ok(cvid("verdict", "verify", verdict, *args, "--clock-vkey", regime.clock_vkey))
    assert json.loads(done.stdout)["ok"] is True

    r = cvid("verdict", "verify", verdict, *args)
    assert r.exit_code == 2 and "without the clock's key (--clock-vkey)" in r.output

    # A history checkpoint without the clock's cosignature: refused, naming the file.
    first = (tiles / "checkpoints" / "index").read_text().split()[0]
    path = tiles / "checkpoints" / first
    saved = path.read_text()
    path.write_text("\n".join(ln for ln in saved.split("\n") if "/clock " not in ln))
    r = cvid("verdict", "verify", verdict, *args, "--clock-vkey", regime.clock_vkey)
    assert r.exit_code == 1 and f"checkpoints/{first}" in r.output, r.output
    path.write_text(saved)

    shutil.rmtree(tiles / "checkpoints")
    r = cvid("verdict", "verify", verdict, *args, "--clock-vkey", regime.clock_vkey)
    assert r.exit_code == 2
    assert "without a checkpoints/ history" in r.output


def _new_record(ledger_dir: Path, day: int) -> dict[str, object]:
    """A fresh declaration by US (a copy of entry 0 with new times), signed by its key."""
    with Ledger.open(ledger_dir, readonly=True) as ledger:
        record = json.loads(ledger.log.read_entries(0, 1)[0])
    for k in ("signature", "id"):
        record.pop(k, None)
    record["observed_at"] = f"2018-09-{day:02d}T00:00:00Z"
    record["reported_at"] = f"2018-09-{day + 1:02d}T00:00:00Z"
    signed: dict[str, object] = sign_record(record, example_signer("new-start", "US"))
    return signed


def test_the_service_publishes_cosigned_checkpoints_and_the_exported_history(
    regime: Regime, tmp_path: Path
) -> None:
    with TestClient(create_app(regime.ledger)) as client:
        svc = client.app.state.service  # type: ignore[attr-defined]
        assert svc.publisher is not None
        # Witnesses slower than the round's 2 s are skipped by design; on a loaded machine the
        # loopback witnesses can be: this test is about what a round publishes, so it waits.
        svc.publisher.timeout = 30.0
        r = client.post("/v1/records", json=_new_record(regime.ledger, 1))
        assert r.status_code in (200, 201), r.text
        size = r.json()["size"]
        assert svc.publisher.wait_idle(60)
        note = client.get("/v1/log/checkpoint").text
        assert f"\n{size}\n" in note
        assert "— w1.example " in note and "— w2.example " in note and "/clock " in note
        assert svc.publisher.last.quorum is True
        # A record read back now has a receipt with the quorum on it.
        got = client.get(f"/v1/records/{size - 1}").json()["receipt"]
        assert "— w1.example " in got and "— w2.example " in got
        index = client.get("/v1/log/checkpoints/index").text
        files = {n: client.get(f"/v1/log/checkpoints/{n}").text for n in index.split()}
        assert client.get("/v1/log/checkpoints/999").status_code == 404
        assert client.get("/v1/log/checkpoints/01").status_code == 404
    tiles = tmp_path / "tiles"
    ok(cvid("log", "export", regime.ledger, tiles))
    assert (tiles / "checkpoints" / "index").read_text() == index
    assert index.split()[-1] == str(size)
    for n, text in files.items():
        assert (tiles / "checkpoints" / n).read_text() == text
    assert (tiles / "checkpoint").read_text() == note


def test_a_witness_that_never_answers_slows_no_commit(tmp_path: Path) -> None:
    """W2 accepts connections and never answers: the service's commits answer at once (the
    publisher waits for it, at most its timeout), and `cvid submit` is late by the timeout
    at most; W1's cosignature alone meets the 1-of-2 quorum."""
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(16)
    Witness.create(tmp_path / "w1", "w1.example").close()
    Witness.create(tmp_path / "w2", "w2.example").close()
    w1, w2 = Witness.open(tmp_path / "w1"), Witness.open(tmp_path / "w2")
    try:
        with served(w1) as url1:
            members = [
                {"name": "W1", "vkey": w1.key.vkey, "url": url1},
                {
                    "name": "W2",
                    "vkey": w2.key.vkey,
                    "url": f"http://127.0.0.1:{hang.getsockname()[1]}",
                },
            ]
            package = _package_with_witnesses(tmp_path / "package", members, 1)
            keys = {p: example_signer("new-start", p) for p in ("US", "RU")}
            with Ledger.create(tmp_path / "ledger", package, clock_mode="log") as ledger:
                w1.state.add_log(ledger.log.origin, ledger.log.verifier.vkey)
                import_declarations(ledger, CSV, NEW_START / "mapping.yaml", keys)
            with TestClient(create_app(tmp_path / "ledger")) as client:
                svc = client.app.state.service  # type: ignore[attr-defined]
                started = time.monotonic()
                r = client.post("/v1/records", json=_new_record(tmp_path / "ledger", 1))
                assert r.status_code in (200, 201), r.text
                assert time.monotonic() - started < 1.5  # the witness's 2 s are not waited
                assert svc.publisher.wait_idle(15)
                assert svc.publisher.last.quorum is True
                assert "w2.example" in svc.publisher.last.failures
                note = client.get("/v1/log/checkpoint").text
                assert "— w1.example " in note and "— w2.example " not in note
            signed = tmp_path / "r.json"
            signed.write_text(json.dumps(_new_record(tmp_path / "ledger", 5)))
            started = time.monotonic()
            doc = json.loads(
                ok(
                    cvid(
                        "submit", tmp_path / "ledger", signed, "--json", "--witness-timeout", "0.5"
                    )
                ).stdout
            )
            assert time.monotonic() - started < 4
            assert doc["witnesses"]["quorum"] is True and doc["witnesses"]["cosigned"] == ["W1"]
    finally:
        w1.close()
        w2.close()
        hang.close()
