"""Instants at the edges (issue 12): zone offsets that move a time past year 1 or 9999, and
years before 1900 or from 2200 on.

Every place an instant enters (a record, the command line's --as-of/--from/--to, a CSV cell,
a package's YAML) refuses them with an ``InputError`` (exit 2) naming the range of
:func:`cvid.limits.check_instant`, never an ``OverflowError``; a refused record is not admitted.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from cvid.agreements.instants import parse_instant
from cvid.errors import InputError
from cvid.evidence.importer import parse_mapping, read_csv, table_records
from cvid.limits import MAX_INSTANT, MIN_INSTANT, InstantRangeError, check_instant
from kit import ROOT, cvid, ok

NEW_START = ROOT / "examples" / "new-start"
RANGE = "outside the range cvid accepts (1900-01-01 to 2200-01-01, UTC)"
EDGES = [
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+01:00",
    "0744-03-01T00:00:00Z",
    "1899-12-31T23:59:59Z",
    "2200-01-01T00:00:00Z",
]


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("hostile-instants") / "ledger"
    ok(cvid("ledger", "init", where, "--agreement", NEW_START))
    return where


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("key") / "us.key"
    ok(cvid("key", "new", "US", "--out", out))
    return out


def _record(tmp_path: Path, key: Path, **changes: str) -> Path:
    """A signed declaration, then ``changes`` made to it (so its signature no longer holds,
    but the schema is checked first)."""
    template = tmp_path / "t.json"
    template.write_text(ok(cvid("evidence", "template", "declaration")).output)
    signed = json.loads(ok(cvid("evidence", "sign", template, "--key", key)).output)
    signed.update(changes)
    out = tmp_path / "r.json"
    out.write_text(json.dumps(signed))
    return out


@pytest.mark.parametrize("when", EDGES)
@pytest.mark.parametrize("field", ["observed_at", "reported_at"])
def test_submit_and_sign_refuse_an_instant_out_of_range(
    ledger: Path, key: Path, tmp_path: Path, when: str, field: str
) -> None:
    record = _record(tmp_path, key, **{field: when})
    size = json.loads(ok(cvid("ledger", "info", ledger, "--json")).output)["size"]
    for args in (("submit", ledger, record), ("evidence", "sign", record, "--key", key)):
        result = cvid(*args)
        assert result.exit_code == 2, result.output
        assert (
            f"{field}: instant {when.replace('Z', '+00:00')}" in result.output
            and RANGE in result.output
        )
        assert "Traceback" not in result.output
    assert json.loads(ok(cvid("ledger", "info", ledger, "--json")).output)["size"] == size


@pytest.mark.parametrize("when", [*EDGES, "0744-03-01", "2200-01-01"])
def test_the_command_line_refuses_an_instant_out_of_range(ledger: Path, when: str) -> None:
    for args in (
        ("status", ledger, "--as-of", when),
        ("timeline", ledger, "--from", when, "--to", "2018-01-01"),
        ("timeline", ledger, "--from", "2018-01-01", "--to", when),
        ("verdict", "create", ledger, "--as-of", when, "--out", ledger.parent / "v.json"),
        ("evidence", "list", ledger, "--since", when),
        ("evidence", "list", ledger, "--until", when),
    ):
        result = cvid(*args)
        assert result.exit_code == 2, (args, result.output)
        assert RANGE in result.output, (args, result.output)
        assert "Traceback" not in result.output


MAPPING = """\
fields: {agreement: new-start, kind: declaration, subject: central-limits, party: US,
         submitter: US}
observed_at: {column: d}
reported_at: {column: d}
values: {w: {column: w, unit: warhead}}
"""


@pytest.mark.parametrize("when", EDGES)
def test_a_csv_cell_out_of_range_is_refused_naming_its_line(when: str) -> None:
    rows = read_csv(f"d,w\n2018-01-01T00:00:00Z,1\n{when},2\n".encode(), "t.csv")
    records = table_records(parse_mapping(MAPPING, "m.yaml"), rows, dt.datetime.now(dt.UTC))
    with pytest.raises(InputError, match=r"t.csv line 3, observed_at: .*outside the range"):
        list(records)


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"])
@pytest.mark.parametrize("where", ["deadline", "limit"])
def test_a_package_instant_out_of_range_is_refused(tmp_path: Path, when: str, where: str) -> None:
    package = tmp_path / "pkg"
    shutil.copytree(NEW_START, package)
    yaml_file = package / "agreement.yaml"
    text = yaml_file.read_text()
    old = "deadline: 2011-03-22" if where == "deadline" else "2026-02-05: {value: null"
    new = f"deadline: {when}" if where == "deadline" else f"{when}: {{value: null"
    assert old in text
    yaml_file.write_text(text.replace(old, new, 1))
    for args in (
        ("agreement", "check", package),
        ("ledger", "init", tmp_path / "ledger", "--agreement", package),
    ):
        result = cvid(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "agreement.yaml" in result.output and "outside the range" in result.output
        assert "Traceback" not in result.output
    assert not (tmp_path / "ledger").exists()


def test_check_instant_holds_the_range_and_never_overflows() -> None:
    assert check_instant(MIN_INSTANT) == MIN_INSTANT
    last = MAX_INSTANT - dt.timedelta(microseconds=1)
    assert check_instant(last) == last
    plus = dt.timezone(dt.timedelta(hours=5))
    assert check_instant(dt.datetime(2018, 2, 5, 5, tzinfo=plus)).hour == 0
    for text in EDGES:
        with pytest.raises(InstantRangeError, match="outside the range"):
            check_instant(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
        with pytest.raises(ValueError, match="outside the range"):
            parse_instant(text)
    assert issubclass(InstantRangeError, InputError)


@pytest.mark.parametrize("when", ['"9999-12-31T23:59:59-23:59"', '"0001-01-01T00:00:00+01:00"'])
def test_a_scenario_instant_out_of_range_is_refused(tmp_path: Path, when: str) -> None:
    package = tmp_path / "pkg"
    shutil.copytree(NEW_START, package)
    scenario = package / "scenarios" / "central-limits.yaml"
    text = scenario.read_text()
    assert "      - as_of: 2017-09-01\n" in text
    scenario.write_text(text.replace("      - as_of: 2017-09-01\n", f"      - as_of: {when}\n", 1))
    result = cvid("agreement", "check", package)
    assert result.exit_code == 2, result.output
    assert "central-limits.yaml:" in result.output and RANGE in result.output
    assert "Traceback" not in result.output
