"""Reading a report back: its status rows, links, anchors, SVG drawings and tag balance."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html.parser import HTMLParser

VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}  # fmt: skip


@dataclass
class Row:
    """A ``<tr>`` with ``data-*`` attributes, and the report section it is in."""

    section: str
    data: dict[str, str]


class Page(HTMLParser):
    """A strict reader: records a closing tag that does not match the open one as a problem."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[Row] = []
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.problems: list[str] = []
        self.stack: list[str] = []
        self.section = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            if a["id"] in self.ids:
                self.problems.append(f"duplicate id {a['id']}")
            self.ids.add(a["id"])
        if tag == "section":
            self.section = a.get("id", "")
        if tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
        if tag in ("tr", "li") and any(k.startswith("data-") for k in a):
            self.rows.append(
                Row(self.section, {k[5:]: v for k, v in a.items() if k[:5] == "data-"})
            )
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()


def read(html: str) -> Page:
    """Parse ``html``; the result lists problems (unbalanced tags, duplicate ids)."""
    page = Page()
    page.feed(html)
    page.close()
    if page.stack:
        page.problems.append(f"unclosed: {page.stack}")
    return page


def statuses(page: Page, section: str) -> dict[tuple[str, str], str]:
    """(term, party) → status in a section's status table."""
    return {
        (r.data["term"], r.data["party"]): r.data["status"]
        for r in page.rows
        if r.section == section and "status" in r.data
    }


def states(page: Page, section: str) -> dict[str, str]:
    """step → state in a section's steps table."""
    return {
        r.data["step"]: r.data["state"]
        for r in page.rows
        if r.section == section and "state" in r.data
    }


def changes(page: Page, section: str, term: str, party: str) -> list[str]:
    """The statuses a term/party takes in a section's timeline, in order."""
    return [
        r.data["to"]
        for r in page.rows
        if r.section == section and r.data.get("id") == term and r.data.get("party") == party
    ]


def svgs(html: str) -> list[ET.Element]:
    """Every inline ``<svg>`` element, parsed as XML (raises if one is not well-formed)."""
    return [ET.fromstring(m) for m in re.findall(r"<svg\b.*?</svg>", html, re.S)]


SVG = "{http://www.w3.org/2000/svg}"
