"""``cvid accountancy``: material balances, SITMUF and the design of Page's test.

Exit codes: 0 fine, 1 Page's test alarms on a balance area (a finding), 2 bad input. With
``balance --record`` the finding is in the record printed, and the exit code is 0.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from cvid.accountancy import (
    BalanceEvaluation,
    LossPattern,
    MethodTable,
    balance_record,
    evaluate_balance,
    kg_to_sq,
    method_table_json,
    page_arl,
    page_arl_two_sided,
    page_chart_svg,
    page_chart_text,
    page_threshold,
    parse_balances,
    parse_method_table,
    significant_quantity,
    sq_to_kg,
    standardized_detection,
)
from cvid.agreements import from_us, parse_as_of
from cvid.cli._common import emit_json, reports_errors
from cvid.console import SafeConsole
from cvid.errors import InputError

accountancy_app = typer.Typer(
    name="accountancy",
    help="Material accountancy: MUF, σMUF, SITMUF, Page's test and its design.",
    no_args_is_help=True,
)
out = SafeConsole()

JSON_OPTION = typer.Option(False, "--json", help="Print JSON on standard output.")
K_OPTION = typer.Option(..., "--k", help="Reference value k (in σ of SITMUF), >= 0.")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # a byte-order mark (Excel) is dropped
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None


def _table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column("quantity", style="bold")
    table.add_column("value", justify="right")
    for name, value in rows:
        table.add_row(name, value)
    return table


@accountancy_app.command("arl")
@reports_errors
def arl_command(
    k: float = K_OPTION,
    h: float = typer.Option(..., "--h", help="Decision interval h, >= 0."),
    shift: float = typer.Option(0.0, "--shift", help="Mean shift of SITMUF in σ (0: in control)."),
    two_sided: bool = typer.Option(False, "--two-sided", help="Two-sided CUSUM, symmetric k, h."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Average run length of Page's test on N(shift, 1) data (Nyström, exact to ~1e-10)."""
    value = page_arl_two_sided(k, h, shift) if two_sided else page_arl(k, h, shift)
    result = {"k": k, "h": h, "shift": shift, "two_sided": two_sided, "arl": value}
    if as_json:
        emit_json(result)
        return
    kind = "two-sided" if two_sided else "one-sided"
    rows = [("k", f"{k:g}"), ("h", f"{h:g}"), ("shift (σ)", f"{shift:g}"), ("ARL", f"{value:.2f}")]
    out.print(_table(f"Page's test, {kind}", rows))


@accountancy_app.command("threshold")
@reports_errors
def threshold_command(
    k: float = K_OPTION,
    periods: int = typer.Option(..., "--periods", help="Number of balance periods N, >= 1."),
    false_alarm: float = typer.Option(..., "--false-alarm", help="P(alarm within N periods)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """The h that gives a false-alarm probability over N loss-free periods."""
    h = page_threshold(k, periods, false_alarm)
    arl = page_arl(k, h)
    result = {"k": k, "periods": periods, "false_alarm": false_alarm, "h": h, "arl": arl}
    if as_json:
        emit_json(result)
        return
    rows = [
        ("k", f"{k:g}"),
        ("periods", str(periods)),
        ("false-alarm probability", f"{false_alarm:g}"),
        ("h", f"{h:.4f}"),
        ("in-control ARL", f"{arl:.2f}"),
    ]
    out.print(_table("Decision interval of Page's test", rows))


@accountancy_app.command("detect")
@reports_errors
def detect_command(
    k: float = K_OPTION,
    periods: int = typer.Option(..., "--periods", help="Number of balance periods N, >= 1."),
    false_alarm: float = typer.Option(..., "--false-alarm", help="P(alarm within N periods)."),
    loss: float = typer.Option(..., "--loss", help="Total loss over N periods, in σ of one MUF."),
    pattern: LossPattern = typer.Option(..., "--pattern", help="abrupt or protracted."),
    period: int | None = typer.Option(
        None, "--period", help="Period of an abrupt loss, 1..N (default N, the last)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Detection probability of a loss by Page's test and by the end-of-sequence CUMUF test."""
    figures = standardized_detection(k, periods, false_alarm, loss, pattern, period)
    where = (periods if period is None else period) if pattern is LossPattern.ABRUPT else None
    result = {
        "k": k,
        "periods": periods,
        "false_alarm": false_alarm,
        "h": figures.h,
        "loss_sd": loss,
        "pattern": pattern.value,
        "period": where,
        "page": figures.page,
        "cumuf": figures.cumuf,
        "gemuf": figures.gemuf,
    }
    if as_json:
        emit_json(result)
        return
    label = f"abrupt, in period {where}" if where is not None else "protracted, evenly"
    rows = [
        ("k", f"{k:g}"),
        ("h (false alarm over N)", f"{figures.h:.4f}"),
        ("loss (σ, total)", f"{loss:g} — {label}"),
        ("P(detect), Page", f"{figures.page:.3f}"),
        ("P(detect), CUMUF at the end", f"{figures.cumuf:.3f}"),
        ("P(detect), GEMUF", f"{figures.gemuf:.3f}"),
    ]
    out.print(_table(f"Detection over {periods} periods, α = {false_alarm:g}", rows))


@accountancy_app.command("methods")
@reports_errors
def methods_command(
    methods_file: Path | None = typer.Option(
        None, "--methods", help="A method table (CSV or JSON) to check and print."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Print the measurement-method table (the defaults, or a file's) and its source."""
    table = _methods(methods_file)
    if as_json:
        emit_json(method_table_json(table))
        return
    view = Table(title="Measurement methods (relative standard uncertainties)")
    for column in ("method", "random", "systematic", "note"):
        view.add_column(column, justify="right" if column in ("random", "systematic") else "left")
    for m in table:
        view.add_row(m.name, f"{m.random_rel:.2%}", f"{m.systematic_rel:.2%}", m.note)
    out.print(view)
    out.print(f"source: {table.source}")


def _methods(path: Path | None) -> MethodTable:
    if path is None:
        return MethodTable.default()
    return parse_method_table(_read_text(path), str(path))


def _area_json(ev: BalanceEvaluation, material: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {"summary": ev.summary(), "periods": ev.rows()}
    if material is not None:
        sq = significant_quantity(material)
        one_sq = sq_to_kg(1.0, material)
        detect = {
            p.value: {"page": f.page, "cumuf": f.cumuf, "gemuf": f.gemuf}
            for p, f in ((p, ev.detection(one_sq, p)) for p in LossPattern)
        }
        result["significant_quantity"] = {
            "material": sq.material,
            "kg": sq.amount_kg,
            "basis": sq.basis,
            "sigma_cumuf_sq": kg_to_sq(float(ev.sequence.sigma_cumuf()[-1]), material),
            "detection_of_1_sq": detect,
        }
    return result


def _print_area(ev: BalanceEvaluation, result: dict[str, Any], text_chart: bool) -> None:
    summary = result["summary"]
    view = Table(
        title=f"Balance area {escape(summary['area'])}",
        caption="kg; ! alarm: Page S > h, Shewhart MUF/σ > z",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    headers = ("period", "MUF", "σMUF", "σ rand", "σ sys", "MUF/σ", "SITMUF", "CUMUF", "Page S")
    for name in headers:
        view.add_column(name, justify="left" if name == "period" else "right", no_wrap=True)
    for row in result["periods"]:
        shewhart = f"{row['shewhart_z']:+.2f}"
        page = f"{row['page']:.2f}"
        view.add_row(
            escape(row["period"]),
            f"{row['muf_kg']:.3f}",
            f"{row['sigma_muf_kg']:.3f}",
            f"{row['sigma_random_kg']:.3f}",
            f"{row['sigma_systematic_kg']:.3f}",
            f"[bold red]{shewhart}![/]" if row["shewhart_alarm"] else f"{shewhart} ",
            f"{row['sitmuf']:+.2f}",
            f"{row['cumuf_kg']:.3f}",
            f"[bold red]{page}![/]" if row["alarm"] else f"{page} ",
        )
    out.print(view)
    if text_chart:
        out.print(f"Page's statistic S against h ({summary['area']}):", markup=False)
        lines = page_chart_text(ev.sequence.labels, ev.page.statistic, ev.page.h)
        for line in lines:
            out.print(line, markup=False, style="bold red" if line.endswith("ALARM") else None)
    page = summary["page"]
    verdict = (
        f"[bold red]alarm from {escape(page['first_alarm'])}[/]" if page["alarm"] else "no alarm"
    )
    out.print(f"Page's test (k = {page['k']:g}, h = {page['h']:.4f}): {verdict}")
    shewhart = summary["shewhart"]
    flagged = ", ".join(shewhart["alarm_periods"]) if shewhart["alarm"] else "none"
    out.print(
        f"Shewhart test (MUF/σMUF > {shewhart['threshold']:.4f}, each period alone): "
        f"alarms {escape(flagged)}"
    )
    out.print(
        f"CUMUF = {summary['muf_total_kg']:.3f} ± {summary['sigma_cumuf_kg']:.3f} kg "
        f"(alarm: {summary['cumuf']['alarm']}); GEMUF p = {summary['gemuf']['p_value']:.3g}; "
        f"every balance within {summary['close_z']:g}σ: {summary['closes']}"
    )
    if "significant_quantity" in result:
        sq = result["significant_quantity"]
        for pattern, figures in sq["detection_of_1_sq"].items():
            out.print(
                f"1 SQ ({sq['kg']:g} kg {sq['basis']}) lost, {pattern}: P(detect) Page "
                f"{figures['page']:.3f}, CUMUF {figures['cumuf']:.3f}"
            )
    out.print(f"[dim]methods: {escape(ev.methods_source)}[/]")


def _chart_paths(chart: Path, areas: list[str]) -> list[Path]:
    # One area: exactly the path asked for. Several: one file per area beside it, named after
    # the area; names that would coincide (also ignoring case, for case-insensitive file
    # systems) get a numeric suffix, so no area's chart overwrites another's.
    if len(areas) == 1:
        return [chart]
    suffix = chart.suffix or ".svg"
    taken: set[str] = set()
    paths = []
    for i, area in enumerate(areas):
        slug = "".join(c if c.isalnum() else "-" for c in area).strip("-") or f"area{i + 1}"
        name = f"{chart.stem}-{slug}{suffix}"
        n = 2
        while name.lower() in taken:
            name = f"{chart.stem}-{slug}-{n}{suffix}"
            n += 1
        taken.add(name.lower())
        paths.append(chart.with_name(name))
    return paths


def _write_charts(chart: Path, evaluations: list[BalanceEvaluation]) -> list[Path]:
    paths = _chart_paths(chart, [ev.sequence.area for ev in evaluations])
    for path, ev in zip(paths, evaluations, strict=True):
        title = f"Page's test: {ev.sequence.area}"
        svg = page_chart_svg(ev.sequence.labels, ev.page.statistic, ev.page.h, title)
        try:
            path.write_text(svg, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return paths


@accountancy_app.command("balance")
@reports_errors
def balance_command(
    file: Path = typer.Argument(..., help="Balance reports, CSV or JSON (docs/accountancy.md)."),
    methods_file: Path | None = typer.Option(
        None, "--methods", help="Method table, CSV or JSON (default: built-in)."
    ),
    k: float = typer.Option(0.5, "--k", help="Reference value k of Page's test."),
    h: float | None = typer.Option(
        None, "--h", help="Decision interval (default: from --false-alarm over the periods)."
    ),
    false_alarm: float = typer.Option(0.05, "--false-alarm", help="False-alarm probability."),
    close_z: float = typer.Option(3.0, "--close-z", help="A balance closes if |MUF| <= z·σMUF."),
    material: str | None = typer.Option(
        None, "--material", help="pu, u233, heu, leu, natural-u, depleted-u or th: add 1 SQ."
    ),
    chart: Path | None = typer.Option(
        None, "--chart", help="Write an SVG of Page's statistic (one per area if several)."
    ),
    text_chart: bool = typer.Option(
        True, "--text-chart/--no-text-chart", help="Print a text chart of Page's S against h."
    ),
    as_json: bool = JSON_OPTION,
    record: bool = typer.Option(
        False,
        "--record",
        help="Print an unsigned material_balance_report evidence record per area instead "
        "(for cvid evidence sign); needs --agreement, --party and --submitter.",
    ),
    agreement: str | None = typer.Option(None, "--agreement", help="With --record: agreement id."),
    party: str | None = typer.Option(
        None, "--party", help="With --record: the party whose obligation it concerns."
    ),
    submitter: str | None = typer.Option(
        None, "--submitter", help="With --record: the submitting party or body."
    ),
    reported_at: str | None = typer.Option(
        None, "--reported-at", help="With --record: when it is reported (default: now)."
    ),
    observed_at: str | None = typer.Option(
        None,
        "--observed-at",
        help="With --record: the instant described (default: end of the last period).",
    ),
    source_title: str | None = typer.Option(
        None, "--source-title", help="With --record: the source's title (default: from FILE)."
    ),
) -> None:
    """Per period of each balance area in FILE: MUF, σMUF, SITMUF, the Shewhart test, Page's
    statistic and alarms, and a chart of Page's statistic against h."""
    if record:
        missing = [
            name
            for name, given in (
                ("--agreement", agreement),
                ("--party", party),
                ("--submitter", submitter),
            )
            if not given
        ]
        if missing:
            raise InputError(f"--record needs {', '.join(missing)}")
        if as_json:
            raise InputError("--record and --json cannot be combined: --record prints JSON")
    else:
        given = [
            name
            for name, value in (
                ("--agreement", agreement),
                ("--party", party),
                ("--submitter", submitter),
                ("--reported-at", reported_at),
                ("--observed-at", observed_at),
                ("--source-title", source_title),
            )
            if value is not None
        ]
        if given:
            raise InputError(f"{', '.join(given)}: only with --record")
    table = _methods(methods_file)
    areas = parse_balances(_read_text(file), str(file), table)
    if material is not None:
        significant_quantity(material)
    evaluations = [
        evaluate_balance(area, table, k=k, h=h, false_alarm=false_alarm, close_z=close_z)
        for area in areas
    ]
    if record:
        assert agreement is not None and party is not None and submitter is not None
        reported = (
            datetime.now(UTC).replace(microsecond=0)
            if reported_at is None
            else from_us(parse_as_of(reported_at))
        )
        observed = None if observed_at is None else from_us(parse_as_of(observed_at))
        title = source_title or f"Material balance evaluation of {file.name} (cvid accountancy)"
        records = [
            balance_record(ev, agreement, party, submitter, reported, title, observed_at=observed)
            for ev in evaluations
        ]
        if len(records) == 1:
            emit_json(records[0])
        else:
            for obj in records:
                sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        return
    results = [_area_json(ev, material) for ev in evaluations]
    written = _write_charts(chart, evaluations) if chart is not None else []
    if as_json:
        emit_json({"file": str(file), "areas": results})
    else:
        for ev, result in zip(evaluations, results, strict=True):
            _print_area(ev, result, text_chart)
        for path in written:
            out.print(f"chart written to {path}")
    if any(ev.page.first_alarm is not None for ev in evaluations):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``accountancy`` command group to ``app``."""
    app.add_typer(accountancy_app, name="accountancy")
