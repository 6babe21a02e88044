#!/usr/bin/env bash
# Run every atheris harness under fuzz/ (or those named) for RUNS executions each, from the
# seed corpora in fuzz/corpus/<target>/, and write the figures (target, executions, seconds,
# crashes, exit status) to fuzz/out/figures.tsv. Crash, timeout and out-of-memory inputs are
# kept in fuzz/out/ beside each target's log; new inputs libFuzzer finds go to a temporary
# folder, never into the committed seeds.
#   bash fuzz/run.sh                 1,000,000 executions per target
#   bash fuzz/run.sh 20000 note csv  20,000 each, two targets
# Exits 1 if any target crashed, hung (over 20 s on one input) or ran out of memory.
set -uo pipefail
cd "$(dirname "$0")/.."

runs="${1:-1000000}"
[ $# -gt 0 ] && shift
if [ $# -gt 0 ]; then targets=("$@"); else
  targets=()
  for f in fuzz/fuzz_*.py; do t="${f#fuzz/fuzz_}"; targets+=("${t%.py}"); done
fi
out="${CVID_FUZZ_OUT:-fuzz/out}"
mkdir -p "$out"
figures="$out/figures.tsv"
printf 'target\texecutions\tseconds\tcrashes\tstatus\n' > "$figures"
failed=0
for t in "${targets[@]}"; do
  if [ ! -f "fuzz/fuzz_$t.py" ]; then echo "run.sh: no harness fuzz/fuzz_$t.py" >&2; exit 2; fi
  work="$(mktemp -d)"
  rm -f "$out/$t-"crash-* "$out/$t-"timeout-* "$out/$t-"oom-* "$out/$t-"slow-unit-*
  start=$(date +%s.%N)
  .venv/bin/python "fuzz/fuzz_$t.py" -atheris_runs="$runs" -timeout=20 -rss_limit_mb=2048 \
    -artifact_prefix="$out/$t-" -print_final_stats=1 "$work" "fuzz/corpus/$t" \
    >"$out/$t.log" 2>&1
  status=$?
  end=$(date +%s.%N)
  rm -rf "$work"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log" | tail -1)
  [ -n "$execs" ] || execs=$(sed -n 's/^Done \([0-9]*\) in.*/\1/p' "$out/$t.log" | tail -1)
  crashes=$(find "$out" -maxdepth 1 \( -name "$t-crash-*" -o -name "$t-timeout-*" \
    -o -name "$t-oom-*" \) | wc -l)
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  printf '%s\t%s\t%s\t%s\t%s\n' "$t" "${execs:-0}" "$secs" "$crashes" "$status" >> "$figures"
  printf 'fuzz %-14s %10s executions %8ss  crashes %s  status %s\n' \
    "$t" "${execs:-0}" "$secs" "$crashes" "$status" >&2
  if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then failed=1; fi
done
exit "$failed"
