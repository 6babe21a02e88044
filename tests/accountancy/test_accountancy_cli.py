"""``cvid accountancy``: each command, its JSON, and exit code 2 with a message on bad input."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cvid.cli import accountancy as acc_cli

Invoke = Callable[..., tuple[int, str, str]]


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    """A stand-in for ``cvid``'s root app with only the accountancy group registered."""
    root = typer.Typer(pretty_exceptions_enable=False)

    @root.callback()
    def _root() -> None:
        """Test root."""

    acc_cli.register(root)
    return root


@pytest.fixture
def run(app: typer.Typer) -> Invoke:
    """Run ``accountancy ARGS...``; return exit code, standard output and standard error."""
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, ["accountancy", *args])
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_arl_json(run: Invoke) -> None:
    code, out, _ = run("arl", "--k", "0.5", "--h", "5", "--shift", "1", "--json")
    assert code == 0
    assert round(json.loads(out)["arl"], 2) == 10.38


def test_arl_two_sided_table(run: Invoke) -> None:
    code, out, _ = run("arl", "--k", "0.5", "--h", "4", "--two-sided")
    assert code == 0
    assert "167.68" in out and "two-sided" in out


def test_threshold_json(run: Invoke) -> None:
    code, out, _ = run(
        "threshold", "--k", "0.5", "--periods", "52", "--false-alarm", "0.05", "--json"
    )
    assert code == 0
    assert round(json.loads(out)["h"], 4) == 4.9717


@pytest.mark.parametrize(("pattern", "page"), [("abrupt", 0.361), ("protracted", 0.165)])
def test_detect_json(run: Invoke, pattern: str, page: float) -> None:
    args = ("--k", "0.5", "--periods", "12", "--false-alarm", "0.05", "--loss", "3")
    code, out, _ = run("detect", *args, "--pattern", pattern, "--json")
    assert code == 0
    result = json.loads(out)
    assert round(result["page"], 3) == page
    assert round(result["cumuf"], 3) == 0.218
    assert result["period"] == (12 if pattern == "abrupt" else None)


def test_detect_table(run: Invoke) -> None:
    args = ("--k", "0.5", "--periods", "12", "--false-alarm", "0.05", "--loss", "3")
    code, out, _ = run("detect", *args, "--pattern", "abrupt", "--period", "1")
    assert code == 0
    assert "0.361" in out and "0.218" in out


def test_balance_json_alarm_exits_1_and_writes_chart(
    run: Invoke, examples_dir: Path, tmp_path: Path
) -> None:
    chart = tmp_path / "page.svg"
    code, out, _ = run(
        "balance",
        str(examples_dir / "balances.csv"),
        "--json",
        "--chart",
        str(chart),
        "--material",
        "pu",
    )
    assert code == 1  # Page's test alarms on the example: a finding
    area = json.loads(out)["areas"][0]
    assert area["summary"]["page"]["alarm"] is True
    assert len(area["periods"]) == 12
    assert area["significant_quantity"]["kg"] == 8.0
    root = ET.fromstring(chart.read_text(encoding="utf-8"))
    assert root.tag.endswith("svg")
    assert len(root.findall("{http://www.w3.org/2000/svg}circle")) == 12


def test_balance_table_without_alarm_exits_0(run: Invoke, examples_dir: Path) -> None:
    methods = examples_dir / "methods.csv"
    code, out, _ = run("balance", str(examples_dir / "balances.json"), "--methods", str(methods))
    assert code == 0
    assert "LEU-FAB" in out and "no alarm" in out


def test_methods_json_is_valid_method_input(run: Invoke, tmp_path: Path) -> None:
    code, out, _ = run("methods", "--json")
    assert code == 0
    path = tmp_path / "methods.json"
    path.write_text(out, encoding="utf-8")
    code, again, _ = run("methods", "--methods", str(path), "--json")
    assert code == 0
    assert json.loads(again) == json.loads(out)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("arl", "--k", "-1", "--h", "4"), "k = -1.0"),
        (("threshold", "--k", "0.5", "--periods", "12", "--false-alarm", "1.5"), "1.5"),
        (
            (
                "detect",
                "--k",
                "0.5",
                "--periods",
                "12",
                "--false-alarm",
                "0.05",
                "--loss",
                "3",
                "--pattern",
                "abrupt",
                "--period",
                "13",
            ),
            "outside 1..12",
        ),
    ],
)
def test_bad_numbers_exit_2_with_a_message(run: Invoke, args: tuple[str, ...], words: str) -> None:
    code, out, err = run(*args)
    assert code == 2
    assert words in err
    assert "Traceback" not in out + err


def test_bad_files_exit_2_naming_file_and_line(run: Invoke, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("period,component,amount_kg,method\nJan,receipt,1,scale\n", encoding="utf-8")
    code, out, err = run("balance", str(bad))
    assert code == 2
    assert "bad.csv, line 2" in err and "'scale'" in err
    assert "Traceback" not in out + err
    code, _, err = run("balance", str(tmp_path / "missing.csv"))
    assert code == 2 and "missing.csv" in err
    methods = tmp_path / "m.json"
    methods.write_text('{"methods": [{"name": "x", "random_rel": 5, "systematic_rel": 0}]}')
    code, _, err = run("balance", str(bad), "--methods", str(methods))
    assert code == 2 and "random_rel" in err


def test_unknown_material_exits_2(run: Invoke, examples_dir: Path) -> None:
    code, _, err = run("balance", str(examples_dir / "balances.json"), "--material", "gold")
    assert code == 2 and "unknown material 'gold'" in err
