"""What every cvid command shares: JSON output, error reporting and exit codes.

Exit codes (docs/cli.md): 0 nothing found, 1 a finding (a violated term, a failed verification,
proof or audit), 2 bad input or usage. Under ``--json`` an error is one JSON object on standard
error, ``{"error": {"exit_code", "kind", "message", "where"}}``; standard output then holds
nothing but what the command printed before it failed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.text import Text

from cvid.console import SafeConsole, printable
from cvid.errors import Error

P = ParamSpec("P")
R = TypeVar("R")

err_console = SafeConsole(stderr=True)  # shows control characters in messages as escapes

#: Exit code of a finding (a violation, a failed check); 2 is bad input or usage.
FINDING = 1
BAD_INPUT = 2

_state = {"json": False}

#: ``--json`` of a command whose output is JSON anyway: with it, errors are JSON too.
AlwaysJsonOpt = Annotated[
    bool, typer.Option("--json", help="Errors as JSON too (the output is JSON either way).")
]


def set_json_errors(on: bool) -> None:
    """Report errors as JSON (``--json`` is on the command line) or as text."""
    _state["json"] = on


def json_errors() -> bool:
    """Whether errors are reported as JSON in this invocation."""
    return _state["json"]


def emit_json(obj: Any) -> None:
    """Print ``obj`` as JSON on standard output, one document, keys in insertion order."""
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def error_document(message: str, code: int, where: str | None = None) -> dict[str, Any]:
    """The JSON object an error is under ``--json`` (docs/cli.md)."""
    kind = "finding" if code == FINDING else "bad_input"
    return {"error": {"exit_code": code, "kind": kind, "message": message, "where": where}}


def _where(message: str) -> str | None:
    """What a message names first (``FILE: what is wrong`` gives FILE), or None."""
    head, sep, _ = message.partition(": ")
    return head if sep and head and "\n" not in head else None


def fail(message: str, code: int = BAD_INPUT, *, where: str | None = None) -> NoReturn:
    """Report ``message`` on standard error (as JSON under ``--json``) and exit with ``code``.

    The message is printed as text, never read as console markup: it may quote input.
    """
    if json_errors():
        doc = error_document(message, code, where if where is not None else _where(message))
        sys.stderr.write(json.dumps(doc, ensure_ascii=False) + "\n")
        sys.stderr.flush()
    else:
        shown = Text.assemble(("error:", "bold red"), " ", printable(message))
        err_console.print(shown, soft_wrap=True)
    raise typer.Exit(code)


def report(exc: Error) -> NoReturn:
    """Report one of cvid's errors and exit: the one rendering of a :class:`cvid.errors.Error`
    on the command line. Its exit code is its class's ``exit_code``, its text its
    ``diagnostics()`` (printed as text), its ``where`` the JSON error's ``where`` if it has one."""
    fail(exc.diagnostics(), exc.exit_code, where=getattr(exc, "where", None))


def problem(text: str) -> None:
    """Print one finding on standard error, as text (it may quote records)."""
    err_console.print(Text.assemble(("problem:", "red"), " ", printable(text)), soft_wrap=True)


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a :class:`cvid.errors.Error` (or an OSError: exit 2) into a message and exit code."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if kwargs.get("as_json"):
            set_json_errors(True)
        try:
            return func(*args, **kwargs)
        except Error as exc:
            report(exc)
        except OSError as exc:
            # A path that cannot be created or written is bad input, not a finding.
            name = str(exc.filename) if exc.filename else None
            where = f" {name}" if name else ""
            fail(f"cannot use{where}: {exc.strerror or exc}", BAD_INPUT, where=name)

    return wrapper
