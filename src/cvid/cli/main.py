"""Entry point of the ``cvid`` command: assembles the command groups."""

from __future__ import annotations

import typer

from cvid import __version__

app = typer.Typer(
    name="cvid",
    help=(
        "cvid: complete, verifiable, irreversible. A public, append-only, verifiable log "
        "of evidence. Exit codes: 0 fine, 1 a finding (failed audit or check), 2 bad input."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cvid {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """cvid command line."""


def _register() -> None:
    # Imported here so that each group stays in its own module and `cvid --help` lists them all.
    from cvid.cli import accountancy as acc_cli
    from cvid.cli import agreements as agreements_cli
    from cvid.cli import demo as demo_cli
    from cvid.cli import evidence as evidence_cli
    from cvid.cli import log as log_cli
    from cvid.cli import report as report_cli

    acc_cli.register(app)
    demo_cli.register(app)
    log_cli.register(app)
    evidence_cli.register(app)
    agreements_cli.register(app)
    report_cli.register(app)


_register()


def main() -> None:
    """Run the ``cvid`` command line."""
    app()


if __name__ == "__main__":
    main()
