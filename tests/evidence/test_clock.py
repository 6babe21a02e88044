"""The ledger's clock: every batch's checkpoint cosigned with the time, and logged times.

A record's logged time is the time of the first clock-cosigned checkpoint covering it; the clock
mode (``log`` or ``reported``) is chosen at creation and recorded in ``ledger.json``. The Go
check at the end opens a ledger's exported checkpoint (with its cosignature line) and receipts
with Go's own ``golang.org/x/mod/sumdb/note`` and ``tlog``.
"""

from __future__ import annotations

import importlib.util
import json
import stat
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from evidence_kit import NOW, World
from typer.testing import CliRunner

from cvid.cli.main import app
from cvid.errors import InputError, StoreError
from cvid.evidence import Ledger
from cvid.store import export_tiles
from cvid.tlog.checkpoint import open_checkpoint
from cvid.tlog.cosignature import CosignerKey, verify_cosignature
from cvid.tlog.note import Signer

ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    """A settable "now" for the ledger (the time check and the clock's cosignatures)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def ledger(world: World, tmp_path: Path, clock: FakeClock) -> Iterator[Ledger]:
    with Ledger.create(tmp_path / "ledger", world.package, clock=clock) as made:
        yield made


def sub(ledger: Ledger, world: World, n: int, **fields: Any) -> list[int]:
    """Submit ``n`` distinct US declarations as one batch."""
    batch = [
        world.signed(values={"deployed_warheads": {"value": 1000 + i, "unit": "warhead"}}, **fields)
        for i in range(ledger.size, ledger.size + n)
    ]
    return ledger.submit(batch)


def test_create_writes_the_clock_key_and_mode(ledger: Ledger) -> None:
    meta = json.loads((ledger.directory / "ledger.json").read_text())
    assert meta["clock"] == "log" and ledger.clock_mode == "log"
    key = CosignerKey.from_vkey(meta["clock_vkey"])
    assert key.name == "cvid.ledger/new-start/clock"
    path = ledger.directory / "clock.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert CosignerKey.of(Signer.read(path)) == key == ledger.clock_key
    assert meta["clock_vkey"] != meta["log_vkey"]


def test_create_historical_ledger_and_refuse_unknown_modes(world: World, tmp_path: Path) -> None:
    with Ledger.create(tmp_path / "h", world.package, clock_mode="reported") as made:
        assert made.clock_mode == "reported"
    with Ledger.open(tmp_path / "h") as again:
        assert again.clock_mode == "reported"
    with pytest.raises(InputError, match="clock mode 'wall'"):
        Ledger.create(tmp_path / "x", world.package, clock_mode="wall")  # type: ignore[arg-type]


def test_each_batch_is_cosigned_with_the_clock_time(
    ledger: Ledger, world: World, clock: FakeClock
) -> None:
    assert sub(ledger, world, 2) == [0, 1]
    latest = ledger.log.latest_checkpoint()
    assert latest is not None and latest.checkpoint.size == 2
    assert [s.name for s in latest.note.signatures] == [
        "cvid.ledger/new-start",
        "cvid.ledger/new-start/clock",
    ]
    assert ledger.clock_key is not None
    assert ledger.clock_key.verify(latest.note) == int(NOW.timestamp())
    clock.now = NOW + timedelta(hours=1, seconds=30.7)
    sub(ledger, world, 1)
    later = int((NOW + timedelta(hours=1, seconds=30)).timestamp())
    assert ledger.logged_times() == [NOW, NOW, datetime.fromtimestamp(later, UTC)]
    assert [r.logged_at for r in ledger.records()] == ledger.logged_times()
    assert ledger.record(2).logged_at == datetime.fromtimestamp(later, UTC)
    # A receipt carries the cosigned checkpoint.
    receipt = ledger.receipt(0)
    assert verify_cosignature(
        receipt.checkpoint, ledger.clock_key.name, ledger.clock_key.public_key
    )


def test_times_of_a_prefix_are_final(ledger: Ledger, world: World, clock: FakeClock) -> None:
    sub(ledger, world, 2)
    clock.now = NOW + timedelta(days=1)
    sub(ledger, world, 2)
    assert ledger.logged_times(2) == [NOW, NOW]
    assert ledger.logged_times(3) == [NOW, NOW, None]  # no cosigned checkpoint of size 3
    assert ledger.logged_times(4)[2:] == [NOW + timedelta(days=1)] * 2
    with pytest.raises(InputError):
        ledger.logged_times(5)


def test_the_clock_never_goes_back(ledger: Ledger, world: World, clock: FakeClock) -> None:
    sub(ledger, world, 1)
    clock.now = NOW - timedelta(days=3)
    sub(ledger, world, 1, reported_at="2017-10-01T00:00:00Z", observed_at="2017-09-02T00:00:00Z")
    assert ledger.logged_times() == [NOW, NOW]


def test_records_under_an_uncosigned_checkpoint_wait_for_the_next_cosigned_one(
    world: World, tmp_path: Path, clock: FakeClock
) -> None:
    directory = tmp_path / "ledger"
    with Ledger.create(directory, world.package, clock=clock) as ledger:
        ledger.log.cosigners = ()  # as if signed by `cvid log` tools that know no clock
        sub(ledger, world, 2)
        assert ledger.log.latest_checkpoint() is not None
        assert [r.logged_at for r in ledger.records()] == [None, None]
    clock.now = NOW + timedelta(days=2)
    with Ledger.open(directory, clock=clock) as ledger:
        sub(ledger, world, 1)
        assert ledger.logged_times() == [NOW + timedelta(days=2)] * 3


def test_a_ledger_from_before_clocks_gets_one_at_its_next_batch(
    world: World, tmp_path: Path, clock: FakeClock
) -> None:
    directory = tmp_path / "ledger"
    with Ledger.create(directory, world.package, clock=clock) as ledger:
        ledger.log.cosigners = ()
        sub(ledger, world, 1)
    meta = json.loads((directory / "ledger.json").read_text())
    del meta["clock"], meta["clock_vkey"]
    (directory / "ledger.json").write_text(json.dumps(meta))
    (directory / "clock.key").unlink()
    with Ledger.open(directory, clock=clock) as old:
        assert old.clock_mode == "log" and old.clock_key is None
        assert old.logged_times() == [None]
        clock.now = NOW + timedelta(minutes=5)
        sub(old, world, 1)
        assert old.clock_key is not None
        assert old.logged_times() == [NOW + timedelta(minutes=5)] * 2
    meta = json.loads((directory / "ledger.json").read_text())
    assert meta["clock"] == "log" and "clock_vkey" in meta


def test_a_clock_key_that_is_not_the_ledgers_is_refused(ledger: Ledger, world: World) -> None:
    sub(ledger, world, 1)
    directory = ledger.directory
    (directory / "clock.key").unlink()
    Signer.generate("cvid.ledger/new-start/clock").write(directory / "clock.key")
    with pytest.raises(StoreError, match="not the key of the clock"):
        Ledger.open(directory)


def test_times_need_the_ledgers_clock_key(ledger: Ledger, world: World) -> None:
    """Checkpoints cosigned by some other key give no logged time."""
    sub(ledger, world, 1)
    directory = ledger.directory
    meta = json.loads((directory / "ledger.json").read_text())
    meta["clock_vkey"] = CosignerKey.of(Signer.generate("cvid.ledger/new-start/clock")).vkey
    (directory / "ledger.json").write_text(json.dumps(meta))
    (directory / "clock.key").unlink()
    with Ledger.open(directory) as other:
        assert other.logged_times() == [None]


def test_cli_init_historical_and_show_logged_at(world: World, tmp_path: Path) -> None:
    runner = CliRunner()
    got = runner.invoke(
        app, ["ledger", "init", str(tmp_path / "h"), "--agreement", str(world.package), "--json"]
    )
    assert got.exit_code == 0, got.output
    assert json.loads(got.stdout)["clock"] == "log"
    got = runner.invoke(
        app,
        ["ledger", "init", str(tmp_path / "r"), "--agreement", str(world.package), "--historical"],
    )
    assert got.exit_code == 0, got.output
    assert "clock: reported" in got.stdout
    assert json.loads((tmp_path / "r" / "ledger.json").read_text())["clock"] == "reported"
    with Ledger.open(tmp_path / "h") as ledger:
        ledger.submit([world.signed()])
    shown = runner.invoke(app, ["evidence", "show", str(tmp_path / "h"), "0", "--json"])
    assert shown.exit_code == 0, shown.output
    logged = json.loads(shown.stdout)["logged_at"]
    assert logged is not None and abs(
        datetime.fromisoformat(logged) - datetime.now(UTC)
    ) < timedelta(minutes=5)


# -- Go reads a ledger's cosigned checkpoints ------------------------------------------------


def _go_module() -> ModuleType:
    path = ROOT / "tests" / "interop" / "test_go_sumdb.py"
    spec = importlib.util.spec_from_file_location("cvid_interop_go_sumdb", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_go = _go_module()
gocheck = _go.gocheck  # the session fixture that builds (or skips without) the Go checker


def test_go_verifies_a_ledger_export_and_receipts_with_the_clock_cosignature(
    gocheck: Path, ledger: Ledger, world: World, clock: FakeClock, tmp_path: Path
) -> None:
    sub(ledger, world, 3)
    clock.now = NOW + timedelta(days=1)
    sub(ledger, world, 300)
    tiles = tmp_path / "tiles"
    export_tiles(ledger.log, tiles)
    served = (tiles / "checkpoint").read_bytes()
    assert ledger.clock_key is not None
    assert ledger.clock_key.verify(served) == int((NOW + timedelta(days=1)).timestamp())
    assert open_checkpoint(served, ledger.log.verifier).checkpoint.size == 303
    args: list[str | Path] = ["verify", "-vkey", ledger.log.verifier.vkey, "-dir", tiles]
    for i in (0, 2, 3, 302):
        path = tmp_path / f"receipt-{i}"
        path.write_bytes(ledger.receipt(i).encode())
        args += ["-receipt", path]
    got = _go.go_ok(gocheck, *args)
    assert got["size"] == 303 and got["entries_checked"] == 303
    assert got["receipts"] == [f"index {i} in tree 303" for i in (0, 2, 3, 302)]
