"""Entry point of the ``cvid`` command: assembles the command groups.

Each group lives in its own module, and some import heavy libraries (SciPy for accountancy,
FastAPI for the service). :func:`main` therefore registers only the module that defines the
command being run (all of them for ``cvid --help`` or an unknown command), so that ``cvid
status`` never pays for SciPy. ``cvid.cli.main.app`` (what tests drive) has every group.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterable

import typer

from cvid import __version__

#: The module that registers each top-level command.
COMMANDS: dict[str, str] = {
    "accountancy": "cvid.cli.accountancy",
    "agreement": "cvid.cli.agreements",
    "status": "cvid.cli.agreements",
    "timeline": "cvid.cli.agreements",
    "verdict": "cvid.cli.agreements",
    "demo": "cvid.cli.demo",
    "evidence": "cvid.cli.evidence",
    "import": "cvid.cli.evidence",
    "key": "cvid.cli.evidence",
    "ledger": "cvid.cli.evidence",
    "submit": "cvid.cli.evidence",
    "audit": "cvid.cli.log",
    "log": "cvid.cli.log",
    "receipt": "cvid.cli.log",
    "report": "cvid.cli.report",
    "serve": "cvid.cli.serve",
    "witness": "cvid.cli.witness",
}

HELP = (
    "cvid: complete, verifiable, irreversible. A public, append-only, verifiable log "
    "of evidence. Exit codes: 0 fine, 1 a finding (failed audit or check), 2 bad input."
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cvid {__version__}")
        raise typer.Exit()


def build_app(modules: Iterable[str] | None = None) -> typer.Typer:
    """The ``cvid`` app with the command groups of ``modules`` (default: every one)."""
    app = typer.Typer(
        name="cvid",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ) -> None:
        """cvid command line."""

    wanted = dict.fromkeys(COMMANDS.values()) if modules is None else dict.fromkeys(modules)
    for name in wanted:
        if importlib.util.find_spec(name) is None:
            continue  # a group not built in this version
        importlib.import_module(name).register(app)
    return app


def _command_of(argv: list[str]) -> str | None:
    """The top-level command named on the command line (None before any, e.g. --version)."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg
    return None


def main() -> None:
    """Run the ``cvid`` command line, loading only the group of the command being run."""
    name = _command_of(sys.argv[1:])
    if name is None and any(a in ("--version",) for a in sys.argv[1:]):
        # Typer needs a command to build a group; the smallest one will do.
        modules: list[str] | None = ["cvid.cli.log"]
    elif name in COMMANDS:
        modules = [COMMANDS[name]]
    else:
        modules = None  # help, or an unknown command: list them all
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
