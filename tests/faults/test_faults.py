"""A short run of the faults driver (``scripts/faults.sh`` runs the long one).

Ten ``cvid submit`` processes SIGKILLed at random moments, one ``cvid serve`` writer killed
while it answers POSTs, and submissions on a full tmpfs. After each: nothing acknowledged is
lost, every batch is whole or absent, what the command printed is true, the ledger verifies.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from faults_driver import (
    Figures,
    World,
    can_mount,
    disk_full_rounds,
    kill_rounds,
    pg_disk_full_rounds,
    serve_disk_full_rounds,
    serve_rounds,
)

SEED = 20260612


@pytest.fixture
def world(tmp_path: Path) -> World:
    random.seed(SEED)
    return World(tmp_path)


def test_sigkilled_submissions_lose_nothing_acknowledged(world: World, tmp_path: Path) -> None:
    figs = Figures()
    ledger = world.make_ledger(tmp_path / "ledger")
    kill_rounds(figs, world, ledger, 10, random.Random(SEED), tmp_path)
    assert figs.failures == []
    assert figs.rounds == 10 and figs.kills >= 5, figs
    assert figs.acknowledged > 0 and figs.lost == 0, figs  # round 0 runs to the end
    assert figs.verify_runs >= 1


def test_a_sigkilled_server_loses_no_acknowledged_post(world: World, tmp_path: Path) -> None:
    figs = Figures()
    ledger = world.make_ledger(tmp_path / "ledger")
    serve_rounds(figs, world, ledger, 1, random.Random(SEED))
    assert figs.failures == []
    assert figs.serve_kills == 1 and figs.lost == 0, figs


def test_a_full_disk_never_makes_a_command_say_what_is_not_so(world: World, tmp_path: Path) -> None:
    why = can_mount()
    if why is not None:
        pytest.skip(f"no small filesystem for the disk-full round: {why}")
    figs = Figures()
    disk_full_rounds(figs, world, 3, random.Random(SEED), tmp_path)
    assert figs.failures == []
    # Round 2 writes its receipts on a full filesystem: admitted, receipts not written, exit 1.
    assert figs.admitted_receipt_failed >= 1, figs
    assert figs.refused_full >= 1, figs  # round 0 leaves no space at all: refused, exit 2
    assert figs.lost == 0


def test_a_full_disk_under_cvid_serve_never_answers_what_is_not_so(
    world: World, tmp_path: Path
) -> None:
    why = can_mount()
    if why is not None:
        pytest.skip(f"no small filesystem for the serve disk-full rounds: {why}")
    figs = Figures()
    serve_disk_full_rounds(figs, world, 2, random.Random(SEED), tmp_path)
    assert figs.failures == []
    # Round 0 leaves no space: every POST is refused with a 507 disk-full problem.
    assert figs.serve_full_refused >= 3 and figs.lost == 0, figs
    assert figs.serve_full_rounds == 2 and figs.verify_runs == 3, figs


def test_a_full_disk_under_postgresql_never_makes_cvid_say_what_is_not_so(
    world: World, tmp_path: Path
) -> None:
    why = can_mount()
    if why is not None:
        pytest.skip(f"no small filesystem for the PostgreSQL disk-full rounds: {why}")
    figs = Figures()
    try:
        pg_disk_full_rounds(figs, world, 2, random.Random(SEED), tmp_path)
    except RuntimeError as exc:  # no server binaries: as tests/pg.py, a skip
        pytest.skip(f"no PostgreSQL cluster on a small filesystem: {exc}")
    assert figs.failures == []
    assert figs.pg_full_rounds == 2 and figs.lost == 0, figs
    # Round 1 POSTs until three in a row are refused (a 507, or a 503 from a stopped server).
    assert figs.serve_full_refused + figs.serve_full_other >= 3, figs


def test_a_receipt_that_cannot_be_written_after_the_commit_is_reported_as_such(
    world: World, tmp_path: Path
) -> None:
    import json

    from faults_driver import LedgerView

    from kit import cvid

    ledger = world.make_ledger(tmp_path / "ledger")
    batch = world.records(2)
    src = tmp_path / "batch.jsonl"
    src.write_text("".join(json.dumps(x) + "\n" for x in batch))
    blocked = tmp_path / "receipts"
    blocked.write_text("a file where the receipts directory would go")
    result = cvid("submit", ledger, src, "--receipts", blocked)
    assert result.exit_code == 1, result.output  # not 2: something was changed
    assert "admitted record 0  receipt NOT written" in result.stdout
    assert "admitted record 1  receipt NOT written" in result.stdout
    assert "2 record(s) admitted whose receipt could not be written" in result.stderr
    assert "cvid log prove" in result.stderr and "error" not in result.output
    view = LedgerView(ledger)
    assert [view.has(r) for r in batch] == [0, 1]


def test_sigkilled_submissions_to_postgresql_lose_nothing_acknowledged(
    world: World, tmp_path: Path, postgres_url: str
) -> None:
    figs = Figures()
    ledger = world.make_ledger(postgres_url)
    kill_rounds(figs, world, ledger, 4, random.Random(SEED), tmp_path)
    assert figs.failures == []
    assert figs.rounds == 4 and figs.kills >= 1 and figs.acknowledged > 0, figs
    assert figs.lost == 0
