"""Charts for the report, as inline SVG drawn in Python (no JavaScript, nothing fetched).

- :func:`limit_chart`: each party's declared values of a quantity over time (``observed_at``)
  against the limit, a step line from the date each value takes effect; the zone beyond the
  limit is shaded, the time before it binds is marked, the as-of date is a dotted line.
- :func:`status_strip`: one term's status per party over time, as labelled bands.

Both return one well-formed ``<svg>`` element (every text escaped), with a ``<title>`` and a
``<desc>`` for screen readers and a ``<title>`` tooltip on each point or band. Points link to
the evidence they come from (``href`` of each :class:`Observation`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cvid.agreements import parse_instant
from cvid.report.svg import (
    STATUS_COLORS,
    date_ticks,
    day,
    esc,
    label,
    marker,
    nice_step,
    number,
)
from cvid.view import LimitPeriod, Series

_DAY = 86_400_000_000
#: A white outline behind text drawn over lines and points, so it stays readable.
_HALO = 'stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"'


@dataclass(frozen=True)
class Band:
    """A status held from ``start`` to ``end`` (microseconds), with why."""

    start: int
    end: int
    status: str
    explanation: str = ""


class _Scale:
    """Maps instants and values to the plot area."""

    def __init__(self, lo: int, hi: int, top: float, box: tuple[float, float, float, float]):
        self.lo, self.hi, self.top = lo, max(hi, lo + 1), top
        self.x0, self.y0, self.w, self.h = box

    def x(self, t: int) -> float:
        return self.x0 + (t - self.lo) / (self.hi - self.lo) * self.w

    def y(self, v: float) -> float:
        return self.y0 + self.h - (v / self.top) * self.h if self.top else self.y0 + self.h


def _open(svg_id: str, width: int, height: int, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" class="chart" id="{esc(svg_id)}" '
        f'aria-labelledby="{esc(svg_id)}-t {esc(svg_id)}-d" font-family="system-ui, sans-serif">',
        f'<title id="{esc(svg_id)}-t">{esc(title)}</title>',
        f'<desc id="{esc(svg_id)}-d">{esc(desc)}</desc>',
    ]


def _x_axis(out: list[str], s: _Scale, baseline: float, grid_top: float | None) -> None:
    out.append(
        f'<line x1="{s.x0:.1f}" y1="{baseline:.1f}" x2="{s.x0 + s.w:.1f}" y2="{baseline:.1f}" '
        'stroke="#6b7280"/>'
    )
    for t, text in date_ticks(s.lo, s.hi):
        x = s.x(t)
        if grid_top is not None:
            out.append(
                f'<line x1="{x:.1f}" y1="{grid_top:.1f}" x2="{x:.1f}" y2="{baseline:.1f}" '
                'stroke="#eef0f3"/>'
            )
        out.append(
            f'<line x1="{x:.1f}" y1="{baseline:.1f}" x2="{x:.1f}" y2="{baseline + 4:.1f}" '
            'stroke="#6b7280"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{baseline + 16:.1f}" font-size="11" text-anchor="middle" '
            f'fill="#374151">{esc(text)}</text>'
        )


def _range(times: Sequence[int]) -> tuple[int, int]:
    lo, hi = min(times), max(times)
    pad = max((hi - lo) // 30, 30 * _DAY)
    return lo - pad, hi + pad


#: How each submitter role is drawn: (shape, colour, words). Shape and words, never colour alone.
ROLE_STYLE: dict[str, tuple[str, str, str]] = {
    "declared": ("circle", "#0072B2", "declared by the party"),
    "observed": ("triangle", "#E69F00", "observed by others"),
    "verified": ("square", "#009E73", "verified (inspection)"),
}


@dataclass(frozen=True)
class Plotted:
    """A point as the chart draws it (the view model's point, in microseconds)."""

    at: int
    value: float
    low: float | None
    high: float | None
    index: int
    role: str
    superseded: bool
    beyond: float | None
    href: str
    note: str


def limit_at(limits: Sequence[LimitPeriod], t: int) -> float | None:
    """The limit in force at ``t`` (None before the first or where none applies)."""
    value = None
    for p in limits:
        if parse_instant(p.start) <= t and (p.end is None or t < parse_instant(p.end)):
            value = p.value
    return value


def plotted(series: Series, view: str, href: str = "") -> list[Plotted]:
    """The points of ``series`` known in ``view`` at its instant, with how far each is beyond
    the limit in force at its date (None when within it or no limit applies)."""
    out = []
    for p in series.points:
        if not p.known.get(view, False):
            continue
        at = parse_instant(p.at)
        limit = limit_at(series.limits, at)
        beyond = None
        if limit is not None:
            over = p.value - limit if series.bound == "max" else limit - p.value
            beyond = over if over > 0 else None
        low = p.lower if p.lower is not None else None
        high = p.upper if p.upper is not None else None
        if p.uncertainty:
            low = p.value - p.uncertainty if low is None else low
            high = p.value + p.uncertainty if high is None else high
        notes = []
        if p.submitter != series.party:
            notes.append(f"by {p.submitter}")
        if p.superseded.get(view):
            notes.append("superseded")
        if p.disputed_by:
            notes.append("disputed by log " + ", ".join(map(str, p.disputed_by)))
        others = [v for v, k in p.known.items() if v != view and not k]
        if others:
            notes.append(f"not yet known as known {others[0]}")
        out.append(
            Plotted(
                at,
                p.value,
                low,
                high,
                p.index,
                p.role,
                bool(p.superseded.get(view)),
                beyond,
                f"{href}{p.index}" if href else "",
                "; ".join(notes),
            )
        )
    return sorted(out, key=lambda x: (x.at, x.index))


def axis_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round ticks within ``[lo, hi]`` (the axis need not start at zero)."""
    step = nice_step(hi - lo, count)
    first = math.ceil(lo / step) * step
    n = math.floor((hi - first) / step + 1e-9)
    return [first + i * step for i in range(n + 1)]


def series_chart(series: Series, view: str, as_of: int, svg_id: str, href: str = "") -> str:
    """The SVG of one limit's quantity for one party, as known in ``view`` at ``as_of``.

    The value axis is the view model's (around the limit, not from zero); the dashed line is
    the limit from the date it takes effect, the shaded band beyond it; each figure is drawn
    by who vouches for it (shape and legend: declared, observed, verified), hollow when
    superseded, ringed when beyond the limit, with its uncertainty or bounds as a bar; times
    with no figure (the model's gaps) are shaded grey and the line is broken there.
    """
    width, height = 720, 320
    box = (70.0, 50.0, width - 70.0 - 20.0, height - 50.0 - 44.0)
    points = plotted(series, view, href)
    limits = [(parse_instant(p.start), p.value) for p in series.limits]
    times = [p.at for p in points] + [as_of]
    times += [t for t, v in limits if v is not None and t <= as_of]
    lo, hi = _range(times)
    hi += max((hi - lo) // 10, 90 * _DAY)  # room for the as-of label and the limit in force
    vmin, vmax = series.axis.min, series.axis.max
    s = _Scale(lo, hi, 1.0, box)

    def y(v: float) -> float:
        return s.y0 + s.h - (v - vmin) / (vmax - vmin or 1.0) * s.h

    word = "at most" if series.bound == "max" else "at least"
    beyond = [p for p in points if p.beyond is not None]
    desc = (
        f"{series.title}: {series.party}'s figures over time, in {series.unit}, against the "
        f"limit ({word}), as known {view} on {day(as_of)}; axis from {number(vmin)} to "
        f"{number(vmax)}; {len(points)} figures, {len(beyond)} beyond the limit, "
        f"{len(series.gaps)} gaps without data."
    )
    title = f"{series.title} — {series.party} (as known {view})"
    out = _open(svg_id, width, height, title, desc)
    bottom, right = s.y0 + s.h, s.x0 + s.w
    out.append(f'<rect x="{s.x0}" y="{s.y0}" width="{s.w}" height="{s.h}" fill="#ffffff"/>')
    first = next((t for t, v in limits if v is not None), None)
    if first is not None and first > lo:
        x1 = min(s.x(first), right)
        out.append(
            f'<rect x="{s.x0:.1f}" y="{s.y0:.1f}" width="{x1 - s.x0:.1f}" height="{s.h:.1f}" '
            'fill="#f3f4f6" class="not-in-force"/>'
        )
        out.append(
            f'<text x="{s.x0 + 6:.1f}" y="{s.y0 + 14:.1f}" font-size="11" fill="#4b5563">'
            "limit not yet in force</text>"
        )
    for g in series.gaps:
        g0, g1 = max(parse_instant(g.start), lo), min(parse_instant(g.end), hi)
        if g1 <= g0:
            continue
        x1, x2 = s.x(g0), s.x(g1)
        out.append(
            f'<rect x="{x1:.1f}" y="{s.y0:.1f}" width="{x2 - x1:.1f}" height="{s.h:.1f}" '
            f'fill="#e5e7eb" fill-opacity="0.85" class="gap">'
            f"<title>no figure from {esc(day(g0))} to {esc(day(g1))}</title></rect>"
        )
        if x2 - x1 > 46:
            out.append(
                f'<text x="{(x1 + x2) / 2:.1f}" y="{bottom - 6:.1f}" font-size="10.5" '
                f'text-anchor="middle" fill="#374151" {_HALO}>no data</text>'
            )
    for v in axis_ticks(vmin, vmax):
        yy = y(v)
        out.append(
            f'<line x1="{s.x0:.1f}" y1="{yy:.1f}" x2="{right:.1f}" y2="{yy:.1f}" stroke="#e5e7eb"/>'
        )
        out.append(
            f'<text x="{s.x0 - 8:.1f}" y="{yy + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#374151" class="tick">{esc(number(v))}</text>'
        )
    _x_axis(out, s, bottom, None)
    out.append(
        f'<line x1="{s.x0:.1f}" y1="{s.y0:.1f}" x2="{s.x0:.1f}" y2="{bottom:.1f}" '
        'stroke="#6b7280"/>'
    )
    out.append(
        f'<text transform="translate(16 {s.y0 + s.h / 2:.1f}) rotate(-90)" font-size="12" '
        f'text-anchor="middle" fill="#111827">{esc(series.unit)}</text>'
    )
    _limit_line(out, s, y, limits, series.bound)
    xa = s.x(as_of)
    out.append(
        f'<line x1="{xa:.1f}" y1="{s.y0:.1f}" x2="{xa:.1f}" y2="{bottom:.1f}" stroke="#111827" '
        'stroke-dasharray="2 3"/>'
    )
    out.append(
        f'<text x="{xa - 4:.1f}" y="{s.y0 + 28:.1f}" font-size="11" {_HALO} text-anchor="end" '
        f'fill="#111827">as of {esc(day(as_of))}</text>'
    )
    _points(out, s, y, points, series)
    _role_legend(out, s.x0, sorted({p.role for p in points}, key=list(ROLE_STYLE).index))
    out.append("</svg>")
    return "\n".join(out)


def _limit_line(
    out: list[str],
    s: _Scale,
    y: Callable[[float], float],
    limits: list[tuple[int, float | None]],
    bound: str,
) -> None:
    right = s.x0 + s.w
    path: list[str] = []
    for i, (start, value) in enumerate(limits):
        end = limits[i + 1][0] if i + 1 < len(limits) else s.hi
        if value is None or end <= s.lo or start >= s.hi:
            continue
        x1, x2, yy = max(s.x(start), s.x0), min(s.x(end), right), y(value)
        zone_y, zone_h = (s.y0, yy - s.y0) if bound == "max" else (yy, s.y0 + s.h - yy)
        out.append(
            f'<rect x="{x1:.1f}" y="{zone_y:.1f}" width="{x2 - x1:.1f}" height="{zone_h:.1f}" '
            'fill="#fee2e2" fill-opacity="0.6" class="beyond"/>'
        )
        path.append(f"M{x1:.1f},{yy:.1f} H{x2:.1f}")
        text = f"limit {number(value)} from {day(start)}"
        anchor, tx = ("end", x2 - 4) if x1 > s.x0 + s.w * 0.55 else ("start", x1 + 4)
        ty = yy - 6 if bound == "max" else yy + 14
        out.append(
            f'<text x="{tx:.1f}" y="{ty:.1f}" font-size="11" font-weight="600" {_HALO} '
            f'text-anchor="{anchor}" fill="#991b1b">{esc(text)}</text>'
        )
    if path:
        out.append(
            f'<path d="{" ".join(path)}" fill="none" stroke="#991b1b" stroke-width="2" '
            'stroke-dasharray="7 4" class="limit-line"/>'
        )


def _points(
    out: list[str],
    s: _Scale,
    y: Callable[[float], float],
    points: Sequence[Plotted],
    series: Series,
) -> None:
    gaps = [(parse_instant(g.start), parse_instant(g.end)) for g in series.gaps]
    live = [p for p in points if not p.superseded]
    run: list[Plotted] = []
    runs = []
    for p in live:  # the line is broken wherever a gap lies between two figures
        if run and any(run[-1].at < g1 and g0 < p.at for g0, g1 in gaps):
            runs.append(run)
            run = []
        run.append(p)
    runs.append(run)
    for r in runs:
        if len(r) > 1:
            pts = " ".join(f"{s.x(p.at):.1f},{y(p.value):.1f}" for p in r)
            out.append(
                f'<polyline points="{pts}" fill="none" stroke="#374151" stroke-width="1.4" '
                'stroke-opacity="0.7" class="series-line"/>'
            )
    unit = series.unit
    for p in points:
        shape, color, words = ROLE_STYLE.get(p.role, ROLE_STYLE["observed"])
        x, yy = s.x(p.at), y(p.value)
        parts = [f"<title>{esc(_tip(p, series, words, unit))}</title>"]
        if p.low is not None and p.high is not None:
            parts.append(
                f'<line x1="{x:.1f}" y1="{y(p.low):.1f}" x2="{x:.1f}" y2="{y(p.high):.1f}" '
                f'stroke="{color}" stroke-width="1.4" class="bounds"/>'
            )
        if p.beyond is not None:
            parts.append(
                f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="8.5" fill="none" stroke="#b91c1c" '
                'stroke-width="2" class="breach"/>'
            )
        parts.append(marker(shape, x, yy, color, hollow=p.superseded))
        attrs = f'class="point" data-role="{esc(p.role)}" data-index="{p.index}"'
        body = "".join(parts)
        if p.href:
            out.append(f'<a href="{esc(p.href)}" {attrs}>{body}</a>')
        else:
            out.append(f"<g {attrs}>{body}</g>")


def _tip(p: Plotted, series: Series, words: str, unit: str) -> str:
    text = f"{series.party} {day(p.at)}: {number(p.value)} {unit}, {words}, log {p.index}"
    if p.low is not None and p.high is not None:
        text += f" (from {number(p.low)} to {number(p.high)})"
    if p.beyond is not None:
        limit = limit_at(series.limits, p.at) or 0.0
        pct = f" ({p.beyond / abs(limit) * 100:.1f} %)" if limit else ""
        text += f"; beyond the limit by {number(p.beyond)}{pct}"
    if p.note:
        text += f"; {p.note}"
    return text


def _role_legend(out: list[str], x0: float, roles: Sequence[str]) -> None:
    x = x0
    for role in roles:
        shape, color, words = ROLE_STYLE[role]
        out.append(marker(shape, x + 6, 20, color))
        out.append(
            f'<text x="{x + 16:.1f}" y="24" font-size="12" fill="#111827">{esc(words)}</text>'
        )
        x += 26 + 6.6 * len(words)
    out.append(
        f'<line x1="{x:.1f}" y1="20" x2="{x + 26:.1f}" y2="20" stroke="#991b1b" '
        'stroke-width="2" stroke-dasharray="7 4"/>'
    )
    out.append(f'<text x="{x + 32:.1f}" y="24" font-size="12" fill="#111827">limit</text>')
    x += 72
    out.append(
        f'<circle cx="{x + 6:.1f}" cy="20" r="7" fill="none" stroke="#b91c1c" stroke-width="2"/>'
    )
    out.append(f'<text x="{x + 18:.1f}" y="24" font-size="12" fill="#111827">beyond it</text>')
    x += 84
    out.append(f'<rect x="{x:.1f}" y="13" width="16" height="14" fill="#e5e7eb" stroke="#9ca3af"/>')
    out.append(f'<text x="{x + 21:.1f}" y="24" font-size="12" fill="#111827">no data</text>')
    x += 80
    out.append(marker("circle", x + 6, 20, "#374151", hollow=True))
    out.append(f'<text x="{x + 16:.1f}" y="24" font-size="12" fill="#111827">superseded</text>')


def status_strip(
    svg_id: str,
    title: str,
    rows: Sequence[tuple[str, Sequence[Band]]],
    lo: int,
    hi: int,
    as_of: int | None = None,
) -> str:
    """The SVG of one term's status bands, one row per party, over ``[lo, hi]``.

    ``as_of``, when given, is marked with a dotted line (the last band holds from its start).

    A band wide enough carries its status in words; every band has a tooltip; a legend under
    the axis names each colour, so colour is never the only signal.
    """
    width, row_h, right = 900, 26, 16.0
    left = max(56.0, 7.0 * max((len(p) for p, _ in rows), default=4) + 16)
    seen = list(dict.fromkeys(b.status for _, bands in rows for b in bands))
    base = 8 + row_h * len(rows) + 2
    height = base + 30 + (22 if seen else 0)
    s = _Scale(lo, hi, 1.0, (left, 8.0, width - left - right, row_h * len(rows)))
    parties = ", ".join(p for p, _ in rows)
    desc = f"Status of {title} for {parties} from {day(lo)} to {day(hi)}."
    out = _open(svg_id, width, height, f"{title}: status over time", desc)
    for r, (party, bands) in enumerate(rows):
        y = 8 + r * row_h
        out.append(
            f'<text x="{left - 8:.1f}" y="{y + 17:.1f}" font-size="12" text-anchor="end" '
            f'fill="#111827">{esc(party)}</text>'
        )
        for b in bands:
            x1, x2 = s.x(max(b.start, lo)), s.x(min(b.end, hi))
            if x2 <= x1:
                continue
            bg, fg = STATUS_COLORS.get(b.status, ("#e5e7eb", "#111827"))
            words = label(b.status)
            tip = f"{party}: {words} from {day(b.start)} to {day(b.end)}. {b.explanation}"
            out.append(
                f'<g><title>{esc(tip)}</title><rect x="{x1:.1f}" y="{y + 2:.1f}" '
                f'width="{x2 - x1:.1f}" height="{row_h - 4}" fill="{bg}" stroke="#ffffff"/>'
            )
            if x2 - x1 > 5.8 * len(words) + 6:
                out.append(
                    f'<text x="{(x1 + x2) / 2:.1f}" y="{y + 17:.1f}" font-size="10.5" '
                    f'text-anchor="middle" fill="{fg}">{esc(words)}</text>'
                )
            out.append("</g>")
    if as_of is not None and lo <= as_of <= hi:
        xa = s.x(as_of)
        out.append(
            f'<line x1="{xa:.1f}" y1="4" x2="{xa:.1f}" y2="{base:.1f}" stroke="#111827" '
            'stroke-dasharray="2 3"><title>as of '
            f"{esc(day(as_of))}</title></line>"
        )
    _x_axis(out, s, base, None)
    x = left
    for status in seen:
        bg, _ = STATUS_COLORS.get(status, ("#e5e7eb", "#111827"))
        words = label(status)
        out.append(
            f'<rect x="{x:.1f}" y="{base + 26:.1f}" width="14" height="12" fill="{bg}" '
            'stroke="#9ca3af"/>'
        )
        out.append(
            f'<text x="{x + 19:.1f}" y="{base + 36:.1f}" font-size="11" fill="#374151">'
            f"{esc(words)}</text>"
        )
        x += 34 + 6.2 * len(words)
    out.append("</svg>")
    return "\n".join(out)
