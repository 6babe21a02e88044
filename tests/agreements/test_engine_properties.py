"""Properties of the engine over random evidence for the lattice package.

- As known then, the status at T does not depend on records reported after T.
- The timeline is complete: between its changes, evaluating at any instant gives the status the
  timeline shows (so it really does list every change, without evaluating day by day), also
  when records of the same quantity are about subjects the terms do not read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvid.agreements import Package, evaluate, timeline
from cvid.agreements.instants import DAY, to_us
from cvid.agreements.timeline import status_at
from cvid.evidence.record import Record

START = dt.datetime(2019, 10, 1, tzinfo=dt.UTC)
SPAN_DAYS = 900

# (subject, value name, value strategy) for each thing the lattice package reads.
_VALUES: list[tuple[str, str, st.SearchStrategy[Any]]] = [
    (
        "stock",
        "stock",
        st.builds(
            lambda v, u: {"value": v, "unit": u},
            st.integers(0, 300),
            st.sampled_from(["kg UF6", "kg U"]),
        ),
    ),
    ("site-x", "reprocessing", st.booleans()),
    ("pad", "pad_dismantled", st.booleans()),
    (
        "missiles",
        "missiles_remaining",
        st.builds(lambda v: {"value": v, "unit": "missile"}, st.integers(0, 3)),
    ),
    ("report", "report_filed", st.booleans()),
]


@st.composite
def records(draw: st.DrawFn, first: int = 0, count: tuple[int, int] = (0, 14)) -> list[Record]:
    out = []
    for i in range(draw(st.integers(*count))):
        index = first + i
        observed = START + dt.timedelta(days=draw(st.integers(0, SPAN_DAYS)))
        reported = observed + dt.timedelta(days=draw(st.integers(0, 120)))
        if draw(st.integers(0, 9)) == 0:  # a delivery of a step by B
            subject, values, party = draw(st.sampled_from(["relief", "assurance"])), {}, "B"
        else:
            subject, name, strategy = draw(st.sampled_from(_VALUES))
            values, party = {name: draw(strategy)}, "A"
            if draw(st.integers(0, 3)) == 0:  # the same value about a subject no term reads
                subject = "elsewhere"
        obj: dict[str, Any] = {
            "agreement": "lattice",
            "kind": draw(
                st.sampled_from(
                    ["declaration", "inspection_finding", "measurement", "observation", "statement"]
                )
            ),
            "party": party,
            "subject": subject,
            "observed_at": observed,
            "reported_at": reported,
            "values": values,
            "submitter": draw(st.sampled_from([party, "INSP", "OBS", "B"])),
            "signer": "test",
        }
        if index and draw(st.integers(0, 5)) == 0:
            obj[draw(st.sampled_from(["supersedes", "disputes"]))] = draw(st.integers(0, index - 1))
        out.append(Record.model_validate(obj))
    return out


PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(base=records(), later=records(first=14, count=(1, 6)), day=st.integers(0, SPAN_DAYS))
def test_then_at_t_ignores_records_reported_after_t(
    lattice: Package, base: list[Record], later: list[Record], day: int
) -> None:
    at = START + dt.timedelta(days=day)
    # Shift every later record so that it is reported after T (observed any time up to then).
    after = [
        r.model_copy(update={"reported_at": max(r.reported_at, at + dt.timedelta(seconds=1))})
        for r in later
    ]
    known = list(enumerate(base))
    more = known + [(14 + i, r) for i, r in enumerate(after)]
    before = evaluate(lattice, known, at, "then").to_json()
    assert evaluate(lattice, more, at, "then").to_json() == before


@PROPS
@given(
    evidence=records(count=(1, 14)),
    view=st.sampled_from(["then", "now"]),
    probes=st.lists(st.integers(0, SPAN_DAYS * 24), min_size=4, max_size=8),
)
def test_the_timeline_lists_every_change(
    lattice: Package, evidence: list[Record], view: str, probes: list[int]
) -> None:
    pairs = list(enumerate(evidence))
    lo, hi = to_us(START), to_us(START) + SPAN_DAYS * DAY
    changes = timeline(lattice, pairs, lo, hi, view)
    for hour in probes:
        t = lo + hour * 3_600_000_000
        got = evaluate(lattice, pairs, t, view)
        for term in got.terms:
            assert status_at(changes, term.term, term.party, t) == term.status.value, (term, t)
        for step in got.steps:
            assert status_at(changes, step.step, None, t) == step.state.value, (step, t)
