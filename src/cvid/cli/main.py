"""Entry point of the ``cvid`` command: assembles the command groups.

Each group lives in its own module, and some import heavy libraries (SciPy for accountancy,
FastAPI for the service). :func:`main` therefore registers only the module that defines the
command being run (all of them for ``cvid --help`` or an unknown command), so that ``cvid
status`` never pays for SciPy. ``cvid.cli.main.app`` (what tests drive) has every group.

Shell completion (``--install-completion``, ``--show-completion``) loads the group of the
command already typed, or every group while the command itself is being completed. Under
``--json`` every error, a usage error included, is one JSON object on standard error
(docs/cli.md).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shlex
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import typer
from typer._click.core import Context  # typer's own copy of click: what its groups take
from typer.core import TyperGroup

from cvid import __version__

#: The module that registers each top-level command.
COMMANDS: dict[str, str] = {
    "accountancy": "cvid.cli.accountancy",
    "agreement": "cvid.cli.agreements",
    "status": "cvid.cli.agreements",
    "timeline": "cvid.cli.agreements",
    "verdict": "cvid.cli.agreements",
    "demo": "cvid.cli.demo",
    "diff": "cvid.cli.diff",
    "evidence": "cvid.cli.evidence",
    "export": "cvid.cli.tables",
    "import": "cvid.cli.evidence",
    "key": "cvid.cli.evidence",
    "ledger": "cvid.cli.evidence",
    "submit": "cvid.cli.evidence",
    "audit": "cvid.cli.log",
    "log": "cvid.cli.log",
    "receipt": "cvid.cli.log",
    "report": "cvid.cli.report",
    "serve": "cvid.cli.serve",
    "view": "cvid.cli.view",
    "witness": "cvid.cli.witness",
}

#: Modules that add commands to another module's group (``cvid evidence bytes``).
ALSO: dict[str, list[str]] = {
    "evidence": ["cvid.cli.tables"],
    "import": ["cvid.cli.tables"],
    "ledger": ["cvid.cli.amend"],
}

HELP = (
    "cvid: complete, verifiable, irreversible. A public, append-only, verifiable log "
    "of evidence.\n\n"
    "Exit codes, the same for every command that judges (status, timeline, diff, report, "
    "verdict create and verify, audit, ledger verify, log verify, receipt verify, agreement "
    "check): 0 nothing found, 1 a finding (a violated term, a failed check, proof or audit), "
    "2 bad input or usage. Under --json an error is one JSON object on standard error "
    "(docs/cli.md)."
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cvid {__version__}")
        raise typer.Exit()


def build_app(modules: Iterable[str] | None = None) -> typer.Typer:
    """The ``cvid`` app with the command groups of ``modules`` (default: every one)."""
    app = typer.Typer(
        cls=_Root,
        name="cvid",
        help=HELP,
        no_args_is_help=True,
        context_settings={"help_option_names": ["-h", "--help"]},
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ) -> None:
        """cvid command line."""

    every = [*COMMANDS.values(), *(m for also in ALSO.values() for m in also)]
    wanted = dict.fromkeys(every) if modules is None else dict.fromkeys(modules)
    for name in wanted:
        if importlib.util.find_spec(name) is None:
            continue  # a group not built in this version
        importlib.import_module(name).register(app)
    return app


class _Root(TyperGroup):
    """The ``cvid`` group: under ``--json``, usage errors too are JSON (docs/cli.md)."""

    def main(self, args: Sequence[str] | None = None, *rest: Any, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        from cvid.cli import _common

        _common.set_json_errors("--json" in argv)
        return super().main(argv, *rest, **extra)

    def invoke(self, ctx: Context) -> Any:
        # typer's own copy of click raises these; not re-exported under a public name.
        from typer._click.exceptions import ClickException

        from cvid.errors import Error

        try:
            return super().invoke(ctx)
        except Error as exc:
            # A command's own errors are reported by its @reports_errors; this catches those
            # raised around it (an option's callback, a group's setup), the same way.
            from cvid.cli import _common

            _common.report(exc)
        except ClickException as exc:
            from cvid.cli import _common

            if not _common.json_errors():
                raise
            param = getattr(exc, "param", None)
            where = None
            if param is not None:
                where = param.opts[0] if getattr(param, "opts", None) else param.name
            _common.fail(exc.format_message(), exc.exit_code, where=where)


def _command_of(argv: list[str]) -> str | None:
    """The top-level command named on the command line (None before any, e.g. --version)."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg
    return None


def _completing() -> list[str] | None:
    """The words already typed when the shell asks for completions (None otherwise).

    bash passes the line in COMP_WORDS and the word being completed in COMP_CWORD; zsh, fish
    and PowerShell pass the line in _TYPER_COMPLETE_ARGS, its last word the incomplete one.
    """
    if "_CVID_COMPLETE" not in os.environ:
        return None
    try:
        if "COMP_WORDS" in os.environ:
            words = shlex.split(os.environ["COMP_WORDS"])
            cword = int(os.environ.get("COMP_CWORD", len(words)))
            return words[1:cword]
        line = os.environ.get("_TYPER_COMPLETE_ARGS", "")
        words = shlex.split(line)
        return words[1:] if line.endswith(" ") else words[1:-1]
    except ValueError:  # an unclosed quote: offer everything
        return []


def main() -> None:
    """Run the ``cvid`` command line, loading only the group of the command being run."""
    typed = _completing()
    argv = sys.argv[1:] if typed is None else typed
    name = _command_of(argv)
    if name is None and "--version" in argv:
        modules: list[str] | None = []  # the root callback alone answers it
    elif name in COMMANDS:
        modules = [COMMANDS[name], *ALSO.get(name, [])]
    else:
        modules = None  # help, completing the command's name, or an unknown one: all
    build_app(modules)()


def __getattr__(name: str) -> typer.Typer:
    # ``from cvid.cli.main import app``: the whole command line, built on first use.
    if name == "app":
        app = build_app()
        globals()["app"] = app
        return app
    raise AttributeError(name)


if __name__ == "__main__":
    main()
