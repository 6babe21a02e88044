"""Reports: one self-contained HTML file with the status of agreements as of a date.

A report has one section per ledger, drawn from the view model (:mod:`cvid.view`): a cover
(checkpoint, verdict hashes, package hash, witnesses), the findings first, every obligation as
known now and as known then side by side (the ones not yet judged in one compact list), the
reciprocal steps in plain words, each limit's quantity against the limit (inline SVG), every
term's timeline in both views, the clauses quoted, the evidence list (with anchors the citations
link to) and how to check it all offline. No JavaScript, nothing fetched::

    from pathlib import Path
    from cvid.report import render_report, section_for_ledger

    section = section_for_ledger(Path("ledger"), "2018-02-05", view="now")
    Path("report.html").write_text(render_report([section]), encoding="utf-8")

The statuses are :func:`cvid.agreements.evaluate`'s, exactly what ``cvid status`` prints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cvid import _lazy

if TYPE_CHECKING:
    from cvid.report.examples import (
        EXAMPLES,
        Example,
        Files,
        grants,
        ledger_package,
        proved_index,
        shipped_keys,
    )
    from cvid.report.ledgers import section_for_ledger, section_for_source, write_report
    from cvid.report.model import Section, WitnessQuorum, build_section
    from cvid.report.pdf import find_browser, print_pdf
    from cvid.report.render import render_report

_lazy.install(
    __name__,
    {
        "cvid.report.examples": [
            "EXAMPLES",
            "Example",
            "Files",
            "grants",
            "ledger_package",
            "proved_index",
            "shipped_keys",
        ],
        "cvid.report.ledgers": ["section_for_ledger", "section_for_source", "write_report"],
        "cvid.report.model": ["Section", "WitnessQuorum", "build_section"],
        "cvid.report.pdf": ["find_browser", "print_pdf"],
        "cvid.report.render": ["render_report"],
    },
)

__all__ = [
    "EXAMPLES",
    "Example",
    "Files",
    "Section",
    "WitnessQuorum",
    "build_section",
    "find_browser",
    "grants",
    "ledger_package",
    "print_pdf",
    "proved_index",
    "render_report",
    "section_for_ledger",
    "section_for_source",
    "shipped_keys",
    "write_report",
]
