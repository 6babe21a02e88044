"""``cvid receipt verify`` remembers the checkpoint it accepts and holds later receipts to it:
the same root at the same size, and, of another size, a consistency proof from the log's tiles
(``--log``); a forked log signed by the same key is caught either way."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from kit import cvid, ok


def _log(directory: Path, tmp: Path, lines: list[bytes]) -> None:
    src = tmp / f"{directory.name}-{len(lines)}.bin"
    src.write_bytes(b"".join(line + b"\n" for line in lines))
    ok(cvid("log", "append", directory, src))


def _receipt(directory: Path, index: int, into: Path) -> Path:
    into.write_bytes(ok(cvid("log", "prove", directory, "--index", index)).stdout.encode())
    return into


def test_receipts_are_held_to_the_remembered_checkpoint(tmp_path: Path) -> None:
    honest = tmp_path / "honest"
    vkey = ok(cvid("log", "init", honest, "--origin", "cvid.test/receipts")).stdout.strip()
    _log(honest, tmp_path, [b"a", b"b"])
    fork = tmp_path / "fork"
    shutil.copytree(honest, fork)  # the same key: the operator shows two histories
    _log(honest, tmp_path, [b"c"])
    small = _receipt(honest, 2, tmp_path / "small.tlog-proof")
    _log(honest, tmp_path, [b"d"])
    large = _receipt(honest, 3, tmp_path / "large.tlog-proof")
    _log(fork, tmp_path, [b"x", b"y"])
    forked = _receipt(fork, 3, tmp_path / "forked.tlog-proof")
    entries = {"c": tmp_path / "c", "d": tmp_path / "d", "y": tmp_path / "y"}
    for name, path in entries.items():
        path.write_bytes(name.encode())
    tiles = {"honest": tmp_path / "honest-tiles", "fork": tmp_path / "fork-tiles"}
    ok(cvid("log", "export", honest, tiles["honest"]))
    ok(cvid("log", "export", fork, tiles["fork"]))

    def verify(receipt: Path, entry: str, state: Path, *more: str | Path) -> tuple[int, str]:
        r = cvid(
            "receipt",
            "verify",
            receipt,
            "--vkey",
            vkey,
            "--entry",
            entries[entry],
            "--state-dir",
            state,
            *more,
        )
        return r.exit_code, r.output

    state = tmp_path / "state"
    code, out = verify(small, "c", state)
    assert code == 0 and json.loads(out)["consistency"] == "none"
    code, out = verify(large, "d", state)
    assert code == 0 and json.loads(out)["consistency"] == "unchecked"
    code, out = verify(large, "d", state, "--log", tiles["honest"])
    assert code == 0 and json.loads(out)["consistency"] == "proven"
    # Size 4 is now remembered: the fork's size-4 checkpoint is a split view.
    code, out = verify(forked, "y", state)
    assert code == 1 and "a split view" in out, out

    # A verifier that remembers size 3 and is shown the fork's size 4 with its tiles: the
    # fork's tiles do not extend the checkpoint it accepted.
    other = tmp_path / "other-state"
    assert verify(small, "c", other)[0] == 0
    code, out = verify(forked, "y", other, "--log", tiles["fork"])
    assert code == 1 and "are not consistent" in out, out
    code, out = verify(forked, "y", other, "--log", tiles["honest"])
    assert code != 0, out  # honest tiles do not hash to the fork's root: proves nothing
