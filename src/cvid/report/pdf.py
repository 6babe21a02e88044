"""Printing a report to PDF with Debian's chromium, headless (the browser's own print).

The HTML is written to a private temporary directory and printed from there with
``chromium --headless --no-sandbox --print-to-pdf``: the page fetches nothing, so the browser
needs no network. :class:`InputError` (exit 2) when no browser is installed or it fails.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from cvid.errors import InputError

#: The browser commands tried, in order.
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def find_browser() -> str | None:
    """The path of an installed headless-capable browser, or None."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(html: str, out: Path, timeout: float = 120.0) -> Path:
    """Print ``html`` into ``out`` (replaced atomically); return ``out``."""
    browser = find_browser()
    if browser is None:
        raise InputError(
            "--pdf: no browser to print with: install Debian's chromium (apt-get install chromium)"
        )
    with tempfile.TemporaryDirectory(prefix="cvid-pdf-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        pdf = Path(tmp) / "report.pdf"
        cmd = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--user-data-dir={tmp}/profile",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise InputError(f"--pdf: {browser} did not print within {timeout:.0f} s") from None
        if done.returncode != 0 or not pdf.is_file() or not pdf.read_bytes().startswith(b"%PDF"):
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            raise InputError(f"--pdf: {browser} could not print the report: {tail[0]}")
        out.parent.mkdir(parents=True, exist_ok=True)
        staged = out.with_name(f".{out.name}.tmp")
        shutil.copyfile(pdf, staged)
        staged.replace(out)
    return out
