"""What every cvid command shares: JSON output, error reporting and exit codes.

Exit codes: 0 fine, 1 a finding (failed verification or audit, a violation), 2 bad input or usage.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console

from cvid.errors import Error

P = ParamSpec("P")
R = TypeVar("R")

err_console = Console(stderr=True, highlight=False)


def emit_json(obj: Any) -> None:
    """Print ``obj`` as JSON on standard output, one document, keys in insertion order."""
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` on standard error and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a :class:`cvid.errors.Error` (or an OSError: exit 2) into a message and exit code."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except Error as exc:
            fail(exc.diagnostics(), exc.exit_code)
        except OSError as exc:
            # A path that cannot be created or written is bad input, not a finding.
            where = f" {exc.filename}" if exc.filename else ""
            fail(f"cannot use{where}: {exc.strerror or exc}", 2)

    return wrapper
