"""The error tree of cvid, and the one place its diagnostics are written.

::

    Error                      anything cvid reports to a person instead of a traceback  2 / 500
    ├── InputError             bad input: malformed file, bad signature, bad value        2 / 400
    │   ├── FormatError        a note, checkpoint, tile, proof or receipt that does not parse
    │   ├── LimitError         input over a limit: size, nesting depth, count, range     2 / 413
    │   └── (PackageError, RecordError and the other errors of one input, in their packages)
    ├── VerificationError      a proof, signature or audit that does not hold            1 / 500
    └── StoreError             the store refused an operation or is inconsistent         2 / 503
        └── ConflictError      another writer got there first (cvid.store.driver)        2 / 409

Each class carries its command-line exit code (``exit_code``: 0 fine, 1 a finding, 2 bad input)
and the HTTP status a service answers it with (``http_status``); a subclass inherits both unless
it says otherwise. The command line reports every one in one place
(``cvid.cli._common.report``, also reached from the root command for errors raised outside a
command) and a service answers with the class's status (``cvid.web.problems.from_error``).
Every error carries the text a person reads, via :meth:`Error.diagnostics`, naming what is
wrong and where. That text may quote input (a path, a field, a record's words): it is plain
text, never markup, and whoever prints it escapes it (:func:`printable`).

:func:`describe_validation` and :func:`describe_yaml` are the one rendering of a pydantic
``ValidationError`` and of a PyYAML error: ``file:line:col: field.path: problem``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - only for type hints; pydantic and yaml load on use
    from pydantic import ValidationError
    from yaml import YAMLError

__all__ = [
    "Error",
    "FormatError",
    "InputError",
    "LimitError",
    "StoreError",
    "VerificationError",
    "describe_validation",
    "describe_yaml",
    "printable",
]


class Error(Exception):
    """Base of every error cvid raises on purpose; ``diagnostics()`` is what a person reads."""

    exit_code: int = 2
    http_status: int = 500

    def diagnostics(self) -> str:
        """Return the message for a person: what is wrong and where."""
        return str(self)


class InputError(Error):
    """Bad input from the user: the command changes nothing and exits 2 (HTTP 400)."""

    exit_code = 2
    http_status = 400


class FormatError(InputError):
    """A note, checkpoint, tile, proof or receipt that does not follow its format."""


class LimitError(InputError):
    """Input over one of cvid's limits (docs/reliability.md, "Limits"): a file or body too
    large, nested too deep, too many aliases or nodes, a number or an instant out of range.
    The command changes nothing and exits 2 (HTTP 413)."""

    http_status = 413


class VerificationError(Error):
    """A proof, signature, consistency or audit check failed: a finding, exit 1. A service
    answers it with 500: there it is the ledger failing its own verification."""

    exit_code = 1
    http_status = 500


class StoreError(Error):
    """The log store refused an operation (append-only rules, a checkpoint that would fork),
    or is unavailable: exit 2 (HTTP 503)."""

    exit_code = 2
    http_status = 503


# -- diagnostics -------------------------------------------------------------------------------

_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F)}
_CONTROL.update({c: f"\\x{c:02x}" for c in range(0x80, 0xA0)})
_CONTROL.update({0x2028: "\\u2028", 0x2029: "\\u2029"})


def printable(text: str) -> str:
    """``text`` with control characters (ANSI escapes, carriage returns, C1 controls; every one
    but newline and tab) shown as ``\\xNN``, so that outside text can never drive a terminal."""
    return text.translate(_CONTROL)


Path_ = tuple[str | int, ...]


def describe_validation(
    exc: ValidationError,
    locate: Callable[[Path_], str] | None = None,
    *,
    label: Callable[[Path_], str] | None = None,
    most: int = 8,
    sep: str = "\n",
) -> str:
    """A pydantic error as lines ``where: field.path: problem`` (at most ``most`` of them).

    ``locate`` turns a field path into ``file:line:col`` (:meth:`yamlsrc.Located.where`);
    without it the lines start with the path. ``label`` may prefix a path with what it is
    (``term 'x': ``). Pydantic's ``Value error, `` prefix is dropped.
    """
    errors = exc.errors(include_url=False)
    out = []
    for err in errors[:most]:
        path: Path_ = tuple(p for p in err["loc"] if isinstance(p, str | int))
        dotted = ".".join(str(p) for p in path) or "(top)"
        msg = str(err["msg"]).removeprefix("Value error, ")
        head = f"{locate(path)}: " if locate is not None else ""
        pre = label(path) if label is not None else ""
        out.append(f"{head}{pre}{dotted}: {msg}")
    more = len(errors) - len(out)
    return sep.join(out) + (f"{sep}... and {more} more" if more > 0 else "")


def describe_yaml(exc: YAMLError, file: str) -> str:
    """A PyYAML error as ``file:line:col: not valid YAML: problem`` (one line)."""
    mark: Any = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark is not None else file
    problem = getattr(exc, "problem", None) or str(exc)
    return f"{where}: not valid YAML: {_one_line(str(problem))}"


def _one_line(text: str, most: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= most else flat[: most - 3] + "..."
