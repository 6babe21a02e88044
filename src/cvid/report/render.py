"""Render report sections as one self-contained HTML file (jinja2, autoescaped).

The page carries its CSS inline and its charts as inline SVG: no script, no font, no image
or style sheet is fetched, so the file can be mailed, archived or printed as it is. Every value
from a record or a package is escaped by jinja2's autoescape; the SVG drawings are built with
their own escaping (:mod:`cvid.report.svg`).
"""

from __future__ import annotations

from collections.abc import Sequence

import jinja2

from cvid import __version__
from cvid.agreements import Status, StepState, show
from cvid.report.model import Section
from cvid.report.svg import STATUS_COLORS, label, number

_VIEW_WORDS = {
    "now": (
        "every record in the log whose fact was observed by then (what we know today about then)"
    ),
    "then": "only records reported by then (what had been made known at the time)",
}


def _when(us: int) -> str:
    return show(us)[:10]


def _figure(value: float | None, unit: str | None = None) -> str:
    if value is None:
        return "—"
    return f"{number(value)} {unit}" if unit else number(value)


def _day_of(text: str | None) -> str:
    return text[:10] if text else "—"


def environment() -> jinja2.Environment:
    """The jinja2 environment of the report templates (autoescape on, undefined is an error)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cvid.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["label"] = lambda s: label(str(s))
    env.filters["instant"] = show
    env.filters["when"] = _when
    env.filters["key_name"] = lambda v: "+".join(str(v).split("+")[:2])
    env.filters["figure"] = _figure
    env.filters["day_of"] = _day_of
    env.filters["view_words"] = lambda v: _VIEW_WORDS.get(str(v), str(v))
    return env


def render_report(sections: Sequence[Section], title: str | None = None) -> str:
    """The HTML text of a report of ``sections`` (one per ledger), titled ``title``.

    The default title names the single agreement and date, or says how many agreements.
    """
    if title is None:
        if len(sections) == 1:
            s = sections[0]
            title = f"{s.agreement}: status as of {_when(s.as_of)} (as known {s.view})"
        else:
            title = f"cvid report: {len(sections)} agreements"
    template = environment().get_template("report.html")
    return template.render(
        title=title,
        sections=list(sections),
        version=__version__,
        palette=STATUS_COLORS,
        step_titles={st.step: st.title for s in sections for st in s.steps},
        statuses=[s.value for s in Status] + [s.value for s in StepState],
    )
