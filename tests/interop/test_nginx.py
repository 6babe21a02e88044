"""A ledger's log exported as tlog-tiles and served by Debian's nginx, the reference static
server: the same bytes ``cvid serve`` serves, audited over HTTP, and a verdict re-derived from it.

Skips when nginx is missing, unless ``CVID_REQUIRE_NGINX=1`` (set by ``scripts/test.sh``), which
makes that a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cvid.evidence import Ledger
from cvid.sources import example_signer, import_declarations
from kit import NEW_START_CSV, ROOT, cvid, ledger_package, ledger_vkey, ok

NEW_START = ROOT / "examples" / "new-start"


def _nginx() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        msg = "the nginx interoperability check needs nginx (Debian package nginx)"
        if os.environ.get("CVID_REQUIRE_NGINX") == "1":
            pytest.fail(msg + " (CVID_REQUIRE_NGINX=1)")
        pytest.skip(msg)
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served_export(tmp_path: Path) -> Iterator[tuple[Path, Path, str]]:
    """A New START ledger, its export, and nginx serving the export on loopback."""
    nginx = _nginx()
    ledger = tmp_path / "ledger"
    keys = {p: example_signer("new-start", p) for p in ("US", "RU")}
    with Ledger.create(ledger, NEW_START, clock_mode="reported") as made:
        import_declarations(made, NEW_START_CSV, NEW_START / "mapping.yaml", keys)
    tiles = tmp_path / "tiles"
    ok(cvid("log", "export", ledger, tiles))
    port = _free_port()
    conf = tmp_path / "nginx.conf"
    # As root, nginx's workers would run as www-data, who may not read the test's directory.
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf.write_text(
        f"{user}daemon off; worker_processes 1; pid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/error.log;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        f"  access_log off; client_body_temp_path {tmp_path}/body;\n"
        f"  proxy_temp_path {tmp_path}/proxy; fastcgi_temp_path {tmp_path}/fastcgi;\n"
        f"  uwsgi_temp_path {tmp_path}/uwsgi; scgi_temp_path {tmp_path}/scgi;\n"
        f"  server {{ listen 127.0.0.1:{port}; root {tiles}; }}\n"
        "}\n"
    )
    proc = subprocess.Popen(
        [nginx, "-c", str(conf), "-e", str(tmp_path / "error.log")], stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/checkpoint", timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise AssertionError(f"nginx did not start: {err}") from None
                time.sleep(0.05)
        yield ledger, tiles, url
    finally:
        proc.terminate()
        proc.wait(10)


def test_nginx_serves_the_export_byte_for_byte_and_it_audits(
    served_export: tuple[Path, Path, str],
) -> None:
    ledger, tiles, url = served_export
    files = sorted(p for p in tiles.rglob("*") if p.is_file())
    assert files
    for path in files:
        rel = path.relative_to(tiles).as_posix()
        got = httpx.get(f"{url}/{rel}", timeout=5)
        assert got.status_code == 200 and got.content == path.read_bytes(), rel
    report = json.loads(ok(cvid("audit", url, "--vkey", ledger_vkey(ledger))).stdout)
    assert report["ok"] is True and report["size"] == report["entries_checked"] == 26


def test_a_verdict_re_derives_from_tiles_nginx_serves(
    served_export: tuple[Path, Path, str], tmp_path: Path
) -> None:
    ledger, _, url = served_export
    verdict = tmp_path / "verdict.json"
    ok(cvid("verdict", "create", ledger, "--as-of", "2018-02-05", "--out", verdict))
    package = ledger_package(ledger, tmp_path / "package")
    got = cvid(
        "verdict",
        "verify",
        verdict,
        "--log",
        url,
        "--vkey",
        ledger_vkey(ledger),
        "--package",
        package,
    )
    assert got.exit_code == 0, got.output
    assert json.loads(got.stdout)["ok"] is True
