"""The ledger's clock: every batch's checkpoint cosigned with the time, and logged times.

A record's logged time is the time of the first clock-cosigned checkpoint covering it; the clock
mode (``log`` or ``reported``) is chosen at creation and recorded in ``ledger.json``. The Go
check at the end opens a ledger's exported checkpoint (with its cosignature line) and receipts
with Go's own ``golang.org/x/mod/sumdb/note`` and ``tlog``.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
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
from cvid.errors import InputError, StoreError, VerificationError
from cvid.evidence import Ledger
from cvid.sources import from_ledger
from cvid.store import export_tiles
from cvid.tlog.checkpoint import open_checkpoint
from cvid.tlog.cosignature import CosignerKey, verify_cosignature
from cvid.tlog.note import Signer
from kit import raw_sql

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


def test_create_keeps_the_clock_key_and_mode_in_the_store(ledger: Ledger) -> None:
    meta = ledger.meta
    assert meta["clock"] == "log" and ledger.clock_mode == "log"
    key = CosignerKey.from_vkey(meta["clock_vkey"])
    assert key.name == "cvid.ledger/new-start/clock" and key == ledger.clock_key
    assert meta["clock_vkey"] != meta["log_vkey"]
    # One store, nothing beside it: no key files, no metadata file.
    assert sorted(p.name for p in Path(ledger.where).iterdir() if p.suffix == ".db") == [
        "ledger.db"
    ]
    assert not list(Path(ledger.where).glob("*.key"))
    assert not (Path(ledger.where) / "ledger.json").exists()
    rows = dict(
        sqlite3.connect(Path(ledger.where) / "ledger.db").execute(
            "SELECT name, value FROM ledger_secrets"
        )
    )
    assert CosignerKey.of(Signer.from_skey(rows["clock"])) == key


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


def test_a_ledger_in_the_old_directory_format_is_refused_with_a_way_forward(
    tmp_path: Path,
) -> None:
    old = tmp_path / "old"
    old.mkdir()
    (old / "ledger.json").write_text('{"format": "cvid-ledger/1"}')
    with pytest.raises(InputError, match=r"directory format of cvid 0\.1.*cvid ledger init"):
        Ledger.open(old)


def test_a_signing_key_that_is_not_the_ledgers_stops_writing_not_reading(
    ledger: Ledger, world: World
) -> None:
    sub(ledger, world, 1)
    db = Path(ledger.where) / "ledger.db"
    other = Signer.generate("cvid.ledger/new-start/clock").skey
    raw_sql(
        db,
        "DROP TRIGGER ledger_secrets_no_update",
        f"UPDATE ledger_secrets SET value = '{other}' WHERE name = 'clock'",
    )
    with Ledger.open(ledger.where) as reopened:
        assert reopened.record(0).logged_at == NOW
        with pytest.raises(StoreError, match="not the ledger's"):
            sub(reopened, world, 1)
        assert reopened.size == 1


def test_verified_times_need_the_ledgers_clock_key(ledger: Ledger, world: World) -> None:
    """A clock key swapped in the metadata does not verify the stored cosignatures."""
    sub(ledger, world, 1)
    db = Path(ledger.where) / "ledger.db"
    other = CosignerKey.of(Signer.generate("cvid.ledger/new-start/clock")).vkey
    raw_sql(
        db,
        "DROP TRIGGER ledger_meta_no_update",
        f"UPDATE ledger_meta SET value = '{other}' WHERE key = 'clock_vkey'",
    )
    with pytest.raises(VerificationError, match="no cosignature by cvid\\.ledger/new-start/clock"):
        from_ledger(ledger.where, verify=True)


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
    with Ledger.open(tmp_path / "r") as historical:
        assert historical.meta["clock"] == "reported"
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
