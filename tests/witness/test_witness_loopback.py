"""Witnesses as real servers on 127.0.0.1, driven through the ``cvid`` command: a quorum
while one witness is down, 409 resynchronisation, a fork refused across a restart and proven
by ``--compare``, ``audit --policy``, and the verifier's memory refusing a rolled-back log."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from witness_kit import free_port, served

from cvid.store.log import Log
from cvid.tlog.checkpoint import open_checkpoint
from cvid.tlog.cosignature import CosignerKey
from cvid.tlog.note import Verifier
from cvid.witness.client import WitnessEndpoint, gather
from cvid.witness.protocol import origin_hash
from cvid.witness.witness import Witness
from kit import cvid, ok

ORIGIN = "example.org/loopback"


def make_log(tmp: Path, name: str = "log", entries: int = 3) -> tuple[Path, str]:
    directory = tmp / name
    vkey = ok(cvid("log", "init", directory, "--origin", ORIGIN)).stdout.strip()
    append(directory, *(b"entry %d" % i for i in range(entries)))
    return directory, vkey


def append(directory: Path, *entries: bytes) -> None:
    ok(cvid("log", "append", directory, stdin=b"".join(e + b"\n" for e in entries)))


def make_witness(tmp: Path, name: str, log_vkey: str) -> tuple[Path, str]:
    directory = tmp / name
    wkey = ok(cvid("witness", "init", directory, "--name", name)).stdout.strip()
    ok(cvid("witness", "add-log", directory, "--vkey", log_vkey))
    return directory, wkey


def fork_of(directory: Path, into: Path) -> Path:
    """A copy of the (closed) log in ``directory``: the same key, to grow another way."""
    shutil.copytree(directory, into)
    return into


def test_three_witnesses_one_down_a_2_of_3_quorum_holds(tmp_path: Path) -> None:
    log, vkey = make_log(tmp_path)
    ws = [make_witness(tmp_path, f"w{i}.example", vkey) for i in (1, 2, 3)]
    down = f"http://127.0.0.1:{free_port()}"
    w1, w2 = (Witness.open(d) for d, _ in ws[:2])
    try:
        with served(w1) as url1, served(w2) as url2:
            urls = [url1, url2, down]
            policy = tmp_path / "policy"
            policy.write_text(
                f"log {vkey}\n"
                + "".join(f"witness W{i} {ws[i - 1][1]} {urls[i - 1]}\n" for i in (1, 2, 3))
                + "group two 2 W1 W2 W3\nquorum two\n"
            )
            r = ok(cvid("log", "witness", log, "--policy", policy, "--timeout", "2"))
            doc = json.loads(r.stdout)
            assert doc["quorum"] is True
            assert doc["cosigned_by"] == ["w1.example", "w2.example"]
            assert "cannot reach" in doc["failed"]["w3.example"]
            tiles = tmp_path / "tiles"
            ok(cvid("log", "export", log, tiles))
            ok(cvid("audit", "--vkey", vkey, tiles, "--policy", policy))
            strict = tmp_path / "strict"
            strict.write_text(policy.read_text().replace("group two 2", "group two all"))
            r = cvid("audit", "--vkey", vkey, tiles, "--policy", strict)
            assert r.exit_code == 1
            assert "quorum is not met: group two needs 3 of 3 (W1, W2, W3) and has 2" in r.output
            assert "missing W3" in r.output
            r = cvid("log", "witness", log, "--policy", strict, "--timeout", "2")
            assert r.exit_code == 1 and json.loads(r.stdout)["quorum"] is False
            # A receipt carries the cosigned checkpoint: it meets the 2-of-3 policy offline.
            receipt = tmp_path / "0.tlog-proof"
            receipt.write_bytes(ok(cvid("log", "prove", log, "--index", 0)).stdout_bytes)
            entry = tmp_path / "entry0"
            entry.write_bytes(b"entry 0")
            args = ("receipt", "verify", receipt, "--vkey", vkey, "--entry", entry, "--policy")
            ok(cvid(*args, policy))
            assert cvid(*args, strict).exit_code == 1
    finally:
        w1.close()
        w2.close()


def test_a_409_resynchronises_the_log(tmp_path: Path) -> None:
    log, vkey = make_log(tmp_path)
    wdir, wkey = make_witness(tmp_path, "w.example", vkey)
    w = Witness.open(wdir)
    try:
        with served(w) as url:
            # Someone else (a mirror of the log) had size 3 cosigned: the log's store knows nothing.
            with Log.open(log) as opened:
                ends = [WitnessEndpoint.parse(f"{url}={wkey}")]
                assert gather(opened.checkpoint(), ends, opened.consistency_proof).cosigned
            append(log, b"more")
            r = ok(cvid("log", "witness", log, "--witness", f"{url}={wkey}"))
            assert json.loads(r.stdout)["cosigned_by"] == ["w.example"]
            assert w.state.latest(ORIGIN).size == 4  # type: ignore[union-attr]
    finally:
        w.close()


def test_a_fork_is_refused_by_a_restarted_witness_and_proven_by_compare(tmp_path: Path) -> None:
    log, vkey = make_log(tmp_path)
    fork = fork_of(log, tmp_path / "fork")
    append(log, b"the truth")
    append(fork, b"a lie")
    wdir, wkey = make_witness(tmp_path, "w.example", vkey)
    port = free_port()
    w = Witness.open(wdir)
    with served(w, port) as url:
        ok(cvid("log", "witness", log, "--witness", f"{url}={wkey}"))
    w.close()
    w = Witness.open(wdir)  # restarted: what it cosigned is on disk
    try:
        with served(w, port) as url:
            r = ok(cvid("log", "witness", fork, "--witness", f"{url}={wkey}"))
            doc = json.loads(r.stdout)
            assert doc["cosigned_by"] == [] and "HTTP 422" in doc["failed"]["w.example"]
            assert "a fork" in doc["failed"]["w.example"]
    finally:
        w.close()
    status = json.loads(ok(cvid("witness", "status", wdir, "--json")).stdout)
    (refused,) = status["refused"]
    assert refused["size"] == 4 and "a fork" in refused["reason"]
    assert status["logs"][0]["size"] == 4
    text = ok(cvid("witness", "status", wdir)).stdout
    assert "REFUSED example.org/loopback size 4" in text
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(ok(cvid("log", "checkpoint", log)).stdout_bytes)
    b.write_bytes(refused["checkpoint"].encode())
    r = cvid("audit", "--vkey", vkey, "--compare", a, b)
    assert r.exit_code == 1, r.output
    doc = json.loads(r.stdout)
    assert doc["split_view"] is True and "other roots" in doc["reason"]
    assert doc["first"]["checkpoint"] == a.read_text()
    assert doc["second"]["checkpoint"] == b.read_text()
    # Of different sizes, the tiles decide: the fork grown further is not an extension of a.
    append(fork, b"and another")
    tiles = tmp_path / "fork-tiles"
    ok(cvid("log", "export", fork, tiles))
    r = cvid("audit", "--vkey", vkey, "--compare", a, tiles / "checkpoint", tiles)
    assert r.exit_code == 1 and "does not extend" in json.loads(r.stdout)["reason"]
    ok(cvid("audit", "--vkey", vkey, "--compare", b, tiles / "checkpoint", tiles))
    assert cvid("audit", "--vkey", vkey, "--compare", a, tiles / "checkpoint").exit_code == 2


def test_the_verifier_remembers_and_refuses_a_rolled_back_or_forked_log(tmp_path: Path) -> None:
    log, vkey = make_log(tmp_path)
    state = tmp_path / "state"
    back = fork_of(log, tmp_path / "rolled-back")
    fork = fork_of(log, tmp_path / "fork")
    append(log, b"four")
    tiles = tmp_path / "tiles"
    ok(cvid("log", "export", log, tiles))
    ok(cvid("audit", "--vkey", vkey, tiles, "--state-dir", state))
    remembered = next((state / "checkpoints").iterdir())
    cp = open_checkpoint(remembered.read_bytes(), Verifier.from_vkey(vkey)).checkpoint
    assert cp.size == 4
    old_tiles = tmp_path / "old-tiles"
    ok(cvid("log", "export", back, old_tiles))
    r = cvid("audit", "--vkey", vkey, old_tiles, "--state-dir", state)
    assert r.exit_code == 1 and "older than the one this verifier accepted before" in r.output
    append(fork, b"not four", b"five")
    fork_tiles = tmp_path / "fork-tiles"
    ok(cvid("log", "export", fork, fork_tiles))
    r = cvid("audit", "--vkey", vkey, fork_tiles, "--state-dir", state)
    assert r.exit_code == 1 and "not consistent with the one this verifier accepted" in r.output
    assert open_checkpoint(remembered.read_bytes(), Verifier.from_vkey(vkey)).checkpoint == cp
    # The honest log growing on is accepted, and remembered.
    append(log, b"five", b"six")
    ok(cvid("log", "export", log, tiles))
    ok(cvid("audit", "--vkey", vkey, tiles, "--state-dir", state))
    assert open_checkpoint(remembered.read_bytes(), Verifier.from_vkey(vkey)).checkpoint.size == 6
    # The default state directory is $XDG_STATE_HOME/cvid (a test's own, see tests/conftest.py).
    ok(cvid("audit", "--vkey", vkey, tiles))
    r = cvid("audit", "--vkey", vkey, old_tiles)
    assert r.exit_code == 1 and "older" in r.output


def test_cvid_witness_serve_as_a_process(tmp_path: Path) -> None:
    log, vkey = make_log(tmp_path)
    wdir, wkey = make_witness(tmp_path, "w.example", vkey)
    port = free_port()
    cvid_bin = Path(sys.executable).with_name("cvid")
    proc = subprocess.Popen(
        [str(cvid_bin), "witness", "serve", str(wdir), "--port", str(port)],
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "did not start"
                time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"
        r = ok(cvid("log", "witness", log, "--witness", f"{url}={wkey}"))
        assert json.loads(r.stdout)["cosigned_by"] == ["w.example"]
        served_cp = httpx.get(f"{url}/{origin_hash(ORIGIN)}/checkpoint", timeout=5)
        assert served_cp.status_code == 200
        CosignerKey.from_vkey(wkey).verify(served_cp.content)
    finally:
        proc.terminate()
        proc.wait(10)
    assert b"witness w.example on http://127.0.0.1" in proc.stderr.read()  # type: ignore[union-attr]
