"""``cvid view LEDGER --at DATE [--view now --view then] [--json]``: the view model.

The ``cvid-view/1`` document (docs/view-model.md) the report and the dashboard draw from:
statuses in each view, findings, steps, timelines, series against limits and evidence. Without
``--json`` it prints the findings and the steps as plain text (what a record says is printed as
text: never read as console markup, its control characters shown as escapes).

Exit 0, or 1 when a term is violated in the first view; 2 for bad input.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cvid.agreements import View
from cvid.cli._common import emit_json, reports_errors
from cvid.console import printable
from cvid.view import ViewModel, to_instant, view_for_ledger


def _word(status: str) -> str:
    return f"met ({status[4:]})" if status.startswith("met_") else status.replace("_", " ")


def _figure(value: float | None, unit: str | None) -> str:
    if value is None:
        return "—"
    text = f"{value:,.0f}" if value == int(value) else f"{value:,.4g}"
    return f"{text} {unit}" if unit else text


def print_view(model: ViewModel) -> None:
    """The findings, a summary per view and the steps, as plain lines."""

    def echo(text: str) -> None:
        typer.echo(printable(text))

    echo(f"{model.title} ({model.agreement}) as of {model.as_of}, views: {', '.join(model.views)}")
    if model.checkpoint:
        cp = model.checkpoint
        echo(f"checkpoint {cp.get('origin')} size {cp.get('size')} root {cp.get('root')}")
    echo("")
    if model.findings:
        echo("Findings:")
        for f in model.findings:
            other = ""
            if f.other is not None:
                other = f" (as known {'then' if f.view == 'now' else 'now'}: {_word(f.other)})"
            margin = ""
            if f.margin is not None:
                margin = f", margin {_figure(f.margin, f.unit)}"
                if f.margin_percent is not None:
                    margin += f" ({f.margin_percent:+.1f} %)"
            figures = ""
            if f.value is not None or f.limit is not None:
                figures = (
                    f"; value {_figure(f.value, f.unit)}, limit {_figure(f.limit, f.unit)}{margin}"
                )
            echo(
                f"  [{f.view}] {_word(f.status)}: {f.title} — {f.party}{figures}; "
                f"since {f.since or '—'}{other}"
            )
            echo(f"      {f.explanation}")
    else:
        echo("Findings: none")
    for v in model.views:
        j = model.status[v]
        counts = ", ".join(f"{n} {_word(s)}" for s, n in j.summary.items())
        echo(f"As known {v}: {counts or 'no terms'}")
    if model.steps:
        echo("Steps:")
        for s in model.steps:
            states = ", ".join(f"{v}: {st}" for v, st in s.states.items())
            echo(f"  {s.title} ({states}) — {s.says}")


@reports_errors
def view_command(
    directory: Annotated[
        str, typer.Argument(help="The ledger: its directory, or a postgresql:// URL.")
    ],
    at: Annotated[str, typer.Option("--at", "--as-of", help="A date (00:00Z) or an instant.")],
    views: Annotated[
        list[View] | None,
        typer.Option("--view", help="A view (repeat for more; the first is the primary)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the cvid-view/1 document.")
    ] = False,
) -> None:
    """The view model of a ledger as of a date: findings, steps, timelines, series, evidence.

    Exit 0, or 1 when a term is violated in the first view.
    """
    t = to_instant(at, "--at")
    model = view_for_ledger(directory, t, views or (View.NOW, View.THEN))
    if as_json:
        emit_json(model.to_json())
    else:
        print_view(model)
    if model.violated:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``cvid view`` to ``app``."""
    app.command("view")(view_command)
