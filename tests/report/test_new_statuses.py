"""A status or step state the report does not know yet (a newer engine's) is written out in
words with a neutral style: the report still renders, well formed, and says it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from report_kit import read

from cvid.agreements import load_package
from cvid.evidence import Record
from cvid.report import build_section, render_report
from cvid.report import model as report_model
from cvid.view import ViewModel

ROOT = Path(__file__).resolve().parents[2]


def _declared(index: int, party: str, warheads: int) -> tuple[int, Record]:
    obj = {
        "agreement": "new-start",
        "kind": "declaration",
        "subject": "central-limits",
        "party": party,
        "submitter": party,
        "observed_at": "2018-02-05T00:00:00Z",
        "reported_at": "2018-02-06T00:00:00Z",
        "values": {"deployed_warheads": {"value": warheads, "unit": "warhead"}},
        "signer": "x",
    }
    return index, Record.model_validate(obj)


def _renamed(model: ViewModel, term_status: str, step_state: str) -> ViewModel:
    """``model`` with every status of its first term/party and every step state renamed."""
    first = model.status[model.views[0]].terms[0]
    key = (first.term, first.party)

    def judged(j: Any) -> Any:
        terms = tuple(
            dataclasses.replace(x, status=term_status) if (x.term, x.party) == key else x
            for x in j.terms
        )
        steps = tuple(dataclasses.replace(s, state=step_state) for s in j.steps)
        summary = {**j.summary, term_status: 1}
        return dataclasses.replace(j, terms=terms, steps=steps, summary=summary)

    def timeline(tl: Any) -> Any:
        tracks = tuple(
            dataclasses.replace(
                k, bands=tuple(dataclasses.replace(b, status=term_status) for b in k.bands)
            )
            if (k.id, k.party) == key
            else k
            for k in tl.tracks
        )
        return dataclasses.replace(tl, tracks=tracks)

    steps = tuple(
        dataclasses.replace(s, states={v: step_state for v in s.states}) for s in model.steps
    )
    return dataclasses.replace(
        model,
        status={v: judged(j) for v, j in model.status.items()},
        timelines={v: timeline(tl) for v, tl in model.timelines.items()},
        steps=steps,
    )


@pytest.mark.parametrize("package", ["new-start", "singapore-2018"])
def test_unknown_statuses_are_words_in_a_neutral_style(
    monkeypatch: pytest.MonkeyPatch, package: str
) -> None:
    real = report_model.build_view

    def build_view(*args: Any, **kwargs: Any) -> ViewModel:
        return _renamed(real(*args, **kwargs), "newly_invented", "on_hold_somehow")

    monkeypatch.setattr(report_model, "build_view", build_view)
    pkg = load_package(ROOT / "examples" / package)
    records = [_declared(0, "US", 1500), _declared(1, "RU", 1400)] if package == "new-start" else []
    out = render_report([build_section(pkg, records, "2018-02-05")])
    assert read(out).problems == []
    assert "newly invented" in out
    if pkg.steps:
        assert "on hold somehow" in out
    # Its badge has the base style and no colour of its own.
    assert 'class="st st-newly_invented"' in out
    assert ".st-newly_invented" not in out
