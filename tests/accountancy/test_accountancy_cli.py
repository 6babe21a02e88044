"""``cvid accountancy``: each command, its JSON, and exit code 2 with a message on bad input."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import numpy as np
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


@pytest.mark.parametrize(
    "args",
    [("--k", "0.5", "--h", "4", "--shift", "-50"), ("--k", "40", "--h", "4")],
)
def test_arl_beyond_1e300_exits_2_with_a_message(run: Invoke, args: tuple[str, ...]) -> None:
    # Used to crash with numpy's LinAlgError (a traceback, exit 1).
    code, out, err = run("arl", *args)
    assert code == 2
    assert "beyond 1e300 periods" in err
    assert "Traceback" not in out + err


def test_astronomical_arl_is_positive(run: Invoke) -> None:
    # Used to print -5.2e16.
    code, out, _ = run("arl", "--k", "0.5", "--h", "4", "--shift", "-6", "--json")
    assert code == 0
    assert json.loads(out)["arl"] == pytest.approx(2.3153473e25, rel=1e-6)


def test_negative_loss_and_huge_periods_exit_2(run: Invoke) -> None:
    args = ("--k", "0.5", "--false-alarm", "0.05")
    code, _, err = run("detect", *args, "--periods", "12", "--loss", "-3", "--pattern", "abrupt")
    assert code == 2 and "loss = -3.0 must be finite and >= 0" in err
    code, _, err = run("threshold", *args, "--periods", "5000000")
    assert code == 2 and "exceeds 1,000,000" in err


def test_balance_shows_shewhart_alarms_and_a_text_chart(run: Invoke, examples_dir: Path) -> None:
    code, out, _ = run("balance", str(examples_dir / "balances.csv"))
    assert code == 1
    assert "MUF/σ" in out and "+2.30!" in out  # April: a Shewhart alarm, no Page alarm
    assert "Shewhart test (MUF/σMUF > 1.6449, each period alone): alarms 2024-04" in out
    assert "h = 3.3745" in out
    bars = {line.split()[0]: line for line in out.splitlines() if "█" in line or "│" in line}
    assert bars["2024-12"].endswith("9.12 ALARM") and "┃" in bars["2024-12"]
    assert bars["2024-10"].rstrip().endswith("3.13") and "│" in bars["2024-10"]
    code, out, _ = run("balance", str(examples_dir / "balances.csv"), "--no-text-chart")
    assert "█" not in out and "MUF/σ" in out


def test_balance_json_has_shewhart(run: Invoke, examples_dir: Path) -> None:
    code, out, _ = run("balance", str(examples_dir / "balances.csv"), "--json")
    assert code == 1
    area = json.loads(out)["areas"][0]
    assert area["summary"]["shewhart"]["alarm_periods"] == ["2024-04", "2024-11", "2024-12"]
    assert [p["shewhart_alarm"] for p in area["periods"]].count(True) == 3
    assert area["periods"][3]["shewhart_z"] == pytest.approx(2.30, abs=0.005)


def test_charts_of_several_areas_get_distinct_files(run: Invoke, tmp_path: Path) -> None:
    rows = ["area,period,component,amount_kg,method"]
    for area in ("MBA 1", "MBA-1", "mba/1"):
        rows += [f"{area},P1,beginning,10,weighing", f"{area},P1,ending,10,weighing"]
    data = tmp_path / "b.csv"
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, out, _ = run("balance", str(data), "--h", "4", "--chart", str(tmp_path / "page.svg"))
    assert code == 0
    assert out.count("chart written to") == 3
    charts = sorted(p.name for p in tmp_path.glob("*.svg"))
    assert charts == ["page-MBA-1-2.svg", "page-MBA-1.svg", "page-mba-1-3.svg"]
    titles = {
        ET.fromstring((tmp_path / name).read_text(encoding="utf-8")).findtext(
            "{http://www.w3.org/2000/svg}title"
        )
        for name in charts
    }
    assert titles == {"Page's test: MBA 1", "Page's test: MBA-1", "Page's test: mba/1"}


def test_balance_reads_a_file_with_a_byte_order_mark(
    run: Invoke, examples_dir: Path, tmp_path: Path
) -> None:
    text = (examples_dir / "balances.csv").read_text(encoding="utf-8")
    data = tmp_path / "bom.csv"
    data.write_text(text, encoding="utf-8-sig")  # as Excel saves "CSV UTF-8"
    code, out, err = run("balance", str(data), "--json")
    assert code == 1, err
    assert json.loads(out)["areas"][0]["summary"]["area"] == "PU-PROC"


def test_balance_with_a_method_without_random_uncertainty(run: Invoke, tmp_path: Path) -> None:
    # Used to fail: "period 1 … use sitmuf_dense" (1-based, and not available on the CLI).
    methods = tmp_path / "m.csv"
    methods.write_text(
        "method,random_rel,systematic_rel\nscale,0.0005,0.0005\ncal,0,0.001\nnda,0,0.01\n",
        encoding="utf-8",
    )
    data = tmp_path / "b.csv"
    data.write_text(
        "area,period,component,amount_kg,method\n"
        "Z,Q1,beginning,10,scale\nZ,Q1,ending,10,cal\n"
        "Z,Q2,receipt,5,nda\nZ,Q2,ending,15,cal\n",
        encoding="utf-8",
    )
    code, out, err = run("balance", str(data), "--methods", str(methods), "--json")
    assert code == 0, err
    assert len(json.loads(out)["areas"][0]["periods"]) == 2
    singular = tmp_path / "s.csv"
    singular.write_text(
        "area,period,component,amount_kg,method\n"
        "Z,Q1,receipt,5,cal\nZ,Q1,ending,0,cal\nZ,Q2,receipt,7,cal\nZ,Q2,ending,0,cal\n",
        encoding="utf-8",
    )
    code, out, err = run("balance", str(singular), "--methods", str(methods))
    assert code == 2
    assert "area 'Z', period 'Q2':" in err and "Traceback" not in out + err


def test_text_chart_draws_h_in_every_line() -> None:
    from cvid.accountancy import page_chart_text

    lines = page_chart_text(["a", "long-label"], np.array([1.0, 4.0]), 2.0, width=20)
    assert lines[0] == "           0         h = 2.0000"
    column = lines[0].index("h")
    assert lines[1][column] == "│" and lines[1].endswith("1.00")
    assert lines[2][column] == "┃" and lines[2].endswith("4.00 ALARM")
    assert lines[2].count("█") == 19  # 20 cells for S = 4 (the top), one of them the h mark
    assert page_chart_text(["x"], np.zeros(1), 0.0)[1].startswith("x │")
