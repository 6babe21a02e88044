#!/usr/bin/env bash
# Set up everything the tests need (Debian packages, .venv with dev tools) and run the whole
# suite: ruff, mypy --strict on src, then pytest. Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

# Go's own sumdb packages check our log formats independently (tests/interop); PostgreSQL's
# server binaries run the store's conformance suite on a throw-away cluster (tests/pg.py).
need_apt=()
command -v go >/dev/null 2>&1 || need_apt+=(golang-go)
[ -d /usr/share/gocode/src/golang.org/x/mod/sumdb ] || need_apt+=(golang-golang-x-mod-dev)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need_apt+=(postgresql)
# Debian's nginx is the reference static server for exported tiles (tests/interop/test_nginx.py).
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || need_apt+=(nginx)
# Debian's chromium is the browser Playwright drives in tests/browser (the dashboard).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=""; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# As root the tests run the server as the postgres OS user (it refuses to run as root); the
# Debian package creates that user, but a machine may have the binaries without it.
if [ "$(id -u)" -eq 0 ] && ! id -u postgres >/dev/null 2>&1; then
  useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/sh postgres
fi

bash scripts/setup.sh --dev

echo "== ruff" >&2
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
echo "== mypy --strict src" >&2
.venv/bin/mypy --strict src
echo "== pytest" >&2
# The interoperability and PostgreSQL tests must run here, not skip: CVID_REQUIRE_GO,
# CVID_REQUIRE_POSTGRES, CVID_REQUIRE_NGINX and CVID_REQUIRE_BROWSER make a missing Go,
# PostgreSQL, nginx or chromium a failure.
CVID_REQUIRE_GO=1 CVID_REQUIRE_POSTGRES=1 CVID_REQUIRE_NGINX=1 CVID_REQUIRE_BROWSER=1 \
  .venv/bin/pytest "$@"
