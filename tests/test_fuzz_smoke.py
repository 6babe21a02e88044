"""The atheris harnesses under fuzz/: each runs briefly here (CI), its seeds and every crash
input ever found (fuzz/regressions/<target>/) replay without a crash, and the crashes fixed
are refused with the error that names them. ``bash fuzz/run.sh`` is the long run."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
FUZZ = ROOT / "fuzz"
TARGETS = sorted(p.stem.removeprefix("fuzz_") for p in FUZZ.glob("fuzz_*.py"))

# Executions per target in the brief run: a few seconds each on a loaded 2-core machine.
SLOW = {"package": 2_000, "scenario": 2_000, "csv": 2_000, "record": 5_000, "verdict": 5_000}
SLOW |= {"http_records": 5_000, "tiles": 10_000}
DEFAULT_RUNS = 20_000


@pytest.fixture(scope="module", autouse=True)
def fuzz_on_path() -> Iterator[None]:
    sys.path.insert(0, str(FUZZ))
    yield
    sys.path.remove(str(FUZZ))


def harness(target: str) -> ModuleType:
    return importlib.import_module(f"fuzz_{target}")


def inputs(target: str) -> list[Path]:
    found = []
    for folder in (FUZZ / "corpus" / target, FUZZ / "regressions" / target):
        if folder.is_dir():
            found.extend(sorted(p for p in folder.iterdir() if p.is_file()))
    return found


def test_there_is_a_harness_for_every_parser() -> None:
    assert set(TARGETS) >= {
        "note",
        "checkpoint",
        "cosignature",
        "tile_path",
        "tiles",
        "receipt",
        "vkey",
        "record",
        "package",
        "scenario",
        "csv",
        "verdict",
        "witness",
        "http_records",
    }


@pytest.mark.parametrize("target", TARGETS)
def test_seeds_and_regressions_replay_without_a_crash(target: str) -> None:
    from fuzzkit import refusing

    files = inputs(target)
    assert (FUZZ / "corpus" / target).is_dir() and files, f"no seeds for {target}"
    one_input = refusing(harness(target).one_input)
    for path in files:
        one_input(path.read_bytes())  # anything but a cvid.errors.Error propagates


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_briefly(target: str, tmp_path: Path) -> None:
    runs = SLOW.get(target, DEFAULT_RUNS)
    new = tmp_path / "new"
    new.mkdir()
    cmd = [
        sys.executable,
        str(FUZZ / f"fuzz_{target}.py"),
        f"-atheris_runs={runs}",
        "-timeout=20",
        "-rss_limit_mb=2048",
        f"-artifact_prefix={tmp_path}/",
        str(new),
        str(FUZZ / "corpus" / target),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)
    log = done.stdout + done.stderr
    assert done.returncode == 0, f"fuzz_{target} crashed:\n{log[-4000:]}"
    m = re.search(r"^Done (\d+) in", log, re.MULTILINE)
    assert m is not None and int(m.group(1)) >= runs, log[-2000:]
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("timeout-*"))


def test_a_non_ascii_signature_is_refused_as_a_bad_signature() -> None:
    from cvid.evidence import RecordError
    from cvid.evidence.admission import prepare
    from cvid.web.records import parse_body

    data = (FUZZ / "regressions" / "http_records" / "non-ascii-signature").read_bytes()
    [candidate] = parse_body(data, "application/json")
    with pytest.raises(RecordError) as err:
        prepare(candidate, "record 1 of 1")
    assert err.value.check == "signature" and err.value.where == "record 1 of 1"


def test_a_key_name_that_is_not_utf8_is_a_format_error() -> None:
    from cvid.errors import FormatError
    from cvid.witness import parse_policy

    data = (FUZZ / "regressions" / "policy" / "surrogate-key-name").read_bytes()
    with pytest.raises(FormatError, match="not valid UTF-8"):
        parse_policy(data, "fuzz.policy")


def test_a_row_observed_in_year_744_is_refused_as_out_of_range() -> None:
    import fuzz_csv

    from cvid.errors import InputError

    data = (FUZZ / "regressions" / "csv" / "year-744").read_bytes()
    with pytest.raises(InputError, match="outside the range cvid accepts"):
        fuzz_csv.one_input(data)


def test_format_utc_writes_four_digit_years() -> None:
    from datetime import UTC, datetime

    from cvid.evidence.record import format_utc

    assert format_utc(datetime(744, 3, 1, 5, 6, 7, tzinfo=UTC)) == "0744-03-01T05:06:07Z"
    assert format_utc(datetime(2018, 2, 5, 0, 0, 0, 12, tzinfo=UTC)) == (
        "2018-02-05T00:00:00.000012Z"
    )


def test_the_http_records_harness_keeps_nothing_of_a_refused_record() -> None:
    """Each input is independent: a record refused by a field validator (a pydantic
    ValidationError holding the validator's ValueError) leaves no error or frame behind, as it
    did for some 5 KB an execution until libFuzzer's 2,048 MB limit stopped the run."""
    import gc
    import json

    from fuzzkit import refusing

    seed = json.loads((FUZZ / "corpus" / "http_records" / "singapore-0.json").read_bytes())
    bodies = [
        json.dumps({**seed, "reported_at": f"not an instant {n}"}).encode() for n in range(200)
    ]
    one_input = refusing(harness("http_records").one_input)

    def live(name: str) -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if type(o).__name__ == name)

    one_input(bodies[0])
    before = live("ValidationError"), live("frame")
    for body in bodies:
        one_input(body)
    after = live("ValidationError"), live("frame")
    assert after[0] - before[0] < 5 and after[1] - before[1] < 20, (before, after)
