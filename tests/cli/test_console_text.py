"""Text from outside reaches the terminal as text (issue 12): never read as Rich markup, and no
control character passes through, through the real ``cvid`` command."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cvid.cli.main import app
from cvid.console import SafeConsole, printable, safe

Run = Callable[..., tuple[int, str, str]]

# What a hostile record or file name may carry: markup, ANSI colour, screen clear, a title
# change (OSC), a carriage return hiding what came before, a C1 CSI, a bidi override.
HOSTILE = [
    "[/]",
    "[/b]",
    "[bold red]styled[/bold red]",
    "red\x1b[31mtext\x1b[0m",
    "clear\x1b[2J\x1b[H",
    "title\x1b]0;pwned\x07",
    "hidden\rshown",
    "c1\x9b31m",
    "bidi\u202eevil",
]


@pytest.fixture
def run() -> Run:
    runner = CliRunner()

    def invoke(*args: str | Path) -> tuple[int, str, str]:
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
        return result.exit_code, result.stdout, result.stderr

    return invoke


def clean(text: str) -> bool:
    """No escape, carriage return, C1 control or bidi override in ``text``."""
    return not any(c in text for c in "\x1b\r\x07\x9b\u202e")


@pytest.fixture
def ledger(run: Run, tmp_path: Path) -> tuple[Path, Path]:
    key = tmp_path / "us.key"
    code, vkey, _ = run("key", "new", "us-decl", "--out", key)
    assert code == 0
    package = tmp_path / "pkg"
    package.mkdir()
    doc = {
        "id": "new-start",
        "title": "New START",
        "parties": [{"id": "US", "name": "United States", "roles": ["inspected_party"]}],
        "keys": [{"party": "US", "vkey": vkey.strip(), "kinds": ["declaration", "statement"]}],
        "terms": [{"id": "warheads", "limit": 1550}],
    }
    (package / "agreement.yaml").write_text(yaml.safe_dump(doc))
    code, _, err = run("ledger", "init", tmp_path / "ledger", "--agreement", package)
    assert code == 0, err
    return tmp_path / "ledger", key


def test_printable_shows_controls_and_keeps_lines() -> None:
    assert printable("a\x1b[31mb\tc\nd\re\x00\x7f\x85\u202e") == (
        "a\\x1b[31mb\tc\nd\\x0de\\x00\\x7f\\x85\\u202e"
    )
    assert safe("[/] \x1b") == "\\[/] \\x1b"


@pytest.mark.parametrize("text", HOSTILE)
def test_a_safe_console_prints_hostile_text_as_text(text: str) -> None:
    from io import StringIO

    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    buffer = StringIO()
    console = SafeConsole(file=buffer, force_terminal=True, width=200)
    table = Table()
    table.add_column("x")
    table.add_row(escape(text))  # as cvid's tables do: markup escaped, nothing else
    table.add_row(Text(text))  # a Text cell is measured as given: shown safe, maybe cut short
    console.print(Text.assemble(("error:", "bold red"), " ", text))
    console.print(f"[bold]{safe(text)}[/]")
    console.print(text, markup=False)
    lines = buffer.getvalue()
    console.print(table)
    cells = buffer.getvalue()[len(lines) :].splitlines()[3:4]
    # Rich's own styles are the only escapes: the text's are shown, never sent.
    shown = printable(text)
    # (Rich drops BEL, backspace and CR from a Text itself; strings keep them, shown.)
    assert lines.count(shown) >= 2
    assert shown in "".join(line.strip("│ ") for line in cells)
    ours = ("\x1b[1;31m", "\x1b[1m", "\x1b[0m")
    written = buffer.getvalue()
    for style in ours:
        written = written.replace(style, "")
    assert clean(written)


@pytest.mark.parametrize("text", HOSTILE)
def test_error_messages_quote_paths_as_text(run: Run, tmp_path: Path, text: str) -> None:
    missing = tmp_path / f"no-ledger-{text}"
    code, out, err = run("evidence", "list", missing)
    assert code == 2 and out == ""
    assert "Traceback" not in err and clean(err)
    assert printable(str(missing)) in " ".join(err.split()) or printable(text) in err.replace(
        "\n", ""
    )


@pytest.mark.parametrize("text", HOSTILE)
def test_a_submitted_file_name_is_quoted_as_text(
    run: Run, ledger: tuple[Path, Path], text: str
) -> None:
    directory, _ = ledger
    bad = directory.parent / f"draft-{text}.json"
    bad.parent.mkdir(parents=True, exist_ok=True)  # a '/' in the text makes a folder
    bad.write_text('{"agreement": ')
    code, out, err = run("submit", directory, bad)
    assert out == ""
    assert code == 2 and clean(err) and "Traceback" not in err
    assert printable(text) in err.replace("\n", "")


def test_records_are_listed_and_shown_as_text(run: Run, ledger: tuple[Path, Path]) -> None:
    directory, key = ledger
    _, template, _ = run("evidence", "template", "declaration")
    drafts = []
    for n, text in enumerate(HOSTILE):
        obj = json.loads(template) | {
            "party": "US",
            "subject": f"s{n}-{text}",
            "summary": f"summary {text}",
            "source": {"title": f"title {text}", "speaker": f"who {text}", "quote": text},
        }
        drafts.append(json.dumps(obj))
    path = directory.parent / "drafts.jsonl"
    path.write_text("\n".join(drafts) + "\n")
    code, signed, err = run("evidence", "sign", path, "--key", key)
    assert code == 0, err
    path.write_text(signed)
    code, out, err = run("submit", directory, path, "--json")
    assert code == 0, err
    assert json.loads(out)["indexes"] == list(range(len(HOSTILE)))
    code, listed, err = run("evidence", "list", directory)
    assert code == 0, err
    assert clean(listed)
    flat = listed.replace("\n", "")
    for n, text in enumerate(HOSTILE):
        assert f"s{n}-{printable(text)}" in flat
        code, shown, err = run("evidence", "show", directory, str(n))
        assert code == 0, err
        assert clean(shown) and f"summary {printable(text)}" in shown.replace("\n", "")
    # --json keeps the text exactly: JSON escapes control characters itself.
    code, out, _ = run("evidence", "list", directory, "--json")
    assert [r["subject"] for r in json.loads(out)] == [
        f"s{n}-{text}" for n, text in enumerate(HOSTILE)
    ]
