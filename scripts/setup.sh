#!/usr/bin/env bash
# Set up cvid in .venv (Python 3.11) so that the command line is .venv/bin/cvid.
#   bash scripts/setup.sh         cvid and its runtime dependencies
#   bash scripts/setup.sh --dev   also the test, lint and benchmark tools
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
if [ "${1:-}" = "--dev" ]; then extras="[dev,bench]"; fi

py=""
for cand in python3.11 python3; do
  if command -v "$cand" >/dev/null 2>&1 &&
     "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    py="$cand"; break
  fi
done
if [ -z "$py" ] && command -v apt-get >/dev/null 2>&1; then
  # Debian 12's python3 is 3.11: install it with venv support when the machine lacks it.
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=""; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3 python3-venv >/dev/null
  if python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then py=python3; fi
fi
if [ -z "$py" ]; then
  echo "setup: cvid needs Python 3.11 (python3.11 or python3 on PATH)" >&2
  exit 2
fi

[ -x .venv/bin/python ] || "$py" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras}"
# An editable install leaves cvid's own modules without bytecode caches, and where
# PYTHONDONTWRITEBYTECODE is set Python never writes them: each command would compile them from
# source again (a third of `cvid status`'s start-up). Write them now; a changed module is simply
# compiled again.
.venv/bin/python -m compileall -q src/cvid >/dev/null
echo "setup: cvid installed in .venv ($(.venv/bin/cvid --version))" >&2
