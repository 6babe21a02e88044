"""``cvid witness`` and ``cvid log witness`` on bad input: exit 2 with a reason, nothing changed;
cosignatures stored on PostgreSQL as on SQLite."""

from __future__ import annotations

import stat
from pathlib import Path

from witness_kit import Router

from cvid.store.log import Log
from cvid.store.postgres import PostgresDriver
from cvid.tlog.note import Signer
from cvid.witness.publish import stored_cosignatures, witness_checkpoint
from cvid.witness.witness import Witness
from kit import cvid, ok


def test_init_writes_an_owner_only_key_and_refuses_to_replace_it(tmp_path: Path) -> None:
    wdir = tmp_path / "w"
    vkey = ok(cvid("witness", "init", wdir, "--name", "w.example")).stdout.strip()
    assert vkey.startswith("w.example+")
    assert stat.S_IMODE((wdir / "witness.key").stat().st_mode) == 0o600
    key = (wdir / "witness.key").read_bytes()
    r = cvid("witness", "init", wdir, "--name", "w.example")
    assert r.exit_code == 2 and "a witness already exists" in r.output
    assert (wdir / "witness.key").read_bytes() == key
    r = cvid("witness", "init", tmp_path / "x", "--name", "bad name")
    assert r.exit_code == 2 and "key name" in r.output


def test_add_log_from_vkeys_or_a_policy_and_refuse_a_second_key(tmp_path: Path) -> None:
    wdir = tmp_path / "w"
    ok(cvid("witness", "init", wdir, "--name", "w.example"))
    a, b = Signer.generate("example.org/a"), Signer.generate("example.org/b")
    policy = tmp_path / "policy"
    policy.write_text(f"log {b.verifier.vkey}\nquorum none\n")
    ok(cvid("witness", "add-log", wdir, "--vkey", a.verifier.vkey, "--config", policy))
    ok(cvid("witness", "add-log", wdir, "--vkey", a.verifier.vkey))  # again: nothing new
    r = cvid("witness", "add-log", wdir, "--vkey", Signer.generate("example.org/a").verifier.vkey)
    assert r.exit_code == 2 and "already witnessed with the key" in r.output
    assert cvid("witness", "add-log", wdir).exit_code == 2
    assert cvid("witness", "add-log", wdir, "--vkey", "nonsense+").exit_code == 2
    bad = tmp_path / "bad-policy"
    bad.write_text("log x\n")
    r = cvid("witness", "add-log", wdir, "--config", bad)
    assert r.exit_code == 2 and "bad-policy line 1" in r.output
    w = Witness.open(wdir)
    try:
        assert w.state.logs() == {a.name: a.verifier.vkey, b.name: b.verifier.vkey}
    finally:
        w.close()
    assert cvid("witness", "status", tmp_path / "nowhere").exit_code == 2


def test_log_witness_needs_witnesses_and_well_formed_ones(tmp_path: Path) -> None:
    log = tmp_path / "log"
    ok(cvid("log", "init", log, "--origin", "example.org/log"))
    r = cvid("log", "witness", log)
    assert r.exit_code == 2 and "--witness URL=VKEY" in r.output
    r = cvid("log", "witness", log, "--witness", "http://x=notakey")
    assert r.exit_code == 2 and "URL=VKEY" in r.output
    w = ok(cvid("witness", "init", tmp_path / "w", "--name", "w.example")).stdout.strip()
    r = cvid("log", "witness", log, "--witness", f"http://127.0.0.1:9={w}", "--timeout", "0")
    assert r.exit_code == 2 and "--timeout" in r.output


def test_compare_and_audit_options_on_bad_input(tmp_path: Path) -> None:
    vkey = ok(cvid("log", "init", tmp_path / "log", "--origin", "example.org/log")).stdout.strip()
    ok(cvid("log", "append", tmp_path / "log", stdin=b"a\n"))
    cp = tmp_path / "cp"
    cp.write_bytes(ok(cvid("log", "checkpoint", tmp_path / "log")).stdout_bytes)
    r = cvid("audit", "--vkey", vkey, "--compare", cp, tmp_path / "missing")
    assert r.exit_code == 2 and "cannot read it" in r.output
    ok(cvid("audit", "--vkey", vkey, "--compare", cp, cp))
    other = Signer.generate("example.org/log").verifier.vkey
    assert cvid("audit", "--vkey", other, "--compare", cp, cp).exit_code == 1
    r = cvid("audit", "--vkey", vkey)
    assert r.exit_code == 2 and "SOURCE" in r.output
    tiles = tmp_path / "tiles"
    ok(cvid("log", "export", tmp_path / "log", tiles))
    r = cvid("audit", "--vkey", vkey, tiles, "--policy", tmp_path / "missing")
    assert r.exit_code == 2 and "cannot read it" in r.output


def test_cosignatures_are_stored_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    signer = Signer.generate("example.org/witnessed-log")
    with Log.create_in(PostgresDriver(postgres_url, create=True), signer) as log:
        log.append([b"one", b"two"])
        router = Router()
        wdir = tmp_path / "pgw"
        Witness.create(wdir, "pgw.example").close()
        w = Witness.open(wdir)
        try:
            w.state.add_log(log.origin, log.verifier.vkey)
            end = router.add("pgw", w)
            out = witness_checkpoint(log, log.checkpoint(), [end], transport=router)
        finally:
            w.close()
        assert out.stored == 1 and not out.failures
        assert stored_cosignatures(log.driver) == {2: {end.key.vkey: out.gathered.cosigned[0].line}}
        end.key.verify(out.note)
