"""The rules every cvid command keeps (docs/cli.md): one exit-code rule for the commands that
judge, JSON errors under --json, -h, shell completion, and cvid diff.

A ledger of the published New START aggregates is judged as of 2018-02-05 (every term met:
exit 0) and, after a US declaration over the limit, as of 2018-10-01 (a violated term: exit 1);
bad input exits 2 from every one of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from cvid.cli.diff import diff_document
from cvid.evidence import Ledger, sign_record
from cvid.sources import example_signer, import_declarations
from kit import cvid, ledger_vkey, ok

ROOT = Path(__file__).resolve().parents[2]
NEW_START = ROOT / "examples" / "new-start"
CSV = NEW_START / "data" / "aggregates.csv"
CLEAN, VIOLATED = "2018-02-05", "2018-10-01"

OVER = {
    "agreement": "new-start",
    "kind": "declaration",
    "subject": "central-limits",
    "party": "US",
    "submitter": "US",
    "observed_at": "2018-09-01T00:00:00Z",
    "reported_at": "2018-09-20T00:00:00Z",
    "values": {"deployed_warheads": {"value": 1600, "unit": "warhead"}},
}


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 26 aggregates (log 0..25) and a US declaration of 1,600 warheads (log 26)."""
    directory = tmp_path_factory.mktemp("rules") / "ledger"
    keys = {p: example_signer("new-start", p) for p in ("US", "RU")}
    with Ledger.create(directory, NEW_START, clock_mode="reported") as opened:
        import_declarations(opened, CSV, NEW_START / "mapping.yaml", keys)
        opened.submit([sign_record(OVER, keys["US"])])
    return directory


def _judging(ledger: Path, out: Path, as_of: str) -> dict[str, list[object]]:
    """Each judging command, judging ``ledger`` at (or up to) ``as_of``."""
    return {
        "status": ["status", ledger, "--as-of", as_of],
        "timeline": ["timeline", ledger, "--from", "2018-01-01", "--to", as_of],
        "diff": ["diff", ledger, "--from", "2018-01-01", "--to", as_of],
        "report": ["report", ledger, "--as-of", as_of, "--out", out / f"report-{as_of}.html"],
        "verdict create": ["verdict", "create", ledger, "--as-of", as_of, "--out", out / as_of],
    }


@pytest.mark.parametrize("name", ["status", "timeline", "diff", "report", "verdict create"])
def test_every_judging_command_exits_1_on_a_violated_term_0_without(
    ledger: Path, tmp_path: Path, name: str
) -> None:
    clean = cvid(*_judging(ledger, tmp_path, CLEAN)[name])
    assert clean.exit_code == 0, clean.output
    violated = cvid(*_judging(ledger, tmp_path, VIOLATED)[name])
    assert violated.exit_code == 1, violated.output
    bad = [str(a) for a in _judging(ledger, tmp_path, VIOLATED)[name]]
    bad[bad.index(VIOLATED)] = "2018-13-45"
    refused = cvid(*bad)
    assert refused.exit_code == 2, refused.output
    assert "2018-13-45" in refused.stderr


def test_verdict_verify_answers_whether_the_verdict_holds(ledger: Path, tmp_path: Path) -> None:
    """A verdict finding a violation verifies (0, "violated": true); an edited one exits 1."""
    verdict = tmp_path / "verdict.json"
    assert cvid("verdict", ledger, "--as-of", VIOLATED, "--out", verdict).exit_code == 1
    done = json.loads(ok(cvid("verdict", "verify", verdict, "--log", ledger)).stdout)
    assert done["ok"] is True and done["violated"] is True
    doc = json.loads(verdict.read_bytes())
    doc["terms"][0]["explanation"] = "edited"
    verdict.write_text(json.dumps(doc))
    assert cvid("verdict", "verify", verdict, "--log", ledger).exit_code == 1


def test_audit_and_log_verify_exit_1_on_a_tampered_log(ledger: Path, tmp_path: Path) -> None:
    tiles = tmp_path / "tiles"
    ok(cvid("log", "export", ledger, tiles))
    vkey = ledger_vkey(ledger)
    assert json.loads(ok(cvid("audit", tiles, "--vkey", vkey)).stdout)["ok"] is True
    bundle = tiles / "tile" / "entries" / "000.p" / "27"
    data = bytearray(bundle.read_bytes())
    data[-3] ^= 1
    bundle.write_bytes(bytes(data))
    audited = cvid("audit", tiles, "--vkey", vkey, "--json")
    assert audited.exit_code == 1, audited.output
    assert json.loads(audited.stdout)["ok"] is False
    assert cvid("ledger", "verify", ledger).exit_code == 0
    assert cvid("ledger", "verify", tmp_path / "nothing").exit_code == 2


def _error(result: Result) -> dict[str, Any]:
    """The one JSON object on standard error of a failed command under --json."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    doc: dict[str, Any] = json.loads(lines[0])
    return doc["error"]


def test_errors_are_one_json_object_on_stderr_under_json(tmp_path: Path) -> None:
    missing = tmp_path / "none"
    got = cvid("status", missing, "--as-of", CLEAN, "--json")
    assert got.exit_code == 2 and got.stdout == ""
    err = _error(got)
    assert err["exit_code"] == 2 and err["kind"] == "bad_input"
    assert err["where"] == str(missing) and "no ledger here" in err["message"]
    # Without --json the same error is a line of text.
    text = cvid("status", missing, "--as-of", CLEAN)
    assert text.stderr.startswith("error: ") and not text.stderr.lstrip().startswith("{")


def test_usage_errors_are_json_too(tmp_path: Path) -> None:
    got = cvid("status", tmp_path, "--as-of", CLEAN, "--view", "sometimes", "--json")
    assert got.exit_code == 2
    err = _error(got)
    assert err["where"] == "--view" and "sometimes" in err["message"]
    missing = _error(cvid("diff", tmp_path, "--from", CLEAN, "--json"))
    assert missing["exit_code"] == 2 and "--to" in missing["message"]


def test_a_finding_under_json_is_a_json_error_with_exit_1(ledger: Path, tmp_path: Path) -> None:
    verdict = tmp_path / "v.json"
    cvid("verdict", ledger, "--as-of", CLEAN, "--out", verdict)
    doc = json.loads(verdict.read_bytes())
    doc["terms"][0]["status"] = "violated"
    verdict.write_text(json.dumps(doc))
    got = cvid("verdict", "verify", verdict, "--log", ledger, "--json")
    assert got.exit_code == 1
    err = _error(got)
    assert err["kind"] == "finding" and "re-derived" in err["message"]


def test_error_text_from_input_is_not_console_markup(tmp_path: Path) -> None:
    name = tmp_path / "[bold red]x[/]"
    got = cvid("status", name, "--as-of", CLEAN)
    assert got.exit_code == 2 and "[bold red]x[/]" in got.stderr


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["status"],
        ["verdict"],
        ["verdict", "verify"],
        ["diff"],
        ["export"],
        ["evidence", "bytes"],
        ["import", "xlsx"],
    ],
)
def test_dash_h_is_help(args: list[str]) -> None:
    short, long = ok(cvid(*args, "-h")), ok(cvid(*args, "--help"))
    assert short.stdout == long.stdout and "Usage:" in short.stdout


def test_help_states_the_exit_code_rule() -> None:
    text = " ".join(ok(cvid("--help")).stdout.split())
    assert "0 nothing found, 1 a finding" in text and "2 bad input or usage" in text


def _cvid_exe() -> Path:
    exe = Path(sys.executable).parent / "cvid"
    assert exe.is_file(), f"{exe}: the cvid entry point is not installed beside the interpreter"
    return exe


def _complete(words: str, cword: int) -> list[str]:
    env = {
        **os.environ,
        "_CVID_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(cword),
    }
    done = subprocess.run(
        [_cvid_exe()], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_shell_completion_of_commands_and_their_options() -> None:
    assert {"status", "diff", "export"} <= set(_complete("cvid ", 1))
    assert "bytes" in _complete("cvid evidence ", 2)
    assert "status" in _complete("cvid sta", 1)
    assert "--as-of" in _complete("cvid status x --as", 3)
    assert {"csv", "xlsx"} <= set(_complete("cvid import ", 2))
    shown = subprocess.run(
        [_cvid_exe(), "--show-completion", "bash"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0 and "_CVID_COMPLETE=complete_bash" in shown.stdout


def test_version_loads_no_command_group() -> None:
    code = (
        "import sys; sys.argv = ['cvid', '--version']\n"
        "from cvid.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('cvid.cli.') or m == 'scipy'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines()[-1] == "['cvid.cli._common', 'cvid.cli.main']"


# -- cvid diff ---------------------------------------------------------------------------------


def test_diff_names_changes_arrivals_and_findings(ledger: Path) -> None:
    got = cvid("diff", ledger, "--from", CLEAN, "--to", VIOLATED, "--json")
    assert got.exit_code == 1, got.output
    doc = json.loads(got.stdout)
    assert doc["format"] == "cvid-diff/1" and doc["from"] == "2018-02-05T00:00:00Z"
    changed = {(c["id"], c["party"]): (c["from"], c["to"]) for c in doc["changed"]}
    assert changed[("deployed-warheads", "US")] == ("met_claimed", "violated")
    assert changed[("deployed-warheads", "RU")][1] != "violated"  # unknown: no fresh figure
    # Under the ledger's reported clock, records arrive when reported: 24, 25 and the 1,600.
    assert doc["clock"] == "reported"
    arrived = [(r["index"], r["arrived_at"]) for r in doc["arrived"]]
    assert (26, "2018-09-20T00:00:00Z") in arrived
    assert all("2018-02-05" < at <= "2018-10-01" for _, at in arrived)
    opened = [(f["id"], f["party"], f["to"]) for f in doc["findings"]["opened"]]
    assert ("deployed-warheads", "US", "violated") in opened
    assert doc["findings"]["closed"] == []
    # Back the other way nothing is violated at --to, and the finding closes.
    back = json.loads(
        ok(cvid("diff", ledger, "--from", "2018-01-01", "--to", CLEAN, "--json")).stdout
    )
    assert back["findings"]["opened"] == [] and back["violated"] is False
    text = cvid("diff", ledger, "--from", CLEAN, "--to", VIOLATED)
    assert "violated" in text.stdout and "findings opened: " in text.stdout


def test_diff_between_two_documents_closes_a_finding() -> None:
    def status(as_of: str, state: str) -> dict[str, Any]:
        term = {"term": "t", "party": "P", "status": state, "evidence": [0], "explanation": ""}
        return {
            "agreement": "a",
            "package_sha256": "0" * 64,
            "checkpoint": None,
            "view": "now",
            "clock": "log",
            "as_of": as_of,
            "terms": [term],
            "steps": [],
        }

    rows = [
        {"index": 0, "logged_at": "2020-01-01T00:00:00Z", "reported_at": "2019-01-01T00:00:00Z"},
        {"index": 1, "logged_at": None, "reported_at": "2020-01-02T00:00:00Z"},
    ]
    doc = diff_document(status("2019-06-01", "overdue"), status("2020-06-01", "met_claimed"), rows)
    assert [c["to"] for c in doc["findings"]["closed"]] == ["met_claimed"]
    assert doc["findings"]["opened"] == []
    # Under clock log a record arrives when logged; one not yet cosigned has not arrived.
    assert [r["index"] for r in doc["arrived"]] == [0]


def test_diff_refuses_a_window_that_ends_before_it_starts(ledger: Path) -> None:
    got = cvid("diff", ledger, "--from", VIOLATED, "--to", CLEAN)
    assert got.exit_code == 2 and "before --from" in got.stderr
