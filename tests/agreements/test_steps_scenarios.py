"""Reciprocal steps: delivery by what a record says, reversal, steps waiting on steps, parts,
owed_from, and words that never say a requirement "no longer holds" when it never held."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from agreements_kit import STEPS, rec

from cvid.agreements import (
    Package,
    PackageError,
    StepState,
    evaluate,
    load_package,
    parse_package,
    run_scenarios,
    timeline,
)
from cvid.agreements.timeline import statuses_between


@pytest.fixture(scope="module")
def steps() -> Package:
    return load_package(STEPS)


def test_the_steps_scenarios_pass_and_reach_every_step_state(steps: Package) -> None:
    results = run_scenarios(steps)
    assert results and all(r.ok for r in results), [f for r in results for f in r.failures]
    states = set()
    for path in (STEPS / "scenarios").glob("*.yaml"):
        for sc in yaml.safe_load(path.read_text())["scenarios"]:
            for exp in sc.get("expect", []):
                states.update(s["state"] for s in exp.get("steps", []) if "state" in s)
            for tl in sc.get("timeline", []):
                if "step" in tl:
                    states.update(tl["statuses"])
    assert states == {s.value for s in StepState}


def _relief(steps: Package, *records: dict[str, object], at: str) -> tuple[StepState, str]:
    pairs = [(i, rec(**r)) for i, r in enumerate(records)]  # type: ignore[arg-type]
    [got] = [s for s in evaluate(steps, pairs, at).steps if s.step == "relief"]
    return got.state, got.explanation


VERIFIED = {
    "kind": "inspection_finding",
    "party": "A",
    "submitter": "INSP",
    "subject": "pad",
    "observed": "2020-03-01",
    "values": {"pad_dismantled": True},
    "agreement": "steps",
}


def _said(observed: str, **values: object) -> dict[str, object]:
    return {
        "kind": "statement",
        "party": "B",
        "subject": "relief",
        "observed": observed,
        "values": values,
        "agreement": "steps",
    }


def test_a_statement_that_relief_was_not_granted_does_not_deliver_it(steps: Package) -> None:
    state, why = _relief(steps, VERIFIED, _said("2020-04-01", delivered=False), at="2020-05-01")
    assert state is StepState.UNLOCKED
    assert "which does not deliver it" in why
    state, _ = _relief(steps, VERIFIED, _said("2020-04-01", delivered=True), at="2020-05-01")
    assert state is StepState.DELIVERED


def test_relief_granted_then_reimposed_is_reversed_and_the_timeline_shows_it(
    steps: Package,
) -> None:
    records = [VERIFIED, _said("2020-04-01"), _said("2020-05-01", delivered=False)]
    state, why = _relief(steps, *records, at="2020-05-10")
    assert state is StepState.REVERSED and "which undoes it" in why
    pairs = [(i, rec(**r)) for i, r in enumerate(records)]  # type: ignore[arg-type]
    changes = timeline(steps, pairs, "2020-01-01", "2020-12-31")
    assert statuses_between(changes, "relief", None) == [
        "locked",
        "unlocked",
        "delivered",
        "reversed",
    ]
    [undone] = [c for c in changes if c.id == "relief" and c.after == "reversed"]
    assert undone.before == "delivered" and undone.evidence == (0, 1, 2)


def test_a_correction_of_the_undoing_record_makes_the_step_delivered_again(
    steps: Package,
) -> None:
    fixed = {**_said("2020-05-01", delivered=True), "supersedes": 2, "reported": "2020-06-01"}
    records = [VERIFIED, _said("2020-04-01"), _said("2020-05-01", delivered=False), fixed]
    assert _relief(steps, *records, at="2020-05-10")[0] is StepState.DELIVERED
    assert _relief(steps, *records[:3], at="2020-05-10")[0] is StepState.REVERSED


def test_a_delivery_condition_that_cannot_read_a_record_does_not_deliver() -> None:
    pkg = load_package(STEPS)
    records = [
        (0, rec(**VERIFIED)),  # type: ignore[arg-type]
        (1, rec(**_said("2020-04-01"))),  # type: ignore[arg-type]
        (
            2,
            rec(
                "statement",
                "B",
                "2020-09-10",
                {"lifted": "yes"},
                subject="phased-relief",
                agreement="steps",
            ),
        ),
    ]
    [phased] = [s for s in evaluate(pkg, records, "2020-09-20").steps if s.step == "phased-relief"]
    assert phased.state is StepState.UNLOCKED


STEP = """\
steps:
  - id: first
    title: First
    clause: {{ref: R, quote: Q}}
    by: B
    owed_from: 2020-01-01
    delivered_by: {{subject: first}}
  - id: s
    title: S
    clause: {{ref: R, quote: Q}}
    by: B
{rule}
    delivered_by: {{subject: s{extra}}}
"""

HEAD = textwrap.dedent("""\
    id: t
    title: Test
    parties:
      - {id: A, name: Party A, roles: [inspected_party]}
      - {id: B, name: Party B, roles: [counterparty]}
    terms:
      - id: x
        kind: action
        title: X
        clause: {ref: R, quote: Q}
        deadline: 2020-06-30
        evidence: {quantity: done}
    """)


@pytest.mark.parametrize(
    ("rule", "extra", "message"),
    [
        ("    requires: [{step: nowhere}]", "", "step 'nowhere' does not exist"),
        ("    requires: [{step: s}]", "", "step 's' comes at or after it"),
        ("    requires: [{step: first, party: A}]", "", "'party' belongs to a term requirement"),
        ("    requires: [{}]", "", "names either a term or a step"),
        ("    requires: [{term: x, step: first}]", "", "names either a term or a step"),
        (
            "    requires: [{step: first}]\n    parts: [{id: p, title: P}, {id: p, title: Q}]",
            "",
            "part id 'p' is used twice",
        ),
        ("    requires: [{step: first}]", ", condition: 'values.'", "delivery"),
    ],
)
def test_steps_that_cannot_be_read_are_refused_naming_where(
    rule: str, extra: str, message: str
) -> None:
    with pytest.raises(PackageError, match=message):
        parse_package(HEAD + STEP.format(rule=rule, extra=extra))


def test_a_step_may_be_owed_from_a_date_alone() -> None:
    pkg = parse_package(HEAD + STEP.format(rule="    requires: [{step: first}]", extra=""))
    assert pkg.steps[0].owed_from is not None and pkg.steps[1].after == ("first",)
    got = {s.step: s.state for s in evaluate(pkg, [], "2019-06-01").steps}
    assert got == {"first": StepState.LOCKED, "s": StepState.LOCKED}
    got = {s.step: s.state for s in evaluate(pkg, [], "2020-06-01").steps}
    assert got == {"first": StepState.UNLOCKED, "s": StepState.LOCKED}
    delivered = [(0, rec("statement", "B", "2020-02-01", subject="first", agreement="t"))]
    got = {s.step: s.state for s in evaluate(pkg, delivered, "2020-06-01").steps}
    assert got == {"first": StepState.DELIVERED, "s": StepState.UNLOCKED}


def test_a_requirement_that_never_held_is_never_said_to_no_longer_hold(steps: Package) -> None:
    state, why = _relief(steps, _said("2020-02-01"), at="2020-02-10")
    assert state is StepState.DELIVERED
    assert "no longer" not in why and "did not hold when it was delivered" in why
    rebuilt = {**VERIFIED, "observed": "2020-08-01", "values": {"pad_dismantled": False}}
    state, why = _relief(steps, VERIFIED, _said("2020-04-01"), rebuilt, at="2020-08-10")
    assert state is StepState.DELIVERED and "no longer holds" in why


def test_every_status_and_state_has_a_colour_and_words_wherever_they_are_drawn() -> None:
    from agreements_kit import ROOT

    from cvid.agreements import Status
    from cvid.cli.agreements import COLORS
    from cvid.report.svg import STATUS_COLORS

    legend = (ROOT / "src" / "cvid" / "web" / "dashboard" / "app.js").read_text()
    for value in [*(s.value for s in Status), *(s.value for s in StepState)]:
        assert value in COLORS and value in STATUS_COLORS, value
        assert f"    {value}: [" in legend, value
