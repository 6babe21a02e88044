"""Packages whose values are out of range (issue 12): NaN, infinite and 10^400 limits,
``grace_days`` of 10^18, schedules from year 1 or until 9999, control characters in the id.

``cvid agreement check`` and ``cvid ledger init`` each refuse them with exit 2 naming the file,
line and field (:mod:`cvid.agreements.ranges`); a refused ``ledger init`` leaves nothing behind.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from cvid.agreements import PackageError, parse_package
from cvid.limits import MAX_PACKAGE_DAYS, MAX_PACKAGE_NUMBER
from kit import ROOT, cvid, ok

NEW_START = ROOT / "examples" / "new-start"
LIMIT = "2018-02-05: {value: 700, "
LIMIT_PATH = "parameters.deployed_delivery_vehicles_limit.values.2018-02-05.value"

CASES = [
    # (what the line becomes, the field named, what is said)
    (LIMIT, "2018-02-05: {value: .nan, ", LIMIT_PATH, "nan is not a finite number"),
    (LIMIT, "2018-02-05: {value: .inf, ", LIMIT_PATH, "inf is not a finite number"),
    (LIMIT, "2018-02-05: {value: -.inf, ", LIMIT_PATH, "-inf is not a finite number"),
    (LIMIT, "2018-02-05: {value: 1e400, ", LIMIT_PATH, "inf is not a finite number"),
    (LIMIT, "2018-02-05: {value: 1.0e+300, ", LIMIT_PATH, "1e+300 is beyond"),
    (LIMIT, f"2018-02-05: {{value: {10**400}, ", LIMIT_PATH, "an integer of 401 digits"),
    (LIMIT, f"2018-02-05: {{value: {MAX_PACKAGE_NUMBER + 1}, ", LIMIT_PATH, "is beyond"),
    (
        "grace_days: 30",
        f"grace_days: {10**18}",
        "terms.4.schedule.grace_days",
        f"days is over the limit of {MAX_PACKAGE_DAYS:,}",
    ),
    (
        "grace_days: 30",
        f"grace_days: {10**400}",
        "terms.4.schedule.grace_days",
        "over 10^30 days is over the limit",
    ),
    (
        "freshness_days: 214",
        "freshness_days: 1.0e+300",
        "defaults.freshness_days",
        "over 10^30 days is over the limit",
    ),
    (
        "window_days: 1",
        f"window_days: {MAX_PACKAGE_DAYS + 1}",
        "terms.4.schedule.window_days",
        "days is over the limit",
    ),
    ("freshness_days: 214", "freshness_days: .inf", "defaults.freshness_days", "not a finite"),
    ("from: 2011-09-01", "from: 0001-01-01", "terms.4.schedule.from", "outside the range"),
    ("until: 2026-02-05", "until: 9999-12-31", "terms.4.schedule.until", "outside the range"),
    (
        "until: 2026-02-05",
        'until: "9999-12-31T23:59:59-23:59"',
        "terms.4.schedule.until",
        "outside the range",
    ),
    (LIMIT, "0001-01-01: {value: 700, ", "values.0001-01-01", "outside the range"),
    ("id: new-start", 'id: "new-start\\e[31m"', "id", "non-printable character"),
    ("id: new-start", 'id: "new\\x00start"', "id", "non-printable character"),
    ("id: new-start", 'id: "new\\u200bstart"', "id", "non-printable character"),
]


@pytest.mark.parametrize(("old", "new", "field", "said"), CASES)
def test_agreement_check_and_ledger_init_refuse_a_value_out_of_range(
    tmp_path: Path, old: str, new: str, field: str, said: str
) -> None:
    package = tmp_path / "pkg"
    shutil.copytree(NEW_START, package)
    path = package / "agreement.yaml"
    text = path.read_text()
    assert old in text
    before = text[: text.index(old)]
    path.write_text(text.replace(old, new, 1))
    line = before.count("\n") + 1
    for args in (
        ("agreement", "check", package),
        ("ledger", "init", tmp_path / "ledger", "--agreement", package),
    ):
        started = time.monotonic()
        result = cvid(*args)
        assert time.monotonic() - started < 10, args
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
        assert f"agreement.yaml:{line}:" in result.output, (args, result.output)
        assert field in result.output and said in result.output, (args, result.output)
        assert "\x1b" not in result.output and "\x00" not in result.output
        assert not (tmp_path / "ledger").exists()


def test_the_package_at_the_edges_of_the_ranges_still_loads(tmp_path: Path) -> None:
    text = (NEW_START / "agreement.yaml").read_text()
    text = text.replace(LIMIT, f"2018-02-05: {{value: {MAX_PACKAGE_NUMBER}, ", 1)
    text = text.replace("grace_days: 30", f"grace_days: {MAX_PACKAGE_DAYS}", 1)
    text = text.replace("from: 2011-09-01", "from: 1900-01-01", 1)
    text = text.replace("until: 2026-02-05", "until: 2199-12-31", 1)
    pkg = parse_package(text, "agreement.yaml")
    assert pkg.id == "new-start"
    package = tmp_path / "pkg"
    shutil.copytree(NEW_START, package)
    shutil.rmtree(package / "scenarios")  # they test the package's own dates, changed here
    (package / "agreement.yaml").write_text(text)
    ok(cvid("agreement", "check", package))
    ok(cvid("ledger", "init", tmp_path / "ledger", "--agreement", package))
    # Three centuries of a six-monthly schedule: the timeline is done in seconds, not hours.
    started = time.monotonic()
    result = cvid("timeline", tmp_path / "ledger", "--from", "1900-01-01", "--to", "2199-12-01")
    assert result.exit_code in (0, 1), result.output
    assert time.monotonic() - started < 30


def test_parse_package_refuses_alike() -> None:
    text = (NEW_START / "agreement.yaml").read_text().replace(LIMIT, "2018-02-05: {value: .nan, ")
    with pytest.raises(PackageError, match=r"f.yaml:\d+:\d+: parameters\..*not a finite"):
        parse_package(text, "f.yaml")
