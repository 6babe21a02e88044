"""Notices of suspension, countermeasure, withdrawal and resumption: what a party owes from the
notice's effective date says so (``suspended``, ``withdrawn``), never a silent ``overdue``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agreements_kit import NEW_START, NEW_START_CSV, STEPS, rec

from cvid.agreements import Evidence, Package, Status, evaluate, load_package, timeline
from cvid.agreements.notices import notices
from cvid.agreements.timeline import statuses_between
from cvid.evidence import Ledger, sign_record
from cvid.evidence.record import Record
from cvid.sources import example_signer, import_declarations
from kit import cvid


@pytest.fixture(scope="module")
def steps() -> Package:
    return load_package(STEPS)


CLEAN = rec(
    "inspection_finding",
    "A",
    "2020-02-01",
    {"tests": False},
    submitter="INSP",
    subject="testing",
    agreement="steps",
)


def notice(observed: str, party: str = "A", submitter: str | None = None, **values: Any) -> Record:
    return rec(
        "notice",
        party,
        observed,
        values,
        submitter=submitter,
        subject="agreement",
        agreement="steps",
    )


def term(steps: Package, records: list[Record], at: str, id: str = "no-testing") -> Any:
    got = evaluate(steps, list(enumerate(records)), at)
    [t] = [t for t in got.terms if (t.term, t.party) == (id, "A")]
    return t


def test_a_suspended_term_keeps_what_it_would_be_in_its_facts(steps: Package) -> None:
    records = [CLEAN, notice("2020-04-01", notice="suspension", effective="2020-05-01")]
    before = term(steps, records, "2020-04-20")
    assert before.status is Status.MET_VERIFIED
    t = term(steps, records, "2020-05-02")
    assert t.status is Status.SUSPENDED and t.evidence == (0, 1)
    facts = dict(t.facts)
    assert facts["underlying_status"] == "met_verified" and facts["notice"] == 1
    assert facts["effective"] == "2020-05-01T00:00:00Z"
    assert "A notified suspension as of 2020-04-01 (log 1), effective 2020-05-01" in t.explanation


def test_a_withdrawal_is_never_a_silent_overdue(steps: Package) -> None:
    records = [notice("2020-03-01", notice="withdrawal", effective="2020-06-01")]
    t = term(steps, records, "2020-07-15", "dismantle-pad")
    assert t.status is Status.WITHDRAWN and dict(t.facts)["underlying_status"] == "overdue"
    assert term(steps, records, "2020-05-15", "dismantle-pad").status is Status.PENDING


def test_a_notice_limited_in_scope_leaves_other_terms_alone(steps: Package) -> None:
    records = [notice("2020-03-01", notice="countermeasure", scope="no-testing")]
    assert term(steps, records, "2020-07-15").status is Status.SUSPENDED
    assert term(steps, records, "2020-07-15", "dismantle-pad").status is Status.OVERDUE


def test_only_the_partys_own_well_formed_uncorrected_notice_counts(steps: Package) -> None:
    by_other = [CLEAN, notice("2020-03-01", submitter="B", notice="withdrawal")]
    assert term(steps, by_other, "2020-04-01").status is Status.MET_VERIFIED
    no_date = [CLEAN, notice("2020-03-01", notice="withdrawal", effective="soon")]
    assert term(steps, no_date, "2020-04-01").status is Status.MET_VERIFIED
    unknown = [CLEAN, notice("2020-03-01", notice="pause")]
    assert term(steps, unknown, "2020-04-01").status is Status.MET_VERIFIED
    corrected = [
        CLEAN,
        notice("2020-03-01", notice="withdrawal"),
        rec(
            "notice",
            "A",
            "2020-03-10",
            {"notice": "resumption"},
            subject="agreement",
            agreement="steps",
            supersedes=1,
        ),
    ]
    assert term(steps, corrected, "2020-03-05").status is Status.WITHDRAWN
    assert term(steps, corrected, "2020-03-15").status is Status.MET_VERIFIED


def test_a_term_not_in_force_stays_not_in_force(steps: Package) -> None:
    records = [notice("2019-06-01", notice="withdrawal")]
    assert term(steps, records, "2019-07-01").status is Status.NOT_IN_FORCE
    assert term(steps, records, "2020-01-02").status is Status.WITHDRAWN


def test_an_open_finding_stays_open_under_a_suspension(steps: Package) -> None:
    tested = rec(
        "inspection_finding",
        "A",
        "2020-02-01",
        {"tests": True},
        submitter="INSP",
        subject="testing",
        agreement="steps",
    )
    records = [tested, notice("2020-03-01", notice="suspension")]
    t = term(steps, records, "2020-04-01")
    assert t.status is Status.SUSPENDED and dict(t.facts)["underlying_status"] == "violated"
    assert t.open_finding is not None and t.open_finding.evidence == (0,)


def test_the_timeline_shows_suspension_and_resumption(steps: Package) -> None:
    records = [
        CLEAN,
        notice("2020-03-01", notice="suspension", effective="2020-04-01"),
        notice("2020-06-01", notice="resumption"),
    ]
    changes = timeline(steps, list(enumerate(records)), "2020-01-01", "2020-12-31")
    assert statuses_between(changes, "no-testing", "A") == [
        "unknown",
        "met_verified",
        "suspended",
        "met_verified",
    ]
    [sus] = [c for c in changes if c.after == "suspended" and c.id == "no-testing"]
    assert sus.at == evaluate(steps, [], "2020-04-01").as_of


class _Untouchable(list[Record]):
    def __iter__(self) -> Any:
        raise AssertionError("the records were walked")

    def __getitem__(self, i: Any) -> Any:
        raise AssertionError("a record was read")


def test_a_party_without_notices_costs_no_walk_of_the_records() -> None:
    ev = Evidence([(i, rec("declaration", "A", "2020-01-01", {"x": True})) for i in range(50)])
    ev.records = _Untouchable(ev.records)
    assert notices(ev, "A") == () and notices(ev, "B") == ()


def _new_start_ledger(directory: Path) -> Path:
    keys = {p: example_signer("new-start", p) for p in ("US", "RU")}
    with Ledger.create(directory, NEW_START, clock_mode="reported") as ledger:
        import_declarations(ledger, NEW_START_CSV, NEW_START / "mapping.yaml", keys)
    return directory


def _notify(directory: Path, values: dict[str, str]) -> None:
    """Submit RU's signed notice of 10 March 2018 with ``values`` to the ledger."""
    notice = {
        "agreement": "new-start",
        "kind": "notice",
        "subject": "treaty",
        "party": "RU",
        "submitter": "RU",
        "observed_at": "2018-03-10T00:00:00Z",
        "reported_at": "2018-03-10T00:00:00Z",
        "values": values,
    }
    with Ledger.open(directory) as ledger:
        ledger.submit([sign_record(notice, example_signer("new-start", "RU"))])


def test_cvid_status_json_shows_a_suspended_exchange_with_what_it_would_be(
    tmp_path: Path,
) -> None:
    directory = _new_start_ledger(tmp_path / "ledger")
    _notify(directory, {"notice": "suspension", "scope": "data-exchange"})
    result = cvid("status", directory, "--as-of", "2018-04-15", "--json")
    doc = json.loads(result.stdout)
    by = {(t["term"], t["party"]): t for t in doc["terms"]}
    ru = by[("data-exchange", "RU")]
    assert ru["status"] == "suspended", result.output
    assert ru["facts"]["underlying_status"] == "overdue" and 26 in ru["evidence"]
    assert by[("data-exchange", "US")]["status"] == "overdue"
    assert by[("deployed-warheads", "RU")]["status"] == "met_claimed"


def test_the_view_model_says_what_each_new_step_state_means(steps: Package) -> None:
    from cvid.view import build_view

    pad = rec(
        "inspection_finding",
        "A",
        "2020-03-01",
        {"pad_dismantled": True},
        submitter="INSP",
        subject="pad",
        agreement="steps",
    )
    relief = rec("statement", "B", "2020-04-01", subject="relief", agreement="steps")
    undone = rec(
        "statement", "B", "2020-05-01", {"delivered": False}, subject="relief", agreement="steps"
    )
    tranche = rec(
        "statement",
        "B",
        "2020-10-01",
        {"part": "tranche-1", "lifted": True},
        subject="phased-relief",
        agreement="steps",
    )
    suspended = notice("2020-03-15", party="B", notice="suspension", scope="relief")

    def says(records: list[Record], at: str) -> dict[str, tuple[str, str]]:
        doc = build_view(steps, list(enumerate(records)), at, ["now"]).to_json()
        return {s["step"]: (s["states"]["now"], s["says"]) for s in doc["steps"]}

    got = says([pad, relief, undone], "2020-05-10")
    assert got["relief"] == ("reversed", "Delivered by B to A, then undone by a later record of B.")
    got = says([pad, relief, tranche], "2020-10-10")
    assert got["phased-relief"][0] == "partly_delivered"
    assert "some of its parts are outstanding" in got["phased-relief"][1]
    got = says([pad, suspended], "2020-04-01")
    assert got["relief"] == ("suspended", "Suspended by B's notice: B says it no longer owes it.")


def test_cvid_timeline_json_shows_a_limit_turn_withdrawn(tmp_path: Path) -> None:
    directory = _new_start_ledger(tmp_path / "ledger")
    _notify(directory, {"notice": "withdrawal", "effective": "2018-06-01"})
    result = cvid("timeline", directory, "--from", "2018-01-01", "--to", "2018-12-31", "--json")
    doc = json.loads(result.stdout)
    ru = [c for c in doc["changes"] if (c["id"], c["party"]) == ("deployed-warheads", "RU")]
    assert [c["to"] for c in ru] == ["not_in_force", "met_claimed", "withdrawn"], result.output
    assert ru[-1]["at"] == "2018-06-01T00:00:00Z" and ru[-1]["evidence"] == [25, 26]
