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
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
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


def _serve(ledger: Path) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [*CVID, "serve", str(ledger), "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(url + "/v1/ledger", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`cvid demo`'s Singapore ledger served by `cvid serve` on loopback."""
    demo = tmp_path_factory.mktemp("demo") / "d"
    subprocess.run([*CVID, "demo", str(demo), "--json"], check=True, cwd=ROOT, capture_output=True)
    ledger = demo / "singapore-2018" / "ledger"
    for url in _serve(ledger):
        yield url, ledger


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = _need_browser()
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        ctx = p.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
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
    out = subprocess.run(
        [*CVID, "status", str(ledger), "--as-of", as_of, "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    doc = json.loads(out.stdout)
    page = _open(browser, f"{url}/dashboard/#overview?as_of={as_of}")
    findings = [
        t
        for t in doc["terms"]
        if t["status"] in ("violated", "overdue", "disputed", "reversed", "unknown")
    ]
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
    assert names == [
        "log signature",
        "clock cosignature",
        "witness policy",
        "entry",
        "inclusion",
        "record shown",
    ]
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


# -- the New START ledger with a declaration over the limit ---------------------------------------

OVER = {
    "agreement": "new-start",
    "kind": "declaration",
    "subject": "central-limits",
    "party": "US",
    "submitter": "US",
    "observed_at": "2018-09-01T00:00:00Z",
    "reported_at": "2018-09-20T00:00:00Z",
    "values": {"deployed_warheads": {"value": 1600, "unit": "warhead"}},
}
DATES = ("2011-02-05", "2018-02-05", "2018-10-01")


@pytest.fixture(scope="module")
def over(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The 26 published aggregates (log 0..25) and a US declaration of 1,600 deployed
    warheads (log 26, over the 1,550 limit), served."""
    from cvid.evidence import Ledger, sign_record
    from cvid.sources import example_signer, import_declarations

    new_start = ROOT / "examples" / "new-start"
    ledger = tmp_path_factory.mktemp("over") / "ledger"
    keys = {p: example_signer("new-start", p) for p in ("US", "RU")}
    with Ledger.create(ledger, new_start, clock_mode="reported") as opened:
        import_declarations(
            opened, new_start / "data" / "aggregates.csv", new_start / "mapping.yaml", keys
        )
        opened.submit([sign_record(OVER, keys["US"])])
    yield from ((url, ledger) for url in _serve(ledger))


def _cli(*args: object) -> dict[str, Any]:
    out = subprocess.run(
        [*CVID, *map(str, args), "--json"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode in (0, 1), out.stderr
    doc: dict[str, Any] = json.loads(out.stdout)
    return doc


def _wait(page: Any, fragment: str) -> None:
    page.wait_for_function(
        "(f) => location.hash.includes(f)"
        " && document.body.dataset.ready === (location.hash || '#overview')",
        arg=fragment,
        timeout=30_000,
    )


def _no_side_scroll(page: Any, where: str) -> None:
    wide = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth,"
        " document.body.scrollWidth, document.body.clientWidth]"
    )
    assert wide[0] <= wide[1] and wide[2] <= wide[3], f"{where}: scrolls sideways at 800 px: {wide}"


@pytest.mark.parametrize("as_of", DATES)
def test_pages_show_what_status_and_timeline_json_say(
    over: tuple[str, Path], browser: Any, as_of: str
) -> None:
    url, ledger = over
    status = _cli("status", ledger, "--as-of", as_of)
    page = _open(browser, f"{url}/dashboard/#overview?as_of={as_of}")
    order = ("violated", "overdue", "disputed", "reversed", "unknown")
    wanted = sorted(
        (t for t in status["terms"] if t["status"] in order), key=lambda t: order.index(t["status"])
    )
    rows = page.locator("table.findings tbody tr")
    assert [
        (
            rows.nth(i).get_attribute("data-term"),
            rows.nth(i).get_attribute("data-party"),
            rows.nth(i).locator("[data-status]").first.get_attribute("data-status"),
        )
        for i in range(rows.count())
    ] == [(t["term"], t["party"], t["status"]) for t in wanted]
    cells = page.locator("table.matrix.now tbody tr td:last-child")
    assert [cells.nth(i).get_attribute("data-status") for i in range(cells.count())] == [
        t["status"] for t in status["terms"]
    ]
    # The term page: its status rows and its changes are the CLI's.
    # (over the window the page shows: the view model's, from its start)
    start = httpx.get(f"{url}/v1/view", params={"at": as_of}).json()["start"]
    timeline = _cli("timeline", ledger, "--from", start, "--to", as_of)
    page.goto(f"{url}/dashboard/#term/deployed-warheads?as_of={as_of}")
    _wait(page, "term/deployed-warheads")
    shown = page.locator("table.term-status tbody tr")
    assert [
        (
            shown.nth(i).get_attribute("data-party"),
            shown.nth(i).locator("[data-status]").first.get_attribute("data-status"),
        )
        for i in range(shown.count())
    ] == [(t["party"], t["status"]) for t in status["terms"] if t["term"] == "deployed-warheads"]
    changes = page.locator("table.timeline tbody tr")
    got = [
        (
            changes.nth(i).get_attribute("data-party"),
            changes.nth(i).locator("td").nth(0).inner_text(),
            changes.nth(i).locator("[data-status]").last.get_attribute("data-status"),
        )
        for i in range(changes.count())
    ]
    assert got == [
        (c["party"], c["at"][:10], c["to"])
        for c in timeline["changes"]
        if c["type"] == "term" and c["id"] == "deployed-warheads"
    ]
    page.close()


def test_the_term_page_draws_the_limit_chart(over: tuple[str, Path], browser: Any) -> None:
    url, _ = over
    model = httpx.get(f"{url}/v1/view", params={"at": "2018-10-01"}).json()
    series = [s for s in model["series"] if s["term"] == "deployed-warheads"]
    page = _open(browser, f"{url}/dashboard/#term/deployed-warheads?as_of=2018-10-01")
    chart = page.locator("svg.chart").first
    lo, hi = (
        float(chart.get_attribute("data-axis-min")),
        float(chart.get_attribute("data-axis-max")),
    )
    # The axis is the view model's, around the limit (1,550), not from zero.
    assert lo == min(s["axis"]["min"] for s in series) and hi == max(
        s["axis"]["max"] for s in series
    )
    assert 0 < lo < 1550 < hi
    # Every point known now is drawn, its shape told by its role, the one over the limit ringed.
    points = chart.locator("g.point[data-index]")
    known = sorted(p["index"] for s in series for p in s["points"] if p["known"]["now"])
    assert (
        sorted(int(points.nth(i).get_attribute("data-index")) for i in range(points.count()))
        == known
    )
    shape = {"declared": "circle", "observed": "polygon", "verified": "rect"}
    for i in range(points.count()):
        p = points.nth(i)
        tag = p.evaluate("(g) => g.firstElementChild.tagName")
        assert tag == shape[p.get_attribute("data-role")]
    breached = chart.locator("g.point[data-breach]")
    assert [breached.nth(i).get_attribute("data-index") for i in range(breached.count())] == ["26"]
    assert "breach" in breached.first.inner_html()
    # The legend names each role; the gaps of the view model are drawn as bars.
    legend = chart.locator("g.legend").inner_html()
    assert all(role in legend for role in shape)
    gaps = sum(len(s["gaps"]) for s in series)
    assert gaps > 0 and chart.locator("rect.gap").count() == gaps
    page.close()


def test_statuses_are_told_by_words_not_colour_alone(over: tuple[str, Path], browser: Any) -> None:
    url, _ = over
    page = _open(browser, f"{url}/dashboard/#overview?as_of=2018-10-01")
    badges = page.locator("[data-status]")
    assert badges.count() > 10
    for i in range(badges.count()):
        b = badges.nth(i)
        status = b.get_attribute("data-status")
        if not status:
            continue
        text = b.inner_text().strip()
        assert text and any(ch.isalpha() for ch in text), f"{status} shown without a word"
    page.close()


def test_a_status_the_dashboard_does_not_know_is_shown_in_words(
    over: tuple[str, Path], browser: Any
) -> None:
    """A newer ledger's status (here every met_claimed renamed in the view model served) gets
    its own words, a neutral mark and a neutral band: never a blank, never black."""
    url, _ = over
    page = browser.new_page()

    def rename(route: Any) -> None:
        resp = route.fetch()
        route.fulfill(response=resp, body=resp.text().replace('"met_claimed"', '"brand_new_state"'))

    page.route("**/v1/view?*", rename)
    page.goto(f"{url}/dashboard/#overview?as_of=2018-02-05")
    page.wait_for_selector("body[data-ready]", timeout=30_000)
    cells = page.locator('table.matrix.now td[data-status="brand_new_state"]')
    assert cells.count() >= 1
    assert "brand new state" in cells.first.inner_text()
    page.goto(f"{url}/dashboard/#term/deployed-warheads?as_of=2018-06-01")
    _wait(page, "term/deployed-warheads")
    badge = page.locator('table.term-status [data-status="brand_new_state"]').first
    assert "brand new state" in badge.inner_text()
    assert "status-other" in (badge.get_attribute("class") or "")
    fills = page.evaluate(
        """() => [...document.querySelectorAll('rect.band.status-brand_new_state')]
            .map((r) => getComputedStyle(r).fill)"""
    )
    assert fills and all(f not in ("rgb(0, 0, 0)", "none", "") for f in fills), fills
    page.close()


def test_every_page_is_readable_at_800_px(over: tuple[str, Path], browser: Any) -> None:
    url, _ = over
    page = browser.new_page()
    page.set_viewport_size({"width": 800, "height": 900})
    for route in (
        "overview?as_of=2018-10-01&since=2018-01-01",
        "term/deployed-warheads?as_of=2018-10-01",
        "evidence?as_of=2018-10-01",
        "record/26?as_of=2018-10-01",
    ):
        page.goto(f"{url}/dashboard/#{route}")
        _wait(page, route.split("?")[0])
        page.wait_for_timeout(200)
        _no_side_scroll(page, route)
        if route.startswith("term/"):
            page.screenshot(path=str(ROOT / "docs" / "img" / "dashboard-term.png"), full_page=True)
    page.close()


def test_keyboard_alone_reaches_the_date_a_term_and_the_evidence(
    over: tuple[str, Path], browser: Any
) -> None:
    url, _ = over
    page = _open(browser, f"{url}/dashboard/#overview?as_of=2018-02-05")

    def tab_to(test: str, limit: int = 200) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(f"(() => {{ const a = document.activeElement; return {test}; }})()"):
                return
        raise AssertionError(f"Tab never reached {test}")

    tab_to("a.id === 'in-as_of'")
    page.keyboard.type("10012018")  # mm dd yyyy, as chromium's en-US date field reads it
    assert page.input_value("#in-as_of") == "2018-10-01"
    page.keyboard.press("Enter")
    _wait(page, "as_of=2018-10-01")
    assert page.locator("table.findings tbody tr").count() >= 1
    tab_to("a.tagName === 'A' && a.getAttribute('href').startsWith('#term/deployed-warheads')")
    page.keyboard.press("Enter")
    _wait(page, "term/deployed-warheads")
    assert page.evaluate("document.activeElement.id") == "page-title"
    tab_to("a.tagName === 'A' && a.getAttribute('href').startsWith('#record/26')")
    page.keyboard.press("Enter")
    _wait(page, "record/26")
    page.wait_for_selector("#verify-result[data-ok]", timeout=30_000)
    tab_to("a.tagName === 'A' && a.getAttribute('href').startsWith('#evidence')")
    page.keyboard.press("Enter")
    _wait(page, "evidence")
    assert page.locator("ol.records li").count() == 27
    page.close()


def test_the_print_stylesheet_keeps_the_findings_and_drops_the_controls(
    over: tuple[str, Path], browser: Any
) -> None:
    url, _ = over
    page = _open(browser, f"{url}/dashboard/#overview?as_of=2018-10-01")
    page.emulate_media(media="print")
    shown = page.evaluate("""() => ['header nav', '.controls', 'footer', 'table.findings']
        .map((s) => getComputedStyle(document.querySelector(s)).display)""")
    assert shown[:3] == ["none", "none", "none"] and shown[3] != "none"
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    page.close()
