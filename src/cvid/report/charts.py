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

from collections.abc import Sequence
from dataclasses import dataclass

from cvid.report.svg import (
    MARKERS,
    PARTY_COLORS,
    STATUS_COLORS,
    date_ticks,
    day,
    esc,
    label,
    marker,
    number,
    value_ticks,
)

_DAY = 86_400_000_000
#: A white outline behind text drawn over lines and points, so it stays readable.
_HALO = 'stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"'


@dataclass(frozen=True)
class Observation:
    """One reported value: when it held, the value in the chart's unit, its log index."""

    at: int
    value: float
    index: int
    superseded: bool = False
    href: str = ""
    by: str | None = None  # the submitter, when not the party itself (a finding, a report)


@dataclass(frozen=True)
class LimitChart:
    """What a limit chart shows. ``limits`` are the parameter's (start, value or None) pairs."""

    id: str
    title: str
    unit: str
    bound: str
    series: tuple[tuple[str, tuple[Observation, ...]], ...]
    limits: tuple[tuple[int, float | None], ...]
    as_of: int


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


def limit_chart(chart: LimitChart) -> str:
    """The SVG of one limit chart (see the module docstring)."""
    width, height = 760, 330
    box = (72.0, 52.0, width - 72.0 - 24.0, height - 52.0 - 46.0)
    points = [o for _, obs in chart.series for o in obs]
    limits = [(t, v) for t, v in chart.limits]
    binding = [v for _, v in limits if v is not None]
    times = [o.at for o in points] + [chart.as_of]
    times += [t for t, v in limits if v is not None]
    lo, hi = _range(times)
    times += [t for t, v in limits if v is None and t <= hi]
    lo, hi = _range(times)
    if binding:  # room on the right to show the limit in force at and after the as-of date
        hi += max((hi - lo) // 8, 180 * _DAY)
    top, ticks = value_ticks(max([o.value for o in points] + binding + [1.0]) * 1.08)
    s = _Scale(lo, hi, top, box)
    bottom = s.y(0)
    word = "at most" if chart.bound == "max" else "at least"
    desc = (
        f"{chart.title}: values declared by {', '.join(p for p, _ in chart.series) or 'nobody'}"
        f" over time, in {chart.unit}, against the limit ({word}); as of {day(chart.as_of)}."
    )
    out = _open(chart.id, width, height, chart.title, desc)
    out.append(f'<rect x="{s.x0}" y="{s.y0}" width="{s.w}" height="{s.h}" fill="#ffffff"/>')
    # Where the limit is not in force: shaded and said, so an early figure above it is read
    # as what it is (not a violation).
    first = next((t for t, v in limits if v is not None), None)
    if first is not None and first > lo:
        x1 = min(s.x(first), s.x0 + s.w)
        out.append(
            f'<rect x="{s.x0:.1f}" y="{s.y0:.1f}" width="{x1 - s.x0:.1f}" height="{s.h:.1f}" '
            'fill="#f3f4f6"/>'
        )
        out.append(
            f'<text x="{s.x0 + 6:.1f}" y="{s.y0 + 14:.1f}" font-size="11" fill="#6b7280">'
            "limit not yet in force</text>"
        )
        y = s.y(next(v for _, v in limits if v is not None) or 0.0)
        out.append(
            f'<line x1="{s.x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" y2="{y:.1f}" stroke="#991b1b" '
            'stroke-opacity="0.45" stroke-dasharray="2 4"/>'
        )
    for v in ticks:
        y = s.y(v)
        out.append(
            f'<line x1="{s.x0:.1f}" y1="{y:.1f}" x2="{s.x0 + s.w:.1f}" y2="{y:.1f}" '
            'stroke="#e5e7eb"/>'
        )
        out.append(
            f'<text x="{s.x0 - 8:.1f}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#374151">{esc(number(v))}</text>'
        )
    _x_axis(out, s, bottom, None)
    out.append(
        f'<line x1="{s.x0:.1f}" y1="{s.y0:.1f}" x2="{s.x0:.1f}" y2="{bottom:.1f}" '
        'stroke="#6b7280"/>'
    )
    out.append(
        f'<text transform="translate(16 {s.y0 + s.h / 2:.1f}) rotate(-90)" font-size="12" '
        f'text-anchor="middle" fill="#111827">{esc(chart.unit)}</text>'
    )
    _limit_line(out, s, limits, chart.bound)
    xa = s.x(chart.as_of)
    out.append(
        f'<line x1="{xa:.1f}" y1="{s.y0:.1f}" x2="{xa:.1f}" y2="{bottom:.1f}" stroke="#111827" '
        'stroke-dasharray="2 3"/>'
    )
    anchor = "end" if xa > s.x0 + s.w * 0.8 else "start"
    dx = -4 if anchor == "end" else 4
    out.append(
        f'<text x="{xa + dx:.1f}" y="{bottom - 6:.1f}" font-size="11" {_HALO} '
        f'text-anchor="{anchor}" '
        f'fill="#111827">as of {esc(day(chart.as_of))}</text>'
    )
    for n, (party, obs) in enumerate(chart.series):
        _series(out, s, party, obs, n, chart.unit)
    _legend(out, [p for p, _ in chart.series], s.x0)
    out.append("</svg>")
    return "\n".join(out)


def _limit_line(
    out: list[str], s: _Scale, limits: list[tuple[int, float | None]], bound: str
) -> None:
    right = s.x0 + s.w
    path: list[str] = []
    for i, (start, value) in enumerate(limits):
        end = limits[i + 1][0] if i + 1 < len(limits) else s.hi
        if value is None or end <= s.lo or start >= s.hi:
            continue
        x1, x2, y = max(s.x(start), s.x0), min(s.x(end), right), s.y(value)
        zone_y, zone_h = (s.y0, y - s.y0) if bound == "max" else (y, s.y0 + s.h - y)
        out.append(
            f'<rect x="{x1:.1f}" y="{zone_y:.1f}" width="{x2 - x1:.1f}" height="{zone_h:.1f}" '
            'fill="#fee2e2" fill-opacity="0.55"/>'
        )
        path.append(f"M{x1:.1f},{y:.1f} H{x2:.1f}")
        text = f"limit {number(value)} from {day(start)}"
        anchor, tx = ("end", x2 - 4) if x1 > s.x0 + s.w * 0.55 else ("start", x1 + 4)
        ty = y - 6 if bound == "max" else y + 14
        out.append(
            f'<text x="{tx:.1f}" y="{ty:.1f}" font-size="11" font-weight="600" {_HALO} '
            f'text-anchor="{anchor}" fill="#991b1b">{esc(text)}</text>'
        )
    if path:
        out.append(
            f'<path d="{" ".join(path)}" fill="none" stroke="#991b1b" stroke-width="2" '
            'stroke-dasharray="7 4" class="limit-line"/>'
        )


def _series(
    out: list[str], s: _Scale, party: str, obs: Sequence[Observation], n: int, unit: str
) -> None:
    color, shape = PARTY_COLORS[n % len(PARTY_COLORS)], MARKERS[n % len(MARKERS)]
    live = sorted((o for o in obs if not o.superseded), key=lambda o: o.at)
    if len(live) > 1:
        pts = " ".join(f"{s.x(o.at):.1f},{s.y(o.value):.1f}" for o in live)
        out.append(
            f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.6" '
            'stroke-opacity="0.8"/>'
        )
    for o in sorted(obs, key=lambda o: o.at):
        note = (f" (by {o.by})" if o.by else "") + (" (superseded)" if o.superseded else "")
        tip = f"{party} {day(o.at)}: {number(o.value)} {unit}, log {o.index}{note}"
        dot = marker(shape, s.x(o.at), s.y(o.value), color, hollow=o.superseded)
        body = f"<title>{esc(tip)}</title>{dot}"
        if o.href:
            out.append(f'<a href="{esc(o.href)}">{body}</a>')
        else:
            out.append(f"<g>{body}</g>")


def _legend(out: list[str], parties: Sequence[str], x0: float) -> None:
    x = x0
    for n, party in enumerate(parties):
        color, shape = PARTY_COLORS[n % len(PARTY_COLORS)], MARKERS[n % len(MARKERS)]
        out.append(
            f'<line x1="{x:.1f}" y1="20" x2="{x + 24:.1f}" y2="20" stroke="{color}" '
            'stroke-width="1.6"/>'
        )
        out.append(marker(shape, x + 12, 20, color))
        out.append(
            f'<text x="{x + 30:.1f}" y="24" font-size="12" fill="#111827">{esc(party)}</text>'
        )
        x += 42 + 7.5 * len(party)
    out.append(
        f'<line x1="{x:.1f}" y1="20" x2="{x + 28:.1f}" y2="20" stroke="#991b1b" '
        'stroke-width="2" stroke-dasharray="7 4"/>'
    )
    out.append(f'<text x="{x + 34:.1f}" y="24" font-size="12" fill="#111827">limit</text>')
    x += 80
    out.append(f'<rect x="{x:.1f}" y="13" width="16" height="14" fill="#fee2e2" stroke="#fca5a5"/>')
    out.append(
        f'<text x="{x + 22:.1f}" y="24" font-size="12" fill="#111827">beyond the limit</text>'
    )
    x += 140
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
