"""As known then = what was LOGGED by then: a backdated record logged later changes nothing.

The reviewer's reproduction: a record appended today with a ``reported_at`` in 2018 made the
engine's "then" view of 2018 change, because visibility came from the submitter's own claim.
Under the ledger clock ``log`` a record is known "then" from its logged time (the time the
ledger's clock cosigned the first checkpoint covering it); ``reported`` keeps the old reading
for ledgers that reconstruct the past.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_engine_properties import PROPS, SPAN_DAYS, START, records

from cvid.agreements import Package, evaluate, load_package, timeline
from cvid.agreements.evidence_index import NEVER, ClockMode, Evidence, LedgerRecords, View
from cvid.agreements.instants import DAY, to_us
from cvid.agreements.timeline import status_at
from cvid.errors import InputError
from cvid.evidence import Ledger, sign_record
from cvid.evidence.record import Record
from cvid.sources import example_signer, from_ledger
from kit import cvid, ledger_package, ledger_vkey

ROOT = Path(__file__).resolve().parents[2]
NEW_START = ROOT / "examples" / "new-start"
UTC = dt.UTC

#: When the first RU declaration was logged, and when the backdated one was.
FIRST_LOGGED = dt.datetime(2018, 2, 20, 12, 0, tzinfo=UTC)
BACKDATED_LOGGED = dt.datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
T = "2018-03-01"


class FakeClock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def declaration(observed: str, reported: str, warheads: int) -> dict[str, Any]:
    obj = {
        "agreement": "new-start",
        "kind": "declaration",
        "subject": "central-limits",
        "party": "RU",
        "submitter": "RU",
        "observed_at": observed,
        "reported_at": reported,
        "values": {"deployed_warheads": {"value": warheads, "unit": "warhead"}},
    }
    return sign_record(obj, example_signer("new-start", "RU"))


def status(doc: dict[str, Any], term: str = "deployed-warheads", party: str = "RU") -> str:
    [got] = [t for t in doc["terms"] if (t["term"], t["party"]) == (term, party)]
    return str(got["status"])


@dataclass
class Story:
    directory: Path
    package: Package
    verdict_before: Path  # as known then at T, written before the backdated record


@pytest.fixture
def story(tmp_path: Path) -> Iterator[Story]:
    """A ``log``-clock ledger: RU declares 1,444 (logged 20 Feb 2018), a verdict is written,
    then in 2026 RU appends a declaration backdated to 10 Feb 2018 saying 1,600."""
    directory = tmp_path / "ledger"
    clock = FakeClock(FIRST_LOGGED)
    with Ledger.create(directory, NEW_START, clock=clock) as ledger:
        assert ledger.clock_mode == "log"
        ledger.submit([declaration("2018-02-05T00:00:00Z", "2018-02-20T00:00:00Z", 1444)])
    before = tmp_path / "before.json"
    got = cvid("verdict", directory, "--as-of", T, "--view", "then", "--out", before)
    assert got.exit_code == 0, got.output
    clock.now = BACKDATED_LOGGED
    with Ledger.open(directory, clock=clock) as ledger:
        [index] = ledger.submit([declaration("2018-02-05T00:00:00Z", "2018-02-10T00:00:00Z", 1600)])
        assert index == 1
        assert ledger.record(0).logged_at == FIRST_LOGGED
        assert ledger.record(1).logged_at == BACKDATED_LOGGED
    package = ledger_package(directory, tmp_path / "package")
    yield Story(directory, load_package(package), before)


def test_a_backdated_record_does_not_change_what_was_known_then(story: Story) -> None:
    source = from_ledger(story.directory)
    assert source.clock is ClockMode.LOG
    assert isinstance(source.records, LedgerRecords)
    then = evaluate(story.package, source.records, T, "then").to_json()
    now = evaluate(story.package, source.records, T, "now").to_json()
    assert then["clock"] == now["clock"] == "log"
    # Known then (1 March 2018): only the 1,444 declaration had been logged.
    assert status(then) == "met_claimed"
    ru = next(t for t in then["terms"] if t["term"] == "deployed-warheads" and t["party"] == "RU")
    assert ru["evidence"] == [0]
    # Known now about 1 March 2018: both, and the 1,600 breaks the limit.
    assert status(now) == "violated"
    # The same as before the backdated record existed (the prefix of one record).
    first = from_ledger(story.directory, size=1)
    assert evaluate(story.package, first.records, T, "then").to_json() == then
    # What the engine did before the fix (reported_at as the known time) was fooled by it.
    fooled = Evidence(source.records, clock="reported")
    assert status(evaluate(story.package, fooled, T, "then").to_json()) == "violated"


def test_then_visibility_is_observed_logged_and_reported(story: Story) -> None:
    ev = from_ledger(story.directory).evidence()
    vis = ev.vis[View.THEN]
    assert vis == [to_us(FIRST_LOGGED), to_us(BACKDATED_LOGGED)]
    # Logged at noon on 20 Feb: at 06:00 that day it was reported but not yet logged.
    early = "2018-02-20T06:00:00Z"
    assert status(evaluate(story.package, ev, early, "then").to_json()) == "unknown"
    reported = Evidence(ev_pairs(ev)[:1], clock="reported")
    assert status(evaluate(story.package, reported, early, "then").to_json()) == "met_claimed"


def ev_pairs(ev: Evidence) -> list[tuple[int, Record]]:
    return list(zip(ev.index, ev.records, strict=True))


def test_verdicts_as_known_then_stay_put_and_re_derive(story: Story, tmp_path: Path) -> None:
    after = tmp_path / "after.json"
    again = tmp_path / "again.json"
    for out in (after, again):
        got = cvid("verdict", story.directory, "--as-of", T, "--view", "then", "--out", out)
        assert got.exit_code == 0, got.output
    assert after.read_bytes() == again.read_bytes()
    old, new = json.loads(story.verdict_before.read_bytes()), json.loads(after.read_bytes())
    assert old["clock"] == new["clock"] == "log"
    assert (old["checkpoint"]["size"], new["checkpoint"]["size"]) == (1, 2)
    assert {k: v for k, v in old.items() if k != "checkpoint"} == {
        k: v for k, v in new.items() if k != "checkpoint"
    }
    # Both re-derive from the ledger, the older one from its prefix of the grown ledger.
    for verdict in (story.verdict_before, after):
        got = cvid("verdict", "verify", verdict, "--log", story.directory)
        assert got.exit_code == 0, got.output


def test_tiles_cannot_re_derive_a_then_verdict_under_the_log_clock(
    story: Story, tmp_path: Path
) -> None:
    tiles = tmp_path / "tiles"
    assert cvid("log", "export", story.directory, tiles).exit_code == 0
    vkey = ledger_vkey(story.directory)
    then, now = tmp_path / "then.json", tmp_path / "now.json"
    for out, view in ((then, "then"), (now, "now")):
        got = cvid("verdict", story.directory, "--as-of", T, "--view", view, "--out", out)
        # Exit 1 when the verdict records a violated term (docs/cli.md); written either way.
        violated = json.loads(got.stdout)["violated"]
        assert got.exit_code == (1 if violated else 0), got.output
    args = ["--log", tiles, "--vkey", vkey, "--package", story.package.directory]
    refused = cvid("verdict", "verify", then, *args)
    assert refused.exit_code == 2, refused.output
    assert "cannot re-derive this verdict from tiles" in refused.output
    assert "--log DIR" in refused.output
    got = cvid("verdict", "verify", now, *args)
    assert got.exit_code == 0, got.output


def test_status_json_names_the_clock(story: Story) -> None:
    got = cvid("status", story.directory, "--as-of", T, "--view", "then", "--json")
    assert got.exit_code == 0, got.output
    doc = json.loads(got.stdout)
    assert doc["clock"] == "log" and status(doc) == "met_claimed"


# -- the index, directly ---------------------------------------------------------------------


def rec(observed: str, reported: str, value: int = 100) -> Record:
    return Record.model_validate(
        {
            "agreement": "lattice",
            "kind": "declaration",
            "party": "A",
            "subject": "stock",
            "observed_at": observed,
            "reported_at": reported,
            "values": {"stock": {"value": value, "unit": "kg U"}},
            "submitter": "A",
            "signer": "test",
        }
    )


def test_index_rules_for_each_clock() -> None:
    a = rec("2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z")
    b = rec("2020-01-01T00:00:00Z", "2020-01-05T12:04:00Z")  # reported 4 min after logging
    c = rec("2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z")
    pairs = [(0, a), (1, b), (2, c)]
    logged = {
        0: dt.datetime(2020, 1, 3, tzinfo=UTC),
        1: dt.datetime(2020, 1, 5, 12, tzinfo=UTC),
        2: None,  # no cosigned checkpoint covers it yet
    }
    ev = Evidence(pairs, clock="log", logged_at=logged)
    assert ev.clock is ClockMode.LOG
    assert ev.vis[View.THEN] == [
        to_us(logged[0]),  # type: ignore[arg-type]
        to_us(b.reported_at),  # never before the record's own reported_at
        NEVER,
    ]
    assert ev.vis[View.NOW] == [to_us(a.observed_at)] * 3  # now: observed, logged or not
    assert Evidence(pairs).clock is ClockMode.REPORTED
    assert Evidence(pairs).vis[View.THEN] == [to_us(r.reported_at) for _, r in pairs]
    # Missing from the mapping is "not logged" too.
    assert Evidence(pairs, clock="log", logged_at={}).vis[View.THEN] == [NEVER] * 3
    # A list that carries them gives its clock and times to every index built from it.
    carried = LedgerRecords(pairs, "log", logged)
    assert Evidence(carried).vis == ev.vis
    assert Evidence(list(carried)).clock is ClockMode.REPORTED


def test_then_is_refused_without_logged_times_under_the_log_clock(lattice: Package) -> None:
    pairs = [(0, rec("2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z"))]
    ev = Evidence(LedgerRecords(pairs, "log", None))
    assert View.THEN not in ev.vis
    assert evaluate(lattice, ev, "2020-02-01", "now").clock is ClockMode.LOG
    with pytest.raises(InputError, match="without their logged times"):
        evaluate(lattice, ev, "2020-02-01", "then")


# -- properties ------------------------------------------------------------------------------


def logged_times(
    recs: list[Record], first: int, lags: list[int | None]
) -> dict[int, dt.datetime | None]:
    """Logged ``lag`` hours after reported_at (or not logged at all, for None)."""
    out: dict[int, dt.datetime | None] = {}
    for i, r in enumerate(recs):
        lag = lags[i % len(lags)]
        out[first + i] = None if lag is None else r.reported_at + dt.timedelta(hours=lag)
    return out


LAGS = st.lists(st.one_of(st.none(), st.integers(0, 24 * 200)), min_size=1, max_size=14)


@PROPS
@given(
    base=records(),
    later=records(first=14, count=(1, 6)),
    day=st.integers(0, SPAN_DAYS),
    lags=LAGS,
    delays=st.lists(st.integers(1, 3 * 10**7), min_size=6, max_size=6),
)
def test_then_at_t_ignores_records_logged_after_t(
    lattice: Package,
    base: list[Record],
    later: list[Record],
    day: int,
    lags: list[int | None],
    delays: list[int],
) -> None:
    """Whatever they report (backdated, corrections, disputes), records logged after T do not
    change the status at T as known then."""
    at = START + dt.timedelta(days=day)
    known = list(enumerate(base))
    logged = logged_times(base, 0, lags)
    more = known + [(14 + i, r) for i, r in enumerate(later)]
    more_logged = dict(logged)
    for i in range(len(later)):
        more_logged[14 + i] = at + dt.timedelta(seconds=delays[i])
    before = evaluate(lattice, Evidence(known, clock="log", logged_at=logged), at, "then")
    after = evaluate(lattice, Evidence(more, clock="log", logged_at=more_logged), at, "then")
    assert after.to_json() == before.to_json()


@PROPS
@given(
    evidence=records(count=(1, 14)),
    lags=LAGS,
    probes=st.lists(st.integers(0, SPAN_DAYS * 24), min_size=4, max_size=8),
)
def test_the_timeline_lists_every_change_under_the_log_clock(
    lattice: Package, evidence: list[Record], lags: list[int | None], probes: list[int]
) -> None:
    ev = Evidence(list(enumerate(evidence)), clock="log", logged_at=logged_times(evidence, 0, lags))
    lo, hi = to_us(START), to_us(START) + SPAN_DAYS * DAY
    changes = timeline(lattice, ev, lo, hi, "then")
    for hour in probes:
        t = lo + hour * 3_600_000_000
        got = evaluate(lattice, ev, t, "then")
        for term in got.terms:
            assert status_at(changes, term.term, term.party, t) == term.status.value, (term, t)
        for step in got.steps:
            assert status_at(changes, step.step, None, t) == step.state.value, (step, t)
