""" "As known then" does not rest on the operator's clock alone: ``verdict verify`` of a "then"
verdict under clock ``log`` checks each entry's logged time against when a quorum of the
witnesses, by their own timestamps, first cosigned a checkpoint holding it.

An operator holds the ledger's clock key; a ledger whose clock lies (backdating its records by
two days) signs and verifies as a ledger — only the witnesses, cosigning at the real time, can
tell. Here the verdict that relies on the lie is refused, from the ledger and from its export;
the same verdict on an honest clock verifies."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml
from witness_kit import served

from cvid.evidence import Ledger
from cvid.sources import example_signer, import_declarations
from cvid.witness.policy import parse_policy
from cvid.witness.witness import Witness
from cvid.witnessed import unattested
from kit import cvid, ok

ROOT = Path(__file__).resolve().parents[2]
NEW_START = ROOT / "examples" / "new-start"


def _ledger(tmp: Path, lag: dt.timedelta) -> tuple[Path, Path, dict[str, str]]:
    """A New START ledger whose clock runs ``lag`` behind real time, witnessed 2 of 2."""
    witnesses = []
    for name in ("w1.example", "w2.example"):
        Witness.create(tmp / name, name).close()
        witnesses.append(Witness.open(tmp / name))
    with ExitStack() as stack:
        for w in witnesses:
            stack.callback(w.close)
        urls = [stack.enter_context(served(w)) for w in witnesses]
        package = tmp / "package"
        shutil.copytree(NEW_START, package)
        doc = yaml.safe_load((package / "agreement.yaml").read_text())
        doc["witnesses"] = {
            "quorum": 2,
            "members": [
                {"name": f"W{i + 1}", "vkey": w.key.vkey, "url": urls[i] + "/"}
                for i, w in enumerate(witnesses)
            ],
        }
        (package / "agreement.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))

        def clock() -> dt.datetime:
            return dt.datetime.now(dt.UTC) - lag

        where = tmp / "ledger"
        with Ledger.create(where, package, clock=clock, clock_mode="log") as ledger:
            for w in witnesses:
                w.state.add_log(ledger.log.origin, ledger.log.verifier.vkey)
            keys = {p: example_signer("new-start", p) for p in ("US", "RU")}
            import_declarations(
                ledger, NEW_START / "data" / "aggregates.csv", NEW_START / "mapping.yaml", keys
            )
            outcome = ledger.publish(timeout=5.0)
            assert outcome is not None and outcome.quorum is True
            meta = {"log": ledger.meta["log_vkey"], "clock": ledger.meta["clock_vkey"]}
    return where, package, meta


@pytest.fixture(params=["honest", "backdated"])
def case(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, Path, Path, dict[str, str]]]:
    lag = dt.timedelta(0) if request.param == "honest" else dt.timedelta(days=2)
    where, package, meta = _ledger(tmp_path, lag)
    yield request.param, where, package, meta


def test_a_then_verdict_holds_only_on_times_the_witnesses_attest(
    case: tuple[str, Path, Path, dict[str, str]], tmp_path: Path
) -> None:
    kind, where, package, meta = case
    as_of = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind == "honest":  # the records were logged now: a day ago they were not known yet
        as_of = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    verdict = tmp_path / "then.json"
    ok(cvid("verdict", "create", where, "--as-of", as_of, "--view", "then", "--out", verdict))
    doc = json.loads(verdict.read_text())
    # Under either clock the records count as known at as_of: the verdict judges them.
    assert doc["clock"] == "log"
    assert any(t["status"] != "pending" for t in doc["terms"]), doc["terms"]

    tiles = tmp_path / "tiles"
    ok(cvid("log", "export", where, tiles))
    from_tiles = (
        "--log",
        tiles,
        "--vkey",
        meta["log"],
        "--package",
        package,
        "--clock-vkey",
        meta["clock"],
    )
    for args in (("--log", where), from_tiles):
        r = cvid("verdict", "verify", verdict, *args)
        if kind == "honest":
            assert r.exit_code == 0, r.output
            done = json.loads(r.stdout)
            assert done["witnesses"] == ["W1", "W2"]
            with Ledger.open(where, readonly=True) as ledger:
                assert done["then_attested"] == ledger.size > 0
        else:
            assert r.exit_code == 1, r.output
            assert "entry 0: the ledger's clock says it was logged at" in r.output
            assert "rests on the operator's clock alone" in r.output


def test_the_quorum_time_is_when_enough_witnesses_had_cosigned() -> None:
    from cvid.tlog.cosignature import CosignerKey
    from cvid.tlog.note import Signer

    keys = {n: CosignerKey.of(Signer.generate(n)).vkey for n in ("a", "b", "c")}
    text = "".join(f"witness {n} {k}\n" for n, k in keys.items())
    two = parse_policy(text + "group g 2 a b c\nquorum g\n")
    assert two.quorum_time({"a": 30, "b": 10, "c": 20}) == 20
    assert two.quorum_time({"a": 30}) is None
    assert parse_policy(text + "quorum a\n").quorum_time({"a": 7, "b": 1}) == 7
    assert parse_policy(text + "quorum none\n").quorum_time({"a": 7}) is None


def test_unattested_names_backdated_and_hidden_entries() -> None:
    at = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    t = at.timestamp()
    day = dt.timedelta(days=1)
    logged = [at - day, at - day, at + day, None, at - day]
    witnessed = [int(t - 3600), int(t + 3 * 86400), int(t - 86400), int(t - 86400), None]
    found = unattested(logged, witnessed, at)
    assert [f.split(":")[0] for f in found] == ["entry 1", "entry 2", "entry 3", "entry 4"]
    assert "attests it never" in found[3]
    assert "leaves it out" in found[1]
    # Within the skew both say the same.
    assert unattested([at], [int(t + 200)], at) == []
