"""The engine reaches every status and step state on purpose, and never calls missing data met."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from agreements_kit import LATTICE, STEPS, kg, rec, write

from cvid.agreements import (
    Evidence,
    Package,
    PackageError,
    Status,
    StepState,
    evaluate,
    load_package,
    run_scenarios,
)
from cvid.agreements.scenarios import run_scenario_text
from cvid.evidence.record import Record


def test_the_lattice_scenarios_pass_and_cover_every_status_and_state(lattice: Package) -> None:
    results = run_scenarios(lattice)
    assert results and all(r.ok for r in results), [f for r in results for f in r.failures]
    assert sum(r.checks for r in results) >= 40
    statuses, states = set(), set()
    # The steps package (test_steps_scenarios.py runs it) reaches the step states and notices.
    for path in [*(LATTICE / "scenarios").glob("*.yaml"), *(STEPS / "scenarios").glob("*.yaml")]:
        for sc in yaml.safe_load(path.read_text())["scenarios"]:
            for exp in sc.get("expect", []):
                statuses.update(t["status"] for t in exp.get("terms", []) if "status" in t)
                states.update(s["state"] for s in exp.get("steps", []) if "state" in s)
            for tl in sc.get("timeline", []):
                (states if "step" in tl else statuses).update(tl["statuses"])
    assert statuses == {s.value for s in Status}
    assert states == {s.value for s in StepState}


def test_a_wrong_expectation_fails_with_what_was_found(lattice: Package) -> None:
    text = """\
scenarios:
  - name: wrong on purpose
    given:
      - {kind: declaration, party: A, subject: stock, observed_at: 2020-02-01,
         values: {stock: {value: 300, unit: kg UF6}}}
    expect:
      - as_of: 2020-02-02
        terms: [{term: stock-limit, party: A, status: met_claimed, evidence: [7]}]
"""
    [result] = run_scenario_text(lattice, text, "wrong.yaml")
    assert not result.ok
    assert "expected met_claimed, got violated" in result.failures[0]
    assert "expected evidence [7], got [0]" in result.failures[1]
    where = "wrong.yaml:7:9: as of 2020-02-02 (now): term stock-limit A"
    assert result.failures[0].startswith(where)


def _status(
    pkg: Package, records: list[Record], at: str, view: str = "now"
) -> tuple[str, list[int]]:
    ev = evaluate(pkg, list(enumerate(records)), at, view)
    [t] = [t for t in ev.terms if t.term == "stock-limit"]
    return t.status.value, list(t.evidence)


def test_a_limit_in_kg_u_is_checked_against_reports_in_kg_uf6(lattice: Package) -> None:
    # 148 kg UF6 = 100.07 kg U: above 100 kg U although the number 148 means nothing here.
    over = rec("declaration", "A", "2020-02-01", {"stock": kg(148)})
    under = rec("declaration", "A", "2020-02-01", {"stock": kg(147)})
    assert _status(lattice, [over], "2020-02-02")[0] == "violated"
    assert _status(lattice, [under], "2020-02-02")[0] == "met_claimed"
    facts = dict(evaluate(lattice, [(0, over)], "2020-02-02").terms[0].facts)
    assert facts["value"] == pytest.approx(148 * 238.02891 / (238.02891 + 6 * 18.998403))
    assert facts["limit"] == 100 and facts["unit"] == "kg U"


def test_evidence_that_cannot_be_converted_is_unknown_not_met(lattice: Package) -> None:
    wrong_unit = rec("declaration", "A", "2020-02-01", {"stock": kg(1, "warhead")})
    status, evidence = _status(lattice, [wrong_unit], "2020-02-02")
    assert (status, evidence) == ("unknown", [0])


def test_a_condition_that_fails_at_run_time_is_unknown(tmp_path: Path) -> None:
    text = (
        (LATTICE / "agreement.yaml")
        .read_text()
        .replace(
            'condition: "value == 0.0 && baseline > 0.0"', "condition: 'values[\"absent\"] == 1.0'"
        )
    )
    pkg = load_package(write(tmp_path / "p" / "agreement.yaml", text).parent)
    r = rec("declaration", "A", "2020-02-01", {"missiles_remaining": kg(0, "missile")})
    [t] = [t for t in evaluate(pkg, [(0, r)], "2020-03-01").terms if t.term == "eliminate-missiles"]
    assert t.status is Status.UNKNOWN
    assert "fails on log 0" in t.explanation and "absent" in t.explanation


def test_a_correction_hides_the_record_it_corrects_from_when_it_is_known(lattice: Package) -> None:
    first = rec("declaration", "A", "2020-02-01", {"stock": kg(300)}, reported="2020-02-05")
    fixed = rec(
        "declaration", "A", "2020-02-01", {"stock": kg(100)}, reported="2020-03-01", supersedes=0
    )
    assert _status(lattice, [first, fixed], "2020-02-10", "then") == ("violated", [0])
    assert _status(lattice, [first, fixed], "2020-03-01", "then") == ("met_claimed", [1])
    assert _status(lattice, [first, fixed], "2020-02-10", "now") == ("met_claimed", [1])


def test_a_dispute_needs_another_submitter_and_ends_when_withdrawn(lattice: Package) -> None:
    claim = rec("declaration", "A", "2020-02-01", {"stock": kg(100)})
    own = rec("statement", "A", "2020-02-03", disputes=0)
    assert _status(lattice, [claim, own], "2020-02-05")[0] == "met_claimed"
    other = rec("statement", "A", "2020-02-03", submitter="B", disputes=0)
    assert _status(lattice, [claim, other], "2020-02-05") == ("disputed", [0, 1])
    withdrawn = rec("statement", "A", "2020-02-04", submitter="B", supersedes=1)
    assert _status(lattice, [claim, other, withdrawn], "2020-02-05") == ("met_claimed", [0])


def test_a_verification_by_the_party_itself_is_only_a_claim(lattice: Package) -> None:
    own = rec("measurement", "A", "2020-02-01", {"stock": kg(100)})
    observer = rec("observation", "A", "2020-02-01", {"stock": kg(100)}, submitter="OBS")
    inspector = rec("measurement", "A", "2020-02-01", {"stock": kg(100)}, submitter="INSP")
    assert _status(lattice, [own, observer], "2020-02-02")[0] == "met_claimed"
    assert _status(lattice, [own, observer, inspector], "2020-02-02") == ("met_verified", [0, 1, 2])


def test_any_failing_record_of_the_deciding_group_breaks_the_term(lattice: Package) -> None:
    claim = rec("declaration", "A", "2020-02-01", {"stock": kg(100)})
    finding = rec("measurement", "A", "2020-02-01", {"stock": kg(200)}, submitter="INSP")
    assert _status(lattice, [claim, finding], "2020-02-02") == ("violated", [0, 1])


def test_evaluation_is_deterministic_and_takes_indexed_or_plain_evidence(lattice: Package) -> None:
    records = [
        (3, rec("declaration", "A", "2020-02-01", {"stock": kg(100)})),
        (
            1,
            rec(
                "inspection_finding",
                "A",
                "2020-03-01",
                {"pad_dismantled": True},
                subject="pad",
                submitter="INSP",
            ),
        ),
    ]
    a = evaluate(lattice, records, "2020-04-01").to_json()
    b = evaluate(lattice, Evidence(list(reversed(records))), "2020-04-01T00:00:00Z").to_json()
    assert json.dumps(a) == json.dumps(b)
    assert a["summary"] == {
        "met_claimed": 1,
        "met_verified": 1,
        "pending": 1,
        "unknown": 1,
        "overdue": 1,
    }


def test_a_violation_any_record_shows_is_not_hidden_by_one_that_cannot_be_converted(
    lattice: Package,
) -> None:
    unreadable = rec("declaration", "A", "2020-02-01", {"stock": kg(1, "warhead")})
    over = rec("measurement", "A", "2020-02-01", {"stock": kg(300)}, submitter="INSP")
    assert _status(lattice, [unreadable, over], "2020-02-02") == ("violated", [0, 1])
    [t] = [t for t in evaluate(lattice, [(0, unreadable), (1, over)], "2020-02-02").terms][:1]
    assert "above the 100 kg U limit" in t.explanation and "log 0" in t.explanation
    # Without a breach shown, a record that cannot be read still makes the term unknown.
    within = rec("measurement", "A", "2020-02-01", {"stock": kg(100)}, submitter="INSP")
    assert _status(lattice, [unreadable, within], "2020-02-02") == ("unknown", [0, 1])


def test_a_step_is_delivered_only_by_a_record_the_owing_party_submitted(lattice: Package) -> None:
    def relief(**extra: object) -> StepState:
        r = rec("statement", "B", "2020-03-01", subject="relief", **extra)  # type: ignore[arg-type]
        [s] = [s for s in evaluate(lattice, [(0, r)], "2020-03-02").steps if s.step == "relief"]
        return s.state

    assert relief() is StepState.DELIVERED
    # A newspaper (an observer) reporting that B lifted sanctions does not deliver B's step.
    assert relief(submitter="OBS") is StepState.LOCKED
    assert relief(submitter="A") is StepState.LOCKED


@pytest.mark.parametrize(
    ("expectation", "message"),
    [
        (
            "{term: stock-limit, party: A, stauts: violated, evidense: [99]}",
            r"expect\.0\.terms\.0\.evidense: Extra inputs are not permitted",
        ),
        ("{term: stock-limt, party: A, status: violated}", r"invalid: no term 'stock-limt'"),
        ("{term: stock-limit, party: B, status: violated}", r"term 'stock-limit' is not B's"),
        ("{term: stock-limit, party: A, status: violatd}", r"status: Input should be"),
    ],
)
def test_a_malformed_or_misspelt_expectation_makes_the_file_invalid(
    lattice: Package, expectation: str, message: str
) -> None:
    text = f"""\
scenarios:
  - name: misspelt
    given: []
    expect:
      - as_of: 2020-02-02
        terms: [{expectation}]
"""
    with pytest.raises(PackageError, match=message) as err:
        run_scenario_text(lattice, text, "bad.yaml")
    assert err.value.diagnostics().startswith("bad.yaml:")


def test_timelines_and_steps_in_scenarios_are_checked_too(lattice: Package) -> None:
    def run(body: str) -> None:
        run_scenario_text(lattice, f"scenarios:\n  - name: x\n{body}", "s.yaml")

    with pytest.raises(PackageError, match="invalid: no step 'releif'"):
        run("    expect:\n      - {as_of: 2020-01-01, steps: [{step: releif, state: locked}]}\n")
    with pytest.raises(PackageError, match="not a status: lockd"):
        run(
            "    timeline:\n      - {from: 2020-01-01, to: 2020-02-01, step: relief,"
            " statuses: [lockd]}\n"
        )
    with pytest.raises(PackageError, match="needs its party"):
        run(
            "    timeline:\n      - {from: 2020-01-01, to: 2020-02-01, term: report,"
            " statuses: [pending]}\n"
        )
    with pytest.raises(PackageError, match=r"s.yaml:4:35: invalid: scenarios.0.expect.0.view"):
        run("    expect:\n      - {as_of: 2020-01-01, view: sometime}\n")


def test_a_record_time_without_a_time_zone_is_an_invalid_scenario_naming_the_line(
    lattice: Package,
) -> None:
    text = """\
scenarios:
  - name: naive
    given:
      - {kind: declaration, party: A, subject: stock, observed_at: "2020-02-01T00:00:00",
         values: {stock: {value: 1, unit: kg U}}}
"""
    with pytest.raises(
        PackageError,
        match=r"naive.yaml:4:9: not a valid record: observed_at: "
        r"an instant must carry a time zone",
    ):
        run_scenario_text(lattice, text, "naive.yaml")
