"""Tampering is found, and the finding says where.

A stored log is rewritten by someone who first drops the append-only triggers, then checked with
``cvid log verify``; an exported tiles tree is damaged file by file, then checked with
``cvid audit``. Exit codes: 1 for a finding, 2 for a source that cannot be used at all.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cvid.cli.main import app
from cvid.store import Log, export_tiles
from cvid.tlog.checkpoint import Checkpoint, sign_checkpoint
from cvid.tlog.note import Signer
from kit import cvid, raw_sql

ORIGIN = "cvid.test/tamper"
SIZE = 300  # one full level-0 tile (entries 0-255) and a partial one (256-299)


def entry(i: int) -> bytes:
    return b"entry-%d" % i


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    """A log of SIZE entries with a checkpoint at SIZE (closed)."""
    directory = tmp_path / "log"
    with Log.create(directory, ORIGIN) as log:
        log.append([entry(i) for i in range(SIZE)])
        log.checkpoint()
    return directory


def rewrite(directory: Path, table: str, sql: str, *args: object) -> None:
    """Change a row as an attacker with the database file would: drop the trigger first."""
    db = sqlite3.connect(directory / "log.db")
    try:
        db.execute(f"DROP TRIGGER {table}_no_update")
        assert db.execute(sql, args).rowcount == 1
        db.commit()
    finally:
        db.close()


def verify(directory: Path) -> tuple[Result, dict[str, object]]:
    result = cvid("log", "verify", directory)
    return result, json.loads(result.stdout)


def test_intact_log_verifies(log_dir: Path) -> None:
    result, report = verify(log_dir)
    assert result.exit_code == 0, result.output
    assert report == {"ok": True, "size": SIZE, "problems": []}


def test_entry_rewritten_in_a_full_tile(log_dir: Path) -> None:
    rewrite(log_dir, "entries", "UPDATE entries SET data = ? WHERE idx = 5", b"forged")
    result, report = verify(log_dir)
    assert result.exit_code == 1
    assert report["ok"] is False
    assert "tile (0, 0)" in result.output and "entry 5" in result.output, result.output


def test_entry_rewritten_in_the_partial_tail(log_dir: Path) -> None:
    rewrite(log_dir, "entries", "UPDATE entries SET data = ? WHERE idx = 280", b"forged")
    result, _ = verify(log_dir)
    assert result.exit_code == 1
    assert "checkpoint of size 300" in result.output, result.output


def test_stored_tile_rewritten(log_dir: Path) -> None:
    db = sqlite3.connect(log_dir / "log.db")
    (hashes,) = db.execute("SELECT hashes FROM tiles WHERE level = 0 AND idx = 0").fetchone()
    db.close()
    forged = bytearray(hashes)
    forged[7 * 32 + 3] ^= 0x10  # hash 7, the leaf hash of entry 7
    rewrite(log_dir, "tiles", "UPDATE tiles SET hashes = ? WHERE level = 0", bytes(forged))
    result, _ = verify(log_dir)
    assert result.exit_code == 1
    assert "tile (0, 0)" in result.output and "entry 7" in result.output, result.output


def test_stored_interior_node_rewritten(log_dir: Path) -> None:
    db = sqlite3.connect(log_dir / "log.db")
    (nodes,) = db.execute("SELECT nodes FROM tile_nodes WHERE level = 0 AND idx = 0").fetchone()
    db.close()
    pos = (128 + 3) * 32  # node 3 of level 2 within the tile (after level 1's 128 nodes)
    forged = nodes[:pos] + bytes([nodes[pos] ^ 1]) + nodes[pos + 1 :]
    rewrite(log_dir, "tile_nodes", "UPDATE tile_nodes SET nodes = ? WHERE idx = 0", forged)
    result, report = verify(log_dir)
    assert result.exit_code == 1
    assert report["ok"] is False
    assert "interior nodes of tile (0, 0)" in result.output, result.output
    assert "node 3 of level 2" in result.output, result.output


def test_stored_checkpoint_replaced_by_another_keys(log_dir: Path) -> None:
    with Log.open(log_dir) as log:
        root = log.root()
    other = sign_checkpoint(Checkpoint(ORIGIN, SIZE, root), Signer.generate(ORIGIN)).encode()
    rewrite(log_dir, "checkpoints", "UPDATE checkpoints SET note = ? WHERE size = 300", other)
    result, _ = verify(log_dir)
    assert result.exit_code == 1
    assert "checkpoint of size 300" in result.output, result.output


def raw(directory: Path, *sql: str) -> None:
    """Run statements on the log's database as an attacker (or a crash of the disk) would."""
    raw_sql(directory / "log.db", *sql)


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (["DROP TRIGGER tiles_no_delete", "DELETE FROM tiles"], "tile (0, 0) is missing"),
        (
            ["DROP TRIGGER tiles_no_update", "UPDATE tiles SET hashes = substr(hashes, 2)"],
            "tile (0, 0) is 8191 bytes, not 8192",
        ),
        (
            ["DROP TRIGGER entries_no_gap", "INSERT INTO entries VALUES (310, x'00')"],
            "entry 300 is missing",
        ),
    ],
    ids=["missing-edge-tile", "truncated-edge-tile", "gap"],
)
def test_damage_that_stops_the_log_opening_is_a_finding(
    log_dir: Path, damage: list[str], said: str
) -> None:
    raw(log_dir, *damage)
    result, report = verify(log_dir)
    assert result.exit_code == 1, result.output
    assert report["ok"] is False
    assert said in result.output, result.output
    # Commands that need the tree refuse plainly, pointing to verify.
    append = CliRunner().invoke(app, ["log", "append", str(log_dir)], input=b"x\n")
    assert append.exit_code == 2, append.output
    assert "cvid log verify" in append.output and "Traceback" not in append.output


def test_verify_of_a_foreign_database_exits_2_naming_it(tmp_path: Path) -> None:
    directory = tmp_path / "notalog"
    directory.mkdir()
    db = sqlite3.connect(directory / "log.db")
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    result = cvid("log", "verify", directory)
    assert result.exit_code == 2
    assert str(directory / "log.db") in result.output and "not a cvid log" in result.output


# -- exported tiles and `cvid audit` --------------------------------------------------------------


@pytest.fixture
def tiles(log_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "tiles"
    with Log.open(log_dir) as log:
        export_tiles(log, out)
        (tmp_path / "vkey").write_text(log.verifier.vkey + "\n")
    return out


def audit(tiles: Path) -> Result:
    return cvid("audit", tiles, "--vkey", tiles.parent / "vkey")


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_intact_tiles_pass_the_audit(tiles: Path) -> None:
    assert sorted(str(p.relative_to(tiles)) for p in tiles.rglob("*") if p.is_file()) == [
        "checkpoint",
        "tile/0/000",
        "tile/0/001.p/44",
        "tile/1/000.p/1",
        "tile/entries/000",
        "tile/entries/001.p/44",
    ]
    result = audit(tiles)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["ok"], report["size"], report["entries_checked"]) == (True, SIZE, SIZE)


@pytest.mark.parametrize(
    ("rel", "offset", "named"),
    [
        ("tile/0/000", 9 * 32 + 31, "entry 9 (log index 9) does not hash to hash 9 of tile/0/000"),
        ("tile/0/001.p/44", 43 * 32, "does not hash to hash 43 of tile/0/001.p/44"),
        ("tile/1/000.p/1", 0, "tile/1/000.p/1: hash 0"),
        ("tile/entries/000", 0, "tile/entries/000"),  # a length prefix: the bundle misparses
        ("tile/entries/001.p/44", 1, "tile/entries/001.p/44"),
    ],
)
def test_changed_byte_in_a_served_file(tiles: Path, rel: str, offset: int, named: str) -> None:
    flip(tiles / rel, offset)
    result = audit(tiles)
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["ok"] is False
    assert named in result.output, result.output


def test_changed_entry_bytes_in_a_bundle_are_found(tiles: Path) -> None:
    flip(tiles / "tile/entries/000", 2 + 1)  # inside entry 0, after its 2-byte length
    result = audit(tiles)
    assert result.exit_code == 1, result.output
    # The recomputed leaf hash of entry 0 no longer matches the served tile, nor the root.
    assert "entry 0 (log index 0) does not hash to hash 0 of tile/0/000" in result.output
    assert "differs from the checkpoint's root" in result.output


def test_changed_entry_bytes_name_the_bundle(tiles: Path) -> None:
    flip(tiles / "tile/entries/000", 2 + 1)
    result = audit(tiles)
    assert result.exit_code == 1
    assert "tile/entries/000" in result.output, result.output


@pytest.mark.parametrize(
    "rel", ["tile/0/000", "tile/0/001.p/44", "tile/1/000.p/1", "tile/entries/001.p/44"]
)
def test_deleted_file(tiles: Path, rel: str) -> None:
    (tiles / rel).unlink()
    result = audit(tiles)
    assert result.exit_code == 1, result.output
    assert rel in result.output


def test_truncated_tile(tiles: Path) -> None:
    path = tiles / "tile/0/000"
    path.write_bytes(path.read_bytes()[:-1])
    result = audit(tiles)
    assert result.exit_code == 1
    assert "tile/0/000" in result.output and "8191 bytes" in result.output, result.output


def _replace_checkpoint_with_another_keys(tiles: Path) -> None:
    text = (tiles / "checkpoint").read_bytes().decode().split("\n\n")[0] + "\n"
    forged = sign_checkpoint(Checkpoint.parse(text), Signer.generate(ORIGIN))
    (tiles / "checkpoint").write_bytes(forged.encode())


def test_checkpoint_signed_by_another_key(tiles: Path) -> None:
    _replace_checkpoint_with_another_keys(tiles)
    result = audit(tiles)
    assert result.exit_code == 1, result.output
    assert "no signature from a known key" in result.output


def _garble_checkpoint(tiles: Path) -> None:
    (tiles / "checkpoint").write_bytes(b"not a note")


@pytest.mark.parametrize(
    "damage", [_replace_checkpoint_with_another_keys, _garble_checkpoint], ids=["key", "garbled"]
)
def test_checkpoint_problems_name_the_file(tiles: Path, damage: Callable[[Path], None]) -> None:
    damage(tiles)
    result = audit(tiles)
    assert result.exit_code in (1, 2)
    assert "checkpoint" in result.output, result.output


def test_deleted_checkpoint_exits_2_naming_it(tiles: Path) -> None:
    (tiles / "checkpoint").unlink()
    result = audit(tiles)
    assert result.exit_code == 2, result.output
    assert "checkpoint: No such file" in result.output


def test_garbled_checkpoint_exits_2(tiles: Path) -> None:
    _garble_checkpoint(tiles)
    result = audit(tiles)
    assert result.exit_code == 2, result.output
    assert "note has no blank line" in result.output


def test_missing_source_directory_exits_2(tiles: Path) -> None:
    result = cvid("audit", tiles.parent / "nowhere", "--vkey", tiles.parent / "vkey")
    assert result.exit_code == 2
    assert "nowhere" in result.output
