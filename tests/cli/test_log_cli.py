"""The ``cvid log``, ``cvid receipt``, ``cvid audit`` and ``cvid demo`` commands, end to end.

Exit codes are the contract scripts rely on: 0 fine, 1 a finding, 2 bad input or usage.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import Result

from cvid.store import sqlite as sqlite_driver
from cvid.tlog.checkpoint import open_checkpoint
from cvid.tlog.merkle import MemoryHashes, leaf_hash
from cvid.tlog.note import Verifier, b64
from cvid.tlog.receipt import Receipt, verify_receipt
from kit import cvid, ok

ORIGIN = "cvid.test/cli"
LINES = [b"first line", b"", b"third \xe2\x80\x94 line", b"x" * 1000]


def root_of(entries: list[bytes]) -> str:
    return b64(MemoryHashes([leaf_hash(e) for e in entries]).root())


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    """A new, empty log made by ``cvid log init``; its printed vkey is kept beside it."""
    directory = tmp_path / "log"
    result = ok(cvid("log", "init", directory, "--origin", ORIGIN))
    (tmp_path / "init.vkey").write_text(result.stdout)
    return directory


@pytest.fixture
def vkey(log_dir: Path) -> str:
    """The verifier key ``cvid log init`` printed."""
    return (log_dir.parent / "init.vkey").read_text().strip()


def append(log_dir: Path, lines: list[bytes], tmp_path: Path) -> dict[str, object]:
    src = tmp_path / f"lines-{len(lines)}.txt"
    src.write_bytes(b"".join(line + b"\n" for line in lines))
    report: dict[str, object] = json.loads(ok(cvid("log", "append", log_dir, src)).stdout)
    return report


# -- init -----------------------------------------------------------------------------------------


def test_init_prints_the_vkey_and_writes_an_owner_only_key(tmp_path: Path) -> None:
    directory = tmp_path / "new"
    result = ok(cvid("log", "init", directory, "--origin", ORIGIN))
    verifier = Verifier.from_vkey(result.stdout.strip())
    assert verifier.name == ORIGIN
    assert (directory / "log.key").stat().st_mode & 0o777 == 0o600
    assert (directory / "log.db").is_file()


def test_init_twice_exits_2_and_keeps_the_key(log_dir: Path) -> None:
    key = (log_dir / "log.key").read_bytes()
    result = cvid("log", "init", log_dir, "--origin", ORIGIN)
    assert result.exit_code == 2
    assert "already exists" in result.output
    assert (log_dir / "log.key").read_bytes() == key


@pytest.mark.parametrize("command", ["init", "export"])
def test_a_file_where_a_directory_belongs_exits_2(
    log_dir: Path, tmp_path: Path, command: str
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    if command == "init":
        result = cvid("log", "init", a_file, "--origin", ORIGIN)
    else:
        result = cvid("log", "export", log_dir, a_file)
    assert result.exit_code == 2, result.output
    assert "a-file" in result.output


def test_init_with_an_invalid_origin_exits_2(tmp_path: Path) -> None:
    result = cvid("log", "init", tmp_path / "bad", "--origin", "has space")
    assert result.exit_code == 2
    assert "key name" in result.output


# -- append, checkpoint, prove, verify ------------------------------------------------------------


def test_append_from_a_file_and_from_stdin(log_dir: Path, tmp_path: Path) -> None:
    report = append(log_dir, LINES, tmp_path)
    assert report == {"first": 0, "count": 4, "size": 4, "root": root_of(LINES)}
    more = [b"from stdin", b"no final newline"]
    result = ok(cvid("log", "append", log_dir, stdin=b"from stdin\nno final newline"))
    assert json.loads(result.stdout) == {
        "first": 4,
        "count": 2,
        "size": 6,
        "root": root_of(LINES + more),
    }
    empty = json.loads(ok(cvid("log", "append", log_dir, stdin=b"")).stdout)
    assert (empty["count"], empty["size"]) == (0, 6)


def test_append_with_an_oversized_line_exits_2_and_writes_nothing(
    log_dir: Path, tmp_path: Path
) -> None:
    append(log_dir, LINES, tmp_path)
    src = tmp_path / "big.txt"
    src.write_bytes(b"fine\n" + b"x" * 65536 + b"\nalso fine\n")
    result = cvid("log", "append", log_dir, src)
    assert result.exit_code == 2
    assert f"{src} line 2" in result.output and "65,536" in result.output, result.output
    after = json.loads(ok(cvid("log", "append", log_dir, stdin=b"")).stdout)
    assert (after["size"], after["root"]) == (4, root_of(LINES))
    exactly = json.loads(ok(cvid("log", "append", log_dir, stdin=b"y" * 65535)).stdout)
    assert exactly["size"] == 5


def test_append_to_a_missing_log_exits_2(tmp_path: Path) -> None:
    result = cvid("log", "append", tmp_path / "none", stdin=b"a\n")
    assert result.exit_code == 2
    assert "no log here" in result.output


def test_checkpoint_signs_once_per_size(log_dir: Path, vkey: str, tmp_path: Path) -> None:
    append(log_dir, LINES, tmp_path)
    first = ok(cvid("log", "checkpoint", log_dir)).stdout
    cp = open_checkpoint(first, Verifier.from_vkey(vkey)).checkpoint
    assert (cp.origin, cp.size, b64(cp.root)) == (ORIGIN, 4, root_of(LINES))
    assert ok(cvid("log", "checkpoint", log_dir)).stdout == first


def test_prove_prints_a_receipt_that_verifies(log_dir: Path, vkey: str, tmp_path: Path) -> None:
    append(log_dir, LINES, tmp_path)
    out = ok(cvid("log", "prove", log_dir, "--index", 2)).stdout.encode()
    receipt = Receipt.parse(out)
    assert receipt.index == 2
    assert verify_receipt(receipt, LINES[2], Verifier.from_vkey(vkey)).size == 4
    for bad in (4, -1):
        result = cvid("log", "prove", log_dir, "--index", bad)
        assert result.exit_code == 2, result.output
        assert "not in the log" in result.output


def test_verify_reports_an_intact_log(log_dir: Path, tmp_path: Path) -> None:
    append(log_dir, [b"%d" % i for i in range(600)], tmp_path)
    ok(cvid("log", "checkpoint", log_dir))
    result = ok(cvid("log", "verify", log_dir))
    assert json.loads(result.stdout) == {"ok": True, "size": 600, "problems": []}


# -- receipt verify -------------------------------------------------------------------------------


@pytest.fixture
def receipt_files(log_dir: Path, vkey: str, tmp_path: Path) -> dict[str, Path]:
    append(log_dir, LINES, tmp_path)
    files = {
        "receipt": tmp_path / "r.tlog-proof",
        "entry": tmp_path / "entry",
        "other": tmp_path / "other",
        "vkey": tmp_path / "log.vkey",
    }
    files["receipt"].write_bytes(ok(cvid("log", "prove", log_dir, "--index", 3)).stdout.encode())
    files["entry"].write_bytes(LINES[3])
    files["other"].write_bytes(LINES[2])
    files["vkey"].write_text(vkey + "\n")
    return files


def receipt_verify(receipt: Path, vkey: str | Path, entry: Path) -> Result:
    return cvid("receipt", "verify", receipt, "--vkey", vkey, "--entry", entry)


def test_receipt_verify_ok(receipt_files: dict[str, Path], vkey: str) -> None:
    f = receipt_files
    for key in (vkey, f["vkey"]):  # the vkey text, or a file holding it
        report = json.loads(ok(receipt_verify(f["receipt"], key, f["entry"])).stdout)
        assert (report["ok"], report["index"], report["origin"], report["size"]) == (
            True,
            3,
            ORIGIN,
            4,
        )


def test_receipt_verify_wrong_entry_exits_1(receipt_files: dict[str, Path], vkey: str) -> None:
    result = receipt_verify(receipt_files["receipt"], vkey, receipt_files["other"])
    assert result.exit_code == 1
    assert "not proven" in result.output


def test_receipt_verify_wrong_key_exits_1(receipt_files: dict[str, Path], tmp_path: Path) -> None:
    other = Verifier.from_vkey(
        ok(cvid("log", "init", tmp_path / "other-log", "--origin", ORIGIN)).stdout.strip()
    )
    result = receipt_verify(receipt_files["receipt"], other.vkey, receipt_files["entry"])
    assert result.exit_code == 1
    assert "no signature from a known key" in result.output


def test_receipt_verify_malformed_receipt_exits_2(
    receipt_files: dict[str, Path], vkey: str
) -> None:
    receipt = receipt_files["receipt"]
    receipt.write_bytes(receipt.read_bytes().replace(b"index 3", b"index 03"))
    result = receipt_verify(receipt, vkey, receipt_files["entry"])
    assert result.exit_code == 2
    assert "receipt index" in result.output
    receipt.write_bytes(b"garbage")
    assert receipt_verify(receipt, vkey, receipt_files["entry"]).exit_code == 2


def test_receipt_verify_bad_vkey_or_missing_file_exits_2(
    receipt_files: dict[str, Path], vkey: str, tmp_path: Path
) -> None:
    f = receipt_files
    assert receipt_verify(f["receipt"], vkey[:-4], f["entry"]).exit_code == 2
    assert receipt_verify(f["receipt"], tmp_path / "no-such-vkey", f["entry"]).exit_code == 2
    result = receipt_verify(f["receipt"], vkey, tmp_path / "no-such-entry")
    assert result.exit_code == 2
    assert "no-such-entry" in result.output


# -- export and audit -----------------------------------------------------------------------------


def export(log_dir: Path, out: Path) -> dict[str, int]:
    counts: dict[str, int] = json.loads(ok(cvid("log", "export", log_dir, out)).stdout)
    return counts


def run_audit(out: Path, vkey: str, *extra: object) -> Result:
    return cvid("audit", out, "--vkey", vkey, *extra)


def test_export_writes_only_what_is_new(log_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "tiles"
    append(log_dir, [b"%d" % i for i in range(300)], tmp_path)
    first = export(log_dir, out)
    assert (first["size"], first["written"], first["kept"]) == (300, 6, 0)
    assert (out / "tile/entries/001.p/44").is_file()
    again = export(log_dir, out)
    assert (again["written"], again["kept"]) == (1, 5)  # only the checkpoint is rewritten
    append(log_dir, [b"more"], tmp_path)
    grown = export(log_dir, out)
    # tile/0/001.p/45, its bundle and the checkpoint are new; the .p/44 ones stay for old readers.
    assert (grown["size"], grown["written"], grown["kept"]) == (301, 3, 3)
    assert (out / "tile/0/001.p/44").is_file() and (out / "tile/0/001.p/45").is_file()


def test_audit_ok_and_consistent_since_an_older_checkpoint(
    log_dir: Path, vkey: str, tmp_path: Path
) -> None:
    out = tmp_path / "tiles"
    append(log_dir, [b"a%d" % i for i in range(200)], tmp_path)
    export(log_dir, out)
    old = tmp_path / "old-checkpoint"
    shutil.copy(out / "checkpoint", old)
    append(log_dir, [b"b%d" % i for i in range(170)], tmp_path)
    export(log_dir, out)
    plain = json.loads(ok(run_audit(out, vkey)).stdout)
    assert (plain["ok"], plain["size"], plain["entries_checked"]) == (True, 370, 370)
    assert plain["consistent_with_size"] is None
    report = json.loads(ok(run_audit(out, vkey, "--since", old)).stdout)
    assert report["consistent_with_size"] == 200
    assert report["problems"] == []


def test_audit_since_a_forked_checkpoint_exits_1(log_dir: Path, vkey: str, tmp_path: Path) -> None:
    append(log_dir, [b"common-%d" % i for i in range(10)], tmp_path)
    fork_dir = tmp_path / "fork"
    shutil.copytree(log_dir, fork_dir)  # same key: the log operator forks its own log
    os.chmod(fork_dir / "log.key", 0o600)
    append(fork_dir, [b"fork-%d" % i for i in range(3)], tmp_path)
    forked_cp = tmp_path / "forked-checkpoint"
    forked_cp.write_text(ok(cvid("log", "checkpoint", fork_dir)).stdout)
    append(log_dir, [b"main-%d" % i for i in range(5)], tmp_path)
    out = tmp_path / "tiles"
    export(log_dir, out)
    result = run_audit(out, vkey, "--since", forked_cp)
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["consistent_with_size"] is None
    assert any("size 13" in p for p in report["problems"]), report


def test_audit_since_a_larger_checkpoint_exits_1(log_dir: Path, vkey: str, tmp_path: Path) -> None:
    out = tmp_path / "tiles"
    append(log_dir, [b"a", b"b"], tmp_path)
    export(log_dir, out)
    stale = tmp_path / "stale"
    shutil.copytree(out, stale)
    append(log_dir, [b"c"], tmp_path)
    export(log_dir, out)
    result = run_audit(stale, vkey, "--since", out / "checkpoint")
    assert result.exit_code == 1
    assert "larger" in result.output


# -- demo -----------------------------------------------------------------------------------------


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    summary = json.loads(ok(cvid("demo", directory, "--json")).stdout)
    assert [e["example"] for e in summary["examples"]] == ["new-start", "singapore-2018"]
    for example in summary["examples"]:
        ex = directory / example["example"]
        size = example["checkpoint"]["size"]
        # New START's log also holds its 2021 extension (docs/amendments.md): 4 records.
        amendment = 4 if example["example"] == "new-start" else 0
        assert size == example["records"] + amendment and example["records"] > 0
        assert example["tiles"]["audit_ok"] and example["tiles"]["entries_checked"] == size
        assert example["receipt"]["ok"]
        vkey = (ex / "log.vkey").read_text().strip()
        index = example["receipt"]["index"]
        receipt = ex / "receipt"
        ok(receipt_verify(receipt / f"{index}.tlog-proof", vkey, receipt / f"{index}.entry"))
        ok(run_audit(ex / "tiles", vkey))
        # The ledger is one store; its signing keys are inside it, none in files beside it.
        assert not list((ex / "ledger").glob("*.key"))


# -- errors are plain, on every path --------------------------------------------------------------


def test_append_while_another_process_holds_the_lock_exits_2_naming_the_file(
    log_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_driver, "BUSY_TIMEOUT", 0.1)
    other = sqlite3.connect(log_dir / "log.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        result = cvid("log", "append", log_dir, stdin=b"blocked\n")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert str(log_dir / "log.db") in result.output and "locked" in result.output
    assert json.loads(ok(cvid("log", "append", log_dir, stdin=b"later\n")).stdout)["size"] == 1


@pytest.mark.parametrize("command", ["append", "checkpoint", "verify"])
def test_a_foreign_log_db_exits_2_naming_it_and_is_not_changed(
    tmp_path: Path, command: str
) -> None:
    directory = tmp_path / "foreign"
    directory.mkdir()
    db = sqlite3.connect(directory / "log.db")
    db.execute("CREATE TABLE mine (x)")
    db.commit()
    db.close()
    before = (directory / "log.db").read_bytes()
    result = cvid("log", command, directory, stdin=b"x\n")
    assert result.exit_code == 2, result.output
    assert f"{directory / 'log.db'}: not a cvid log" in result.output
    assert (directory / "log.db").read_bytes() == before
    assert [p.name for p in directory.iterdir()] == ["log.db"]


def test_a_corrupt_key_file_stops_only_signing(log_dir: Path, tmp_path: Path) -> None:
    append(log_dir, LINES, tmp_path)
    ok(cvid("log", "checkpoint", log_dir))
    (log_dir / "log.key").write_text("PRIVATE+KEY+garbage\n")
    ok(cvid("log", "verify", log_dir))
    ok(cvid("log", "prove", log_dir, "--index", 3))  # covered by the stored checkpoint
    ok(cvid("log", "checkpoint", log_dir))  # nothing new to sign
    append(log_dir, [b"new"], tmp_path)
    result = cvid("log", "checkpoint", log_dir)
    assert result.exit_code == 2, result.output
    assert str(log_dir / "log.key") in result.output and "sign" in result.output


def test_prove_refuses_to_print_a_receipt_that_would_not_verify(
    log_dir: Path, tmp_path: Path
) -> None:
    append(log_dir, [b"%d" % i for i in range(300)], tmp_path)
    ok(cvid("log", "checkpoint", log_dir))
    db = sqlite3.connect(log_dir / "log.db")
    db.execute("DROP TRIGGER tiles_no_update")
    db.execute("UPDATE tiles SET hashes = zeroblob(8192) WHERE level = 0 AND idx = 0")
    db.commit()
    db.close()
    result = cvid("log", "prove", log_dir, "--index", 5)
    assert result.exit_code == 2, result.output
    assert "cvid log verify" in result.output
    assert "tlog-proof" not in result.stdout


# -- export into a directory that already holds an export -----------------------------------------


def test_export_refuses_a_directory_holding_another_logs_export(
    log_dir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other-log"
    ok(cvid("log", "init", other, "--origin", "cvid.test/other"))
    append(other, [b"o%d" % i for i in range(300)], tmp_path)
    out = tmp_path / "tiles"
    export(other, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    append(log_dir, [b"%d" % i for i in range(400)], tmp_path)
    result = cvid("log", "export", log_dir, out)
    assert result.exit_code == 2, result.output
    assert str(out / "checkpoint") in result.output and "not a checkpoint of this log" in (
        result.output
    )
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_export_refuses_a_directory_holding_a_forks_export(log_dir: Path, tmp_path: Path) -> None:
    append(log_dir, [b"common"], tmp_path)
    fork_dir = tmp_path / "fork"
    shutil.copytree(log_dir, fork_dir)  # same key: the log's operator forks its own log
    append(fork_dir, [b"fork"], tmp_path)
    out = tmp_path / "tiles"
    export(fork_dir, out)
    forked = (out / "checkpoint").read_bytes()
    append(log_dir, [b"main-1", b"main-2"], tmp_path)
    result = cvid("log", "export", log_dir, out)
    assert result.exit_code == 2, result.output
    assert "root differs" in result.output
    assert (out / "checkpoint").read_bytes() == forked


def test_export_refuses_a_larger_export(log_dir: Path, tmp_path: Path) -> None:
    append(log_dir, [b"a"], tmp_path)
    bigger = tmp_path / "bigger"
    shutil.copytree(log_dir, bigger)
    append(bigger, [b"b", b"c"], tmp_path)
    out = tmp_path / "tiles"
    export(bigger, out)
    result = cvid("log", "export", log_dir, out)
    assert result.exit_code == 2, result.output
    assert "larger" in result.output


def test_export_refuses_stray_files_unlike_its_own(log_dir: Path, tmp_path: Path) -> None:
    append(log_dir, [b"%d" % i for i in range(300)], tmp_path)
    out = tmp_path / "tiles"
    stray = out / "tile/0/000"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(bytes(8192))  # no checkpoint vouches for it, and it is not ours
    result = cvid("log", "export", log_dir, out)
    assert result.exit_code == 2, result.output
    assert str(stray) in result.output
    assert not (out / "checkpoint").exists()


def test_export_resumes_over_its_own_files_without_a_checkpoint(
    log_dir: Path, tmp_path: Path
) -> None:
    append(log_dir, [b"%d" % i for i in range(300)], tmp_path)
    out = tmp_path / "tiles"
    export(log_dir, out)
    (out / "checkpoint").unlink()  # an export interrupted before its last step
    again = export(log_dir, out)
    assert (again["written"], again["kept"]) == (1, 5)


def test_export_refuses_a_truncated_kept_tile(log_dir: Path, tmp_path: Path) -> None:
    append(log_dir, [b"%d" % i for i in range(300)], tmp_path)
    out = tmp_path / "tiles"
    export(log_dir, out)
    tile = out / "tile/0/000"
    tile.write_bytes(tile.read_bytes()[:-32])
    append(log_dir, [b"more"], tmp_path)
    result = cvid("log", "export", log_dir, out)
    assert result.exit_code == 2, result.output
    assert str(tile) in result.output and "8160 bytes" in result.output


# -- help and messages ----------------------------------------------------------------------------


def _help(*command: str) -> str:
    return " ".join(ok(cvid(*command, "--help")).stdout.split())


def test_help_says_which_commands_may_sign() -> None:
    for command in ("export", "prove", "checkpoint"):
        assert "sign" in _help("log", command).lower(), command
    append_help = _help("log", "append")
    assert "LF" in append_help and "CR" in append_help
    assert "2 when" in _help("audit")


def test_audit_names_a_missing_checkpoint_once(tmp_path: Path, vkey: str) -> None:
    empty = tmp_path / "empty-tiles"
    empty.mkdir()
    result = run_audit(empty, vkey)
    assert result.exit_code == 2
    assert result.output.count(str(empty / "checkpoint")) == 1, result.output


def test_audit_names_a_bad_since_file(log_dir: Path, vkey: str, tmp_path: Path) -> None:
    append(log_dir, [b"a"], tmp_path)
    out = tmp_path / "tiles"
    export(log_dir, out)
    bad = tmp_path / "bad-since"
    bad.write_text("not a checkpoint")
    for since in (bad, tmp_path / "missing-since"):
        result = run_audit(out, vkey, "--since", since)
        assert result.exit_code == 2, result.output
        assert f"--since {since}" in result.output, result.output


def test_log_prove_reports_its_errors_as_json_under_json(tmp_path: Path) -> None:
    """``--json`` on ``log prove`` writes an error as the one JSON line docs/cli.md shows."""
    got = cvid("log", "prove", tmp_path / "nothing", "--index", "0", "--json")
    assert got.exit_code == 2
    err = json.loads(got.stderr.strip().splitlines()[-1])["error"]
    assert err["exit_code"] == 2 and err["kind"] == "bad_input"
