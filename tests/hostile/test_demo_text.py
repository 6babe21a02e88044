"""``cvid demo`` prints text from outside (a package's words in explanations, paths) as text:
markup in it is shown, not read, and control characters are escaped (issue 12)."""

from __future__ import annotations

from pathlib import Path

from cvid.agreements import evaluate, parse_package
from cvid.cli.demo import _console, _status_table
from kit import ROOT

NEW_START = ROOT / "examples" / "new-start" / "agreement.yaml"


def test_the_status_table_shows_markup_and_controls_from_a_package_as_text() -> None:
    text = NEW_START.read_text()
    assert "noun: deployed warheads" in text
    hostile = text.replace(
        "noun: deployed warheads", 'noun: "deployed [bold red]warheads[/] \\e[31m"', 1
    )
    pkg = parse_package(hostile, "agreement.yaml")
    now = evaluate(pkg, [], "2018-02-05", view="now")
    then = evaluate(pkg, [], "2018-02-05", view="then")
    table = _status_table("new-start [/]", now, then, {"origin": "o[/b]", "size": 0})
    console = _console()
    console.width = 3_000  # one line a row: the explanation is not folded
    with console.capture() as captured:
        console.print(table)
    shown = captured.get()
    assert "new-start [/]" in shown and "o[/b]" in shown
    assert "deployed [bold red]warheads[/] \\x1b[31m since" in shown
    assert "\x1b" not in shown


def test_the_demo_console_is_safe(tmp_path: Path) -> None:
    console = _console()
    with console.capture() as captured:
        console.print(f"{tmp_path}/[/]\x1b[2J", markup=False)
    assert "[/]" in captured.get() and "\x1b" not in captured.get()
