"""Go's own ``golang.org/x/mod/sumdb`` packages check cvid's log formats (DESIGN.md §1).

``gocheck/main.go`` is built once per session with Debian's ``golang-go`` and
``golang-golang-x-mod-dev`` (GOPATH mode, offline). It verifies exported ``tlog-tiles`` trees
with ``note.Open``, ``tlog.TileHashReader``, ``tlog.TreeHash``, ``tlog.ProveRecord`` /
``CheckRecord`` and ``tlog.ProveTree`` / ``CheckTree``, checks ``tlog-proof`` receipts, and signs
notes with Go keys for Python to verify. The tests skip when Go or the sumdb source is missing,
unless ``CVID_REQUIRE_GO=1`` (set by ``scripts/test.sh``), which makes that a failure.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cvid.errors import VerificationError
from cvid.keyfiles import write_signer
from cvid.store import Log, export_tiles
from cvid.tlog import note
from cvid.tlog.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from cvid.tlog.merkle import leaf_hash, tree_hash
from cvid.tlog.receipt import Receipt
from cvid.tlog.tiles import TILE_WIDTH, encode_bundle, tile_root, tiles_for_size

GOCHECK_SRC = Path(__file__).resolve().parent / "gocheck"
GOPATH = Path("/usr/share/gocode")
SUMDB = GOPATH / "src" / "golang.org" / "x" / "mod" / "sumdb"
ORIGIN = "example.org/log"
MAX_ENTRY = 0xFFFF

#: The sizes the large log is exported at: one full and one partial level-0 tile with a level-1
#: tile of width 1; a full level-1 tile under a level-2 tile; and full and partial tiles at
#: levels 0 and 1 under a level-2 tile.
SIZES = {"a": 300, "p2": 65_536, "b": 66_000}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def entry(i: int) -> bytes:
    """Entry ``i`` of the test logs: empty ones, 65,535-byte ones and short varied ones."""
    if i % 997 == 0:
        return b""
    if i in (1, 257, 65_535, 65_999) or i % 5_003 == 10:
        return bytes([i % 256]) * MAX_ENTRY
    return f"cvid entry {i} \u00e9\n".encode() * (1 + i % 5) + bytes([i % 256])


# -- the Go checker --------------------------------------------------------------------------


def go_env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO") or k == "GOROOT"}
    env.update(
        GO111MODULE="off",
        GOPATH=str(GOPATH),
        GOCACHE=str(cache),
        GOENV="off",
        GOTOOLCHAIN="local",
        CGO_ENABLED="0",
    )
    return env


@pytest.fixture(scope="session")
def gocheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The gocheck binary, built into a temporary directory."""
    go = shutil.which("go")
    missing = []
    if go is None:
        missing.append("the `go` command (Debian package golang-go)")
    for pkg in ("note", "tlog"):
        if not (SUMDB / pkg).is_dir():
            missing.append(f"{SUMDB / pkg} (Debian package golang-golang-x-mod-dev)")
    if missing:
        msg = "Go interoperability check needs " + " and ".join(missing)
        if os.environ.get("CVID_REQUIRE_GO") == "1":
            pytest.fail(msg + " (CVID_REQUIRE_GO=1)")
        pytest.skip(msg)
    assert go is not None
    out = tmp_path_factory.mktemp("gocheck")
    binary = out / "gocheck"
    proc = subprocess.run(
        [go, "build", "-o", str(binary), "."],
        cwd=GOCHECK_SRC,
        env=go_env(out / "gocache"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"go build failed:\n{proc.stdout}{proc.stderr}"
    return binary


def run(binary: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), *map(str, args)], capture_output=True, text=True, timeout=120
    )


def go_ok(binary: Path, *args: str | Path) -> dict[str, Any]:
    """Run gocheck, require success and return its JSON summary."""
    proc = run(binary, *args)
    assert proc.returncode == 0, f"gocheck {' '.join(map(str, args))} failed: {proc.stderr}"
    summary: dict[str, Any] = json.loads(proc.stdout)
    return summary


def go_fails(binary: Path, *args: str | Path, match: str) -> str:
    """Run gocheck, require it to fail (exit 1) saying ``match``; return its message."""
    proc = run(binary, *args)
    assert proc.returncode == 1, f"gocheck should have failed: {proc.stdout}{proc.stderr}"
    assert proc.stdout == ""
    assert match in proc.stderr, proc.stderr
    return proc.stderr


# -- the logs under test ---------------------------------------------------------------------


@dataclass
class BigLog:
    """A 66,000-entry log exported at the sizes of :data:`SIZES`, kept open for reference."""

    log: Log
    signer: note.Signer
    vkey: str
    root: Path
    roots: dict[int, bytes]
    #: an export made at 300 and re-exported into the same directory at 66,000
    incremental: Path
    #: the checkpoint the incremental export had at size 300
    incremental_old: Path
    #: a receipt for entry 7 taken when the log had 300 entries
    old_receipt: bytes

    def dir(self, name: str) -> Path:
        return self.root / name


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BigLog]:
    root = tmp_path_factory.mktemp("biglog")
    log = Log.create(root / "log", ORIGIN)
    assert log.signer is not None
    entries = [entry(i) for i in range(SIZES["b"])]
    roots: dict[int, bytes] = {}
    inc, inc_old = root / "incremental", root / "incremental-300.checkpoint"
    old_receipt = b""
    start = 0
    for name, size in SIZES.items():
        log.append(entries[start:size])
        start = size
        counts = export_tiles(log, root / name)
        assert counts["size"] == size
        roots[size] = log.root()
        if size == SIZES["a"]:
            export_tiles(log, inc)
            shutil.copyfile(inc / "checkpoint", inc_old)
            old_receipt = log.receipt(7).encode()
    assert export_tiles(log, inc)["kept"] > 0
    try:
        yield BigLog(log, log.signer, log.verifier.vkey, root, roots, inc, inc_old, old_receipt)
    finally:
        log.close()


def copy_export(big: BigLog, name: str, dest: Path) -> Path:
    out = dest / f"copy-{name}"
    shutil.copytree(big.dir(name), out)
    return out


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def signed(cp: Checkpoint, *signers: note.Signer) -> bytes:
    return note.sign(cp.text(), *signers).encode()


# -- exports verified by Go ------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SIZES))
def test_go_verifies_export(gocheck: Path, big: BigLog, name: str) -> None:
    size = SIZES[name]
    got = go_ok(gocheck, "verify", "-vkey", big.vkey, "-dir", big.dir(name))
    assert got["ok"] is True
    assert got["origin"] == ORIGIN
    assert got["size"] == size
    assert got["root"] == b64(big.roots[size])
    assert got["tree_hash_matches"] is True
    assert got["entries_checked"] == size
    assert got["empty_entries"] == sum(1 for i in range(size) if entry(i) == b"")
    assert got["max_entry_length"] == MAX_ENTRY
    tiles = tiles_for_size(size)
    # Go read, and authenticated against the signed root, every hash tile of the tree.
    assert got["hash_tiles_read"] == got["tiles_authenticated"] == len(tiles)
    assert got["bundles_read"] == sum(1 for t in tiles if t.level == 0)
    assert got["inclusion_proofs"] >= 64


def test_go_proves_every_entry_of_growing_small_log(gocheck: Path, tmp_path: Path) -> None:
    """Sizes 1 to 513 around tile edges: every entry proven, each export extends the last."""
    log = Log.create(tmp_path / "log", ORIGIN)
    vkey = log.verifier.vkey
    previous: Path | None = None
    with log:
        for size in (1, 2, 3, 255, 256, 257, 511, 512, 513):
            log.append([entry(i) for i in range(log.size, size)])
            out = tmp_path / f"export-{size}"
            export_tiles(log, out)
            args: list[str | Path] = ["verify", "-vkey", vkey, "-dir", out, "-all"]
            if previous is not None:
                args += ["-old", previous]
            got = go_ok(gocheck, *args)
            assert (got["size"], got["entries_checked"], got["inclusion_proofs"]) == (
                size,
                size,
                size,
            )
            assert got["root"] == b64(log.root())
            if previous is not None:
                old_size = int((previous / "checkpoint").read_text().split("\n")[1])
                assert got["old_size"] == old_size
                assert got["old_tiles_checked"] is True
                assert got["consistency_proof"] == [
                    b64(h) for h in log.consistency_proof(old_size, size)
                ]
            previous = out


@pytest.mark.parametrize(("old", "new"), [("a", "b"), ("a", "p2"), ("p2", "b"), ("b", "b")])
def test_go_proves_consistency_between_exports(
    gocheck: Path, big: BigLog, old: str, new: str
) -> None:
    got = go_ok(gocheck, "verify", "-vkey", big.vkey, "-dir", big.dir(new), "-old", big.dir(old))
    old_size, new_size = SIZES[old], SIZES[new]
    assert (got["size"], got["old_size"]) == (new_size, old_size)
    assert got["old_root"] == b64(big.roots[old_size])
    assert got["old_tiles_checked"] is True
    # Go's consistency proof, built from the tiles, is hash for hash the one cvid builds.
    python_proof = [b64(h) for h in big.log.consistency_proof(old_size, new_size)]
    assert got["consistency_proof"] == python_proof
    assert (len(python_proof) == 0) == (old_size == new_size)


def test_go_verifies_incremental_export(gocheck: Path, big: BigLog) -> None:
    """Exporting again into the same directory keeps old files and extends the old tree."""
    got = go_ok(
        gocheck, "verify", "-vkey", big.vkey, "-dir", big.incremental, "-old", big.incremental_old
    )
    assert (got["size"], got["old_size"]) == (SIZES["b"], SIZES["a"])
    assert got["root"] == b64(big.roots[SIZES["b"]])
    assert got["old_root"] == b64(big.roots[SIZES["a"]])
    assert "old_tiles_checked" not in got  # a checkpoint file, not a directory
    # The directory is the same tree as the one exported afresh, file for file.
    assert (big.incremental / "checkpoint").read_bytes() == (
        big.dir("b") / "checkpoint"
    ).read_bytes()
    for tile in tiles_for_size(SIZES["b"]):
        assert (big.incremental / tile.path()).read_bytes() == (
            big.dir("b") / tile.path()
        ).read_bytes()


def test_go_accepts_checkpoint_cosigned_by_unknown_key(
    gocheck: Path, big: BigLog, tmp_path: Path
) -> None:
    out = copy_export(big, "a", tmp_path)
    cp = Checkpoint(ORIGIN, SIZES["a"], big.roots[SIZES["a"]])
    witness = note.Signer.generate("witness.example")
    (out / "checkpoint").write_bytes(signed(cp, big.signer, witness))
    got = go_ok(gocheck, "verify", "-vkey", big.vkey, "-dir", out)
    assert got["root"] == b64(cp.root)


# -- receipts verified by Go -----------------------------------------------------------------


def test_go_verifies_receipts(gocheck: Path, big: BigLog, tmp_path: Path) -> None:
    size = SIZES["b"]
    indexes = [0, 1, 7, 255, 256, 65_535, 65_536, 65_791, 65_792, size - 1]
    args: list[str | Path] = ["verify", "-vkey", big.vkey, "-dir", big.dir("b"), "-sample", "0"]
    for i in indexes:
        path = tmp_path / f"receipt-{i}"
        extra = b"submitter reference" if i % 2 else None
        path.write_bytes(big.log.receipt(i, extra=extra).encode())
        args += ["-receipt", path]
    old = tmp_path / "receipt-7-at-300"
    old.write_bytes(big.old_receipt)
    args += ["-receipt", old]
    got = go_ok(gocheck, *args)
    want = [f"index {i} in tree {size}" for i in indexes] + [f"index 7 in tree {SIZES['a']}"]
    assert got["receipts"] == want


@pytest.mark.parametrize("index", [0, 1, 300, 65_999])
def test_go_verifies_receipt_with_entry_file(
    gocheck: Path, big: BigLog, tmp_path: Path, index: int
) -> None:
    """Offline, as a submitter would: the receipt and the entry, no tiles."""
    receipt, ent = tmp_path / "receipt", tmp_path / "entry"
    receipt.write_bytes(big.log.receipt(index).encode())
    ent.write_bytes(entry(index))
    got = go_ok(gocheck, "verify", "-vkey", big.vkey, "-receipt", receipt, "-entry", ent)
    assert got["receipts"] == [f"index {index} in tree {SIZES['b']}"]
    assert "size" not in got


def test_go_verifies_receipt_from_cli(gocheck: Path, tmp_path: Path) -> None:
    """A receipt printed by ``cvid log prove`` (after ``cvid log append``)."""
    cvid = [sys.executable, "-m", "cvid.cli.main"]
    directory = tmp_path / "log"
    init = subprocess.run(
        [*cvid, "log", "init", str(directory), "--origin", ORIGIN],
        capture_output=True,
        text=True,
        check=True,
    )
    vkey = init.stdout.strip().splitlines()[0]
    lines = "".join(f"line {i}\n" for i in range(1, 301))
    subprocess.run(
        [*cvid, "log", "append", str(directory)],
        input=lines,
        capture_output=True,
        check=True,
        text=True,
    )
    prove = subprocess.run(
        [*cvid, "log", "prove", str(directory), "--index", "257"],
        capture_output=True,
        check=True,
    )
    receipt, ent = tmp_path / "receipt", tmp_path / "entry"
    receipt.write_bytes(prove.stdout)
    ent.write_bytes(b"line 258")
    got = go_ok(gocheck, "verify", "-vkey", vkey, "-receipt", receipt, "-entry", ent)
    assert got["receipts"] == ["index 257 in tree 300"]
    ent.write_bytes(b"line 258\n")
    go_fails(
        gocheck, "verify", "-vkey", vkey, "-receipt", receipt, "-entry", ent, match="CheckRecord"
    )


# -- negative cases: the checker can fail ----------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "match"),
    [
        ("tile/0/000", "hash tile tile/0/000 hashes to"),
        ("tile/0/256", "hash tile tile/0/256 hashes to"),  # its parent is tile/1/001.p/1
        ("tile/0/257.p/208", "TreeHash(66000) from the tiles"),
        ("tile/1/000", "but its parent tile/1/000 has"),
        ("tile/1/001.p/1", "TreeHash(66000) from the tiles"),
        ("tile/2/000.p/1", "TreeHash(66000) from the tiles"),
    ],
)
def test_go_rejects_flipped_hash_tile(
    gocheck: Path, big: BigLog, tmp_path: Path, rel: str, match: str
) -> None:
    out = copy_export(big, "b", tmp_path)
    path = out / rel
    flip(path, path.stat().st_size // 2 + 3)
    go_fails(gocheck, "verify", "-vkey", big.vkey, "-dir", out, match=match)


@pytest.mark.parametrize("depth", [1, 2])
def test_go_rejects_consistently_forged_entry(
    gocheck: Path, big: BigLog, tmp_path: Path, depth: int
) -> None:
    """A forged entry 128 with its leaf hash in tile/0/000 (and, at depth 2, tile/1/000 made to
    match): Go's TileHashReader alone returns such tiles unchecked at size 66,000, so gocheck
    authenticates every tile itself."""
    out = copy_export(big, "b", tmp_path)
    entries = [entry(i) for i in range(TILE_WIDTH)]
    entries[128] = b"forged"
    (out / "tile/entries/000").write_bytes(encode_bundle(entries))
    level0 = [leaf_hash(e) for e in entries]
    (out / "tile/0/000").write_bytes(b"".join(level0))
    match = "hash tile tile/0/000 hashes to"
    if depth == 2:
        level1 = bytearray((out / "tile/1/000").read_bytes())
        level1[:32] = tile_root(level0)
        (out / "tile/1/000").write_bytes(bytes(level1))
        match = "hash tile tile/1/000 hashes to"
    go_fails(gocheck, "verify", "-vkey", big.vkey, "-dir", out, match=match)


def _bundle_offset(tile_n: int, k: int) -> int:
    """Offset of a byte in the middle of entry ``k`` of bundle ``tile_n``."""
    first = tile_n * TILE_WIDTH
    before = encode_bundle(entry(i) for i in range(first, first + k))
    e = entry(first + k)
    assert e, "pick a non-empty entry"
    return len(before) + 2 + len(e) // 2


BundleMutation = Callable[[bytes], bytes]


def _flip_at(offset: int) -> BundleMutation:
    def mutate(data: bytes) -> bytes:
        b = bytearray(data)
        b[offset] ^= 0x80
        return bytes(b)

    return mutate


@pytest.mark.parametrize(
    ("rel", "mutate", "match"),
    [
        ("tile/entries/000", _flip_at(_bundle_offset(0, 5)), "entry 5 (in tile/entries/000)"),
        ("tile/entries/000", _flip_at(_bundle_offset(0, 1)), "entry 1 (in tile/entries/000)"),
        (
            "tile/entries/257.p/208",
            _flip_at(_bundle_offset(257, 207)),
            "entry 65999 (in tile/entries/257.p/208)",
        ),
        ("tile/entries/257.p/208", lambda d: d[:-1], "runs past the end"),
        ("tile/entries/257.p/208", lambda d: d + b"\x00\x00", "has 209 entries, expected 208"),
        ("tile/entries/001", lambda d: d[:1], "truncated length at byte 0"),
    ],
)
def test_go_rejects_bad_entry_bundle(
    gocheck: Path, big: BigLog, tmp_path: Path, rel: str, mutate: BundleMutation, match: str
) -> None:
    out = copy_export(big, "b", tmp_path)
    path = out / rel
    path.write_bytes(mutate(path.read_bytes()))
    go_fails(gocheck, "verify", "-vkey", big.vkey, "-dir", out, match=match)


def test_go_rejects_missing_tile(gocheck: Path, big: BigLog, tmp_path: Path) -> None:
    out = copy_export(big, "b", tmp_path)
    (out / "tile/0/001").unlink()
    go_fails(gocheck, "verify", "-vkey", big.vkey, "-dir", out, match="tile/0/001: no such file")


@pytest.mark.parametrize("case", ["other key", "tampered text", "wrong root", "other origin"])
def test_go_rejects_bad_checkpoint(gocheck: Path, big: BigLog, tmp_path: Path, case: str) -> None:
    out = copy_export(big, "a", tmp_path)
    size, root = SIZES["a"], big.roots[SIZES["a"]]
    if case == "other key":  # the same name, another key: Go knows no key that signed it
        data = signed(Checkpoint(ORIGIN, size, root), note.Signer.generate(ORIGIN))
        match = "no verifiable signatures"
    elif case == "tampered text":  # the log's signature over other text
        genuine = (out / "checkpoint").read_bytes()
        data = genuine.replace(b"\n300\n", b"\n299\n", 1)
        assert data != genuine
        match = "invalid signature"
    elif case == "wrong root":  # signed by the log key, but the tiles have another root
        data = signed(Checkpoint(ORIGIN, size, hashlib.sha256(b"x").digest()), big.signer)
        match = "TreeHash(300) from the tiles"
    else:  # signed by the log key, but for another log
        data = signed(Checkpoint("example.org/other", size, root), big.signer)
        match = 'origin "example.org/other", expected "example.org/log"'
    (out / "checkpoint").write_bytes(data)
    go_fails(gocheck, "verify", "-vkey", big.vkey, "-dir", out, match=match)


def test_go_rejects_export_under_another_vkey(gocheck: Path, big: BigLog) -> None:
    other = note.Signer.generate(ORIGIN).verifier.vkey
    go_fails(
        gocheck, "verify", "-vkey", other, "-dir", big.dir("a"), match="no verifiable signatures"
    )


@pytest.mark.parametrize("case", ["wrong root", "size 0", "beyond new", "other key"])
def test_go_rejects_bad_old_checkpoint(
    gocheck: Path, big: BigLog, tmp_path: Path, case: str
) -> None:
    old = tmp_path / "old.checkpoint"
    size, new = SIZES["a"], "b"
    if case == "wrong root":  # properly signed, but not a prefix of the new tree
        data = signed(Checkpoint(ORIGIN, size, hashlib.sha256(b"x").digest()), big.signer)
        match = "CheckTree"
    elif case == "size 0":
        data = signed(Checkpoint(ORIGIN, 0, hashlib.sha256(b"").digest()), big.signer)
        match = "old checkpoint size is 0"
    elif case == "beyond new":
        data, new = (big.dir("b") / "checkpoint").read_bytes(), "a"
        match = "old checkpoint size 66000 is beyond the new size 300"
    else:
        data = signed(Checkpoint(ORIGIN, size, big.roots[size]), note.Signer.generate(ORIGIN))
        match = "old checkpoint: note.Open"
    old.write_bytes(data)
    go_fails(gocheck, "verify", "-vkey", big.vkey, "-dir", big.dir(new), "-old", old, match=match)


def test_go_rejects_old_root_of_another_size(gocheck: Path, big: BigLog, tmp_path: Path) -> None:
    """The genuine root of size 299, signed by the log key as size 300's: CheckTree must fail."""
    old = tmp_path / "old.checkpoint"
    root_299 = tree_hash(299, big.log.reader())
    assert root_299 != big.roots[SIZES["a"]]
    old.write_bytes(sign_checkpoint(Checkpoint(ORIGIN, SIZES["a"], root_299), big.signer).encode())
    go_fails(
        gocheck, "verify", "-vkey", big.vkey, "-dir", big.dir("b"), "-old", old, match="CheckTree"
    )


@pytest.mark.parametrize(
    "case", ["other entry", "flipped proof hash", "other index", "short proof"]
)
def test_go_rejects_bad_receipt(gocheck: Path, big: BigLog, tmp_path: Path, case: str) -> None:
    index = 1000
    rec = big.log.receipt(index)
    ent = entry(index)
    if case == "other entry":
        ent = entry(index + 1)
    elif case == "flipped proof hash":
        bad = bytearray(rec.proof[3])
        bad[0] ^= 1
        rec = Receipt(rec.index, (*rec.proof[:3], bytes(bad), *rec.proof[4:]), rec.checkpoint)
    elif case == "other index":
        rec = Receipt(index + 1, rec.proof, rec.checkpoint)
    else:
        rec = Receipt(rec.index, rec.proof[:-1], rec.checkpoint)
    receipt, ent_file = tmp_path / "receipt", tmp_path / "entry"
    receipt.write_bytes(rec.encode())
    ent_file.write_bytes(ent)
    go_fails(
        gocheck,
        "verify",
        "-vkey",
        big.vkey,
        "-receipt",
        receipt,
        "-entry",
        ent_file,
        match="CheckRecord",
    )


def test_go_rejects_receipt_signed_by_another_key(
    gocheck: Path, big: BigLog, tmp_path: Path
) -> None:
    rec = big.log.receipt(5)
    cp = open_checkpoint(rec.checkpoint, big.log.verifier).checkpoint
    forged = Receipt(rec.index, rec.proof, signed(cp, note.Signer.generate(ORIGIN)))
    receipt, ent = tmp_path / "receipt", tmp_path / "entry"
    receipt.write_bytes(forged.encode())
    ent.write_bytes(entry(5))
    go_fails(
        gocheck,
        "verify",
        "-vkey",
        big.vkey,
        "-receipt",
        receipt,
        "-entry",
        ent,
        match="receipt checkpoint: note.Open",
    )


# -- key formats, both directions ------------------------------------------------------------


def test_python_opens_note_signed_by_go_key(gocheck: Path, tmp_path: Path) -> None:
    """Go generates a key and signs; Python parses its vkey and skey and verifies its note."""
    root = hashlib.sha256(b"go").digest()
    text = f"example.org/go\n42\n{b64(root)}\n"
    (tmp_path / "text").write_text(text)
    got = go_ok(
        gocheck, "sign", "-name", "example.org/go", "-text", tmp_path / "text", "-out", tmp_path
    )
    vkey = (tmp_path / "vkey").read_text().strip()
    skey = (tmp_path / "skey").read_text().strip()
    go_note = (tmp_path / "note").read_bytes()
    assert got == {"name": "example.org/go", "vkey": vkey}

    verifier = note.Verifier.from_vkey(vkey)
    assert verifier.name == "example.org/go"
    assert verifier.vkey == vkey
    opened = note.open_note(go_note, [verifier])
    assert opened.text == text
    cp = open_checkpoint(go_note, verifier).checkpoint
    assert (cp.origin, cp.size, cp.root) == ("example.org/go", 42, root)

    signer = note.Signer.from_skey(skey)
    assert signer.skey == skey
    assert signer.verifier == verifier
    # Ed25519 is deterministic: Python signing with Go's key reproduces Go's note exactly.
    assert note.sign(text, signer).encode() == go_note

    with pytest.raises(VerificationError):
        note.open_note(go_note, [note.Signer.generate("example.org/go").verifier])
    with pytest.raises(VerificationError):
        note.open_note(go_note.replace(b"\n42\n", b"\n43\n"), [verifier])


def test_go_signs_with_python_key(gocheck: Path, tmp_path: Path) -> None:
    """Python generates a key; Go parses its skey, derives the same vkey, signs identically."""
    signer = note.Signer.generate("example.org/py")
    write_signer(signer, tmp_path / "skey")
    text = "example.org/py\n7\n" + b64(hashlib.sha256(b"py").digest()) + "\n"
    (tmp_path / "text").write_text(text)
    got = go_ok(
        gocheck, "sign", "-skey", tmp_path / "skey", "-text", tmp_path / "text", "-out", tmp_path
    )
    assert got["vkey"] == signer.verifier.vkey
    assert (tmp_path / "vkey").read_text().strip() == signer.verifier.vkey
    go_note = (tmp_path / "note").read_bytes()
    assert go_note == note.sign(text, signer).encode()
    assert note.open_note(go_note, [signer.verifier]).text == text


def test_go_checker_usage_errors_exit_2(gocheck: Path, big: BigLog) -> None:
    for args in (
        ["verify", "-dir", str(big.dir("a"))],  # no -vkey
        ["verify", "-vkey", big.vkey],  # nothing to check
        ["verify", "-vkey", big.vkey, "-receipt", "r"],  # a receipt without its entry
        ["frobnicate"],
    ):
        proc = run(gocheck, *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.startswith("gocheck: ")
