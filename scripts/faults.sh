#!/usr/bin/env bash
# Faults: SIGKILL `cvid submit` and a `cvid serve` writer at random moments, and submit (by
# `cvid submit` and over HTTP to `cvid serve`) on a full tmpfs, SQLite and PostgreSQL; after each
# round check that nothing acknowledged is lost, every batch is whole or absent, what the command
# or the answer said is true and `cvid ledger verify` passes (tests/faults).
#
#   bash scripts/faults.sh [--kill-rounds N] [--serve-rounds N] [--disk-full-rounds N]
#                          [--serve-disk-full-rounds N] [--pg-kill-rounds N]
#                          [--pg-disk-full-rounds N] [--seed S]
#
# Defaults: 120 submit rounds (about 110 of them killed), 20 serve rounds, 10 disk-full rounds
# of `cvid submit` and 10 of `cvid serve` on SQLite ledgers; 30 submit rounds on a PostgreSQL
# ledger (a throw-away cluster started as tests/pg.py does; skipped, and the figures say why,
# when there is none); 10 disk-full rounds on a PostgreSQL cluster of its own whose data
# directory is on a small tmpfs.
# The disk-full rounds mount small tmpfs, so they need root; without it they are skipped
# and the figures say why. Prints the figures; exits 1 if any promise failed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
exec nice -n 19 "$PY" tests/faults/faults_driver.py "$@"
