#!/usr/bin/env bash
# Faults: SIGKILL `cvid submit` and a `cvid serve` writer at random moments, and submit on a full
# tmpfs; after each round check that nothing acknowledged is lost, every batch is whole or
# absent, what the command printed is true and `cvid ledger verify` passes (tests/faults).
#
#   bash scripts/faults.sh [--kill-rounds N] [--serve-rounds N] [--disk-full-rounds N]
#                          [--pg-kill-rounds N] [--seed S]
#
# Defaults: 120 submit rounds (about 110 of them killed), 20 serve rounds, 10 disk-full rounds
# on SQLite ledgers; 30 submit rounds on a PostgreSQL ledger (a throw-away cluster started as
# tests/pg.py does; skipped, and the figures say why, when there is none).
# The disk-full rounds mount two small tmpfs, so they need root; without it they are skipped
# and the figures say why. Prints the figures; exits 1 if any promise failed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
exec nice -n 19 "$PY" tests/faults/faults_driver.py "$@"
