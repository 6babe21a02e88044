"""``cvid status`` and ``cvid timeline`` tables show what their ``--json`` says (both come from
the view model's status and the same changes), and record text in them stays text."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

from cvid.evidence import Ledger
from cvid.sources import example_signer, import_declarations
from kit import cvid

ROOT = Path(__file__).resolve().parents[2]
NEW_START = ROOT / "examples" / "new-start"


@pytest.fixture(scope="module")
def ledger_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("tables") / "ledger"
    keys = {p: example_signer("new-start", p) for p in ("US", "RU")}
    with Ledger.create(directory, NEW_START, clock_mode="reported") as ledger:
        import_declarations(
            ledger, NEW_START / "data" / "aggregates.csv", NEW_START / "mapping.yaml", keys
        )
    return directory


def _rows(table: str, columns: int) -> list[list[str]]:
    """The first line of each body row of a Rich table: its cells, stripped (a wrapped
    explanation's later lines start with an empty first cell)."""
    rows = []
    for line in table.splitlines():
        if not line.startswith("│"):
            continue
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if len(cells) == columns and cells[0] and cells[0] not in ("term", "step", "at"):
            rows.append(cells)
    return rows


def _judge(*args: object) -> tuple[int, str]:
    result = cvid(*args)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, result.stdout


@pytest.mark.parametrize(
    ("as_of", "view"),
    [("2011-02-05", "now"), ("2018-02-05", "now"), ("2018-02-05", "then"), ("2021-06-01", "now")],
)
def test_the_status_table_has_the_rows_of_the_json(ledger_dir: Path, as_of: str, view: str) -> None:
    code, out = _judge("status", ledger_dir, "--as-of", as_of, "--view", view, "--json")
    doc: dict[str, Any] = json.loads(out)
    table_code, table = _judge("status", ledger_dir, "--as-of", as_of, "--view", view)
    assert table_code == code
    shown = _rows(table, 5)
    wanted = [[t["term"], t["party"], t["status"]] for t in doc["terms"]]
    wanted += [[s["step"], s["by"], s["state"]] for s in doc["steps"]]
    assert [row[:3] for row in shown] == wanted
    # Evidence indexes as the JSON lists them (the cell may fold long lists: compare starts).
    for row, t in zip(shown, doc["terms"], strict=False):
        assert " ".join(map(str, t["evidence"])).startswith(row[3])


def test_the_timeline_table_has_the_changes_of_the_json(ledger_dir: Path) -> None:
    args = ("timeline", ledger_dir, "--from", "2011-02-05", "--to", "2019-01-01")
    code, out = _judge(*args, "--json")
    doc = json.loads(out)
    table_code, table = _judge(*args)
    assert table_code == code and doc["changes"]
    shown = [row[1:5] for row in _rows(table, 7)]
    wanted = [[c["id"], c["party"] or "", c["from"] or "", c["to"]] for c in doc["changes"]]
    assert shown == wanted


def test_record_text_and_unknown_statuses_print_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """A status document (as a served ledger may send it) whose text holds console markup and
    a status this version does not know: all of it is printed as the words it is."""
    from cvid.cli import agreements

    buffer = StringIO()

    def console() -> agreements.SafeConsole:
        return agreements.SafeConsole(file=buffer, width=240, force_terminal=False)

    monkeypatch.setattr(agreements, "_console", console)
    doc = {
        "format": "cvid-status/1",
        "agreement": "x[bold]y",
        "checkpoint": None,
        "as_of": "2020-01-01T00:00:00Z",
        "view": "now",
        "summary": {},
        "terms": [
            {
                "term": "t1",
                "party": "US",
                "kind": "limit",
                "clause": "c",
                "status": "[red]brand_new[/red]",
                "evidence": [3],
                "explanation": "said [bold red]loud[/] \x1b[31m",
            }
        ],
        "steps": [
            {
                "step": "s1",
                "by": "RU",
                "clause": "c",
                "state": "hibernating",
                "evidence": [],
                "explanation": "[/]",
            }
        ],
    }
    agreements._print_status(doc)
    out = buffer.getvalue()
    assert "x[bold]y" in out
    assert "[red]brand_new[/red]" in out
    assert "said [bold red]loud[/]" in out and "\\x1b[31m" in out and "\x1b" not in out
    assert "hibernating" in out and "[/]" in out


#: Commands that serve (run until stopped) rather than report (docs/cli.md).
NOT_REPORTING = {"serve", "witness serve"}


def test_every_command_that_reports_takes_json() -> None:
    import typer

    from cvid.cli.main import build_app

    def walk(command: Any, path: tuple[str, ...]) -> list[tuple[str, Any]]:
        if hasattr(command, "commands"):
            out = []
            for name, sub in sorted(command.commands.items()):
                out += walk(sub, (*path, name))
            return out
        return [(" ".join(path), command)]

    leaves = walk(typer.main.get_group(build_app()), ())
    assert len(leaves) > 30
    missing = [
        name
        for name, command in leaves
        if name not in NOT_REPORTING
        and "--json" not in [o for p in command.params for o in getattr(p, "opts", [])]
    ]
    assert missing == []


@pytest.mark.parametrize(
    "args",
    [
        ("evidence", "schema"),
        ("evidence", "template", "declaration"),
        ("agreement", "schema"),
    ],
)
def test_json_output_commands_accept_json(args: tuple[str, ...]) -> None:
    plain, under = cvid(*args), cvid(*args, "--json")
    assert plain.exit_code == under.exit_code == 0
    assert isinstance(json.loads(under.stdout), dict)
    if args[1] == "schema":
        assert json.loads(plain.stdout) == json.loads(under.stdout)


@pytest.mark.parametrize(
    ("args", "where"),
    [
        (("evidence", "template", "nonsense"), None),
        (("evidence", "sign", "missing.json", "--key", "missing.key"), "missing"),
        (("ledger", "grant", "file:///x", "svc"), "file:///x"),
        (("evidence", "bytes", "no-such-ledger", "0"), "no-such-ledger"),
    ],
)
def test_errors_under_json_are_one_json_line(
    args: tuple[str, ...], where: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    got = cvid(*args, "--json")
    assert got.exit_code == 2 and got.stdout == ""
    lines = got.stderr.strip().splitlines()
    assert len(lines) == 1, got.stderr
    err = json.loads(lines[0])["error"]
    assert err["exit_code"] == 2 and err["kind"] == "bad_input" and err["message"]
    if where is not None:
        assert where in err["message"]


def test_cvid_view_prints_record_text_with_controls_shown(
    ledger_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import dataclasses

    from cvid.cli.view import print_view
    from cvid.view import view_for_ledger

    model = view_for_ledger(ledger_dir, "2018-02-05")
    assert model.findings
    hostile = dataclasses.replace(
        model.findings[0], explanation="said \x1b[31mred\x1b[0m [bold]x[/] \u202eevil"
    )
    print_view(dataclasses.replace(model, findings=(hostile, *model.findings[1:])))
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out
    assert "said \\x1b[31mred\\x1b[0m [bold]x[/] \\u202eevil" in out
