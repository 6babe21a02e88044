"""The dashboard in Debian's chromium, driven by Playwright: what it shows is what the CLI's
JSON says, and a record's proof checked in the browser holds on an honest server and fails on
a tampered tile.

Skips when chromium or Playwright is missing, unless ``CVID_REQUIRE_BROWSER=1`` (set by
``scripts/test.sh``), which makes that a failure.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kit import ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
CVID = [sys.executable, "-m", "cvid.cli.main"]


def _need_browser() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not CHROMIUM.exists():
        msg = "the dashboard tests need Playwright and Debian's chromium (/usr/bin/chromium)"
        if os.environ.get("CVID_REQUIRE_BROWSER") == "1":
            pytest.fail(msg + " (CVID_REQUIRE_BROWSER=1)")
        pytest.skip(msg)
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`cvid demo`'s Singapore ledger served by `cvid serve` on loopback."""
    demo = tmp_path_factory.mktemp("demo") / "d"
    subprocess.run([*CVID, "demo", str(demo), "--json"], check=True, cwd=ROOT,
                   capture_output=True)
    ledger = demo / "singapore-2018" / "ledger"
    port = _free_port()
    proc = subprocess.Popen([*CVID, "serve", str(ledger), "--port", str(port),
                             "--log-level", "warning"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(url + "/v1/ledger", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url, ledger
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = _need_browser()
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        ctx = p.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=ARGS,
            viewport={"width": 1100, "height": 900},
        )
        yield ctx
        ctx.close()


def _open(ctx: Any, url: str) -> Any:
    page = ctx.new_page()
    page.goto(url)
    page.wait_for_selector("body[data-ready]", timeout=30_000)
    return page


def test_overview_shows_the_cli_status(served: tuple[str, Path], browser: Any) -> None:
    url, ledger = served
    as_of = "2019-12-31"
    out = subprocess.run([*CVID, "status", str(ledger), "--as-of", as_of, "--json"],
                         cwd=ROOT, capture_output=True, text=True)
    doc = json.loads(out.stdout)
    page = _open(browser, f"{url}/dashboard/#overview?as_of={as_of}")
    findings = [t for t in doc["terms"]
                if t["status"] in ("violated", "overdue", "disputed", "reversed", "unknown")]
    assert findings, "the demo ledger has a reversed term at this date"
    rows = page.locator("table.findings tbody tr")
    assert rows.count() == len(findings)
    for i, t in enumerate(findings):
        row = rows.nth(i)
        assert row.get_attribute("data-term") == t["term"]
        assert row.locator("[data-status]").first.get_attribute("data-status") == t["status"]
    cells = page.locator("table.matrix.now tbody tr td:last-child")
    assert [cells.nth(i).get_attribute("data-status") for i in range(cells.count())] == [
        t["status"] for t in doc["terms"]
    ]
    owed = page.locator("table.steps.unlocked tbody tr")
    assert [owed.nth(i).get_attribute("data-step") for i in range(owed.count())] == [
        s["step"] for s in doc["steps"] if s["state"] == "unlocked"
    ]
    page.close()


def test_proof_holds_on_an_honest_server(served: tuple[str, Path], browser: Any) -> None:
    url, _ = served
    page = _open(browser, f"{url}/dashboard/#record/5?as_of=2019-12-31")
    result = page.locator("#verify-result")
    assert result.get_attribute("data-ok") == "true", result.inner_text()
    steps = page.locator("#verify-steps li")
    names = [steps.nth(i).get_attribute("data-step") for i in range(steps.count())]
    assert names == ["log signature", "clock cosignature", "witness policy", "entry",
                     "inclusion", "record shown"]
    assert "2 of 3" in page.locator('#verify-steps li[data-step="witness policy"]').inner_text()
    page.screenshot(path=str(ROOT / "docs" / "img" / "dashboard-record.png"))
    page.close()


def test_proof_fails_on_a_tampered_tile(served: tuple[str, Path], browser: Any) -> None:
    url, _ = served
    page = browser.new_page()

    def flip(route: Any) -> None:
        resp = route.fetch()
        body = bytearray(resp.body())
        body[40] ^= 0x01
        route.fulfill(response=resp, body=bytes(body))

    page.route("**/v1/log/tile/0/**", flip)
    page.goto(f"{url}/dashboard/#record/5?as_of=2019-12-31")
    page.wait_for_selector("body[data-ready]", timeout=30_000)
    result = page.locator("#verify-result")
    assert result.get_attribute("data-ok") == "false"
    assert "Not verified" in result.inner_text()
    failed = page.locator("#verify-steps li.fail")
    assert failed.count() >= 1
    page.close()


def test_proof_fails_on_a_forged_checkpoint(served: tuple[str, Path], browser: Any) -> None:
    url, _ = served
    page = browser.new_page()

    def forge(route: Any) -> None:
        resp = route.fetch()
        text = resp.text()
        lines = text.split("\n")
        lines[1] = str(int(lines[1]) - 1)  # another size under the same signatures
        route.fulfill(response=resp, body="\n".join(lines))

    page.route("**/v1/log/checkpoint", forge)
    page.goto(f"{url}/dashboard/#record/5?as_of=2019-12-31")
    page.wait_for_selector("body[data-ready]", timeout=30_000)
    assert page.locator("#verify-result").get_attribute("data-ok") == "false"
    signature = page.locator('#verify-steps li[data-step="log signature"]')
    assert signature.get_attribute("class") == "fail"
    page.close()


def test_readable_at_800_px(served: tuple[str, Path], browser: Any) -> None:
    url, _ = served
    page = browser.new_page()
    page.set_viewport_size({"width": 800, "height": 900})
    page.goto(f"{url}/dashboard/#overview?as_of=2019-12-31&since=2019-01-01")
    page.wait_for_selector("body[data-ready]", timeout=30_000)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 800, f"the page is {width} px wide at 800 px"
    page.screenshot(path=str(ROOT / "docs" / "img" / "dashboard-overview.png"))
    page.close()


def test_browser_proofs_equal_the_services(served: tuple[str, Path], browser: Any) -> None:
    """The inclusion proof verify.js computes from the tiles, for every record, is the one
    the service computes in Python (GET /v1/records)."""
    url, _ = served
    page = _open(browser, f"{url}/dashboard/#overview?as_of=2019-12-31")
    rows = httpx.get(url + "/v1/records?limit=1000").json()
    size = rows["checkpoint"]["size"]
    got = page.evaluate(
        """async (size) => {
            const t = new CvidVerify.Tiles("/v1/log", size, (u) => fetch(u));
            const out = [];
            for (let i = 0; i < size; i++) {
                const proof = await t.inclusionProof(i);
                out.push(proof.map((p) => CvidVerify.b64encode(p)));
            }
            return out;
        }""",
        size,
    )
    assert got == [r["inclusion_proof"] for r in rows["records"]]
    page.close()
