#!/usr/bin/env bash
# Set up everything the tests need (Debian packages, .venv with dev tools) and run the whole
# suite: ruff, mypy --strict on src, then pytest. Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

# Go's own sumdb packages check our log formats independently (tests/interop).
need_apt=()
command -v go >/dev/null 2>&1 || need_apt+=(golang-go)
[ -d /usr/share/gocode/src/golang.org/x/mod/sumdb ] || need_apt+=(golang-golang-x-mod-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=""; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

bash scripts/setup.sh --dev

echo "== ruff" >&2
.venv/bin/ruff check src tests benchmarks
echo "== mypy --strict src" >&2
.venv/bin/mypy --strict src
echo "== pytest" >&2
# The interoperability tests must run here, not skip: CVID_REQUIRE_GO makes a missing Go a failure.
CVID_REQUIRE_GO=1 .venv/bin/pytest "$@"
