"""A self-contained SVG chart of Page's statistic against its decision interval h."""

from __future__ import annotations

from xml.sax.saxutils import escape

import numpy as np
from numpy.typing import NDArray

_WIDTH, _HEIGHT = 720, 360
_LEFT, _RIGHT, _TOP, _BOTTOM = 60, 20, 40, 50


def _nice_step(span: float) -> float:
    # A tick step of 1, 2 or 5 times a power of ten giving about five ticks.
    raw = span / 5.0
    power = 10.0 ** np.floor(np.log10(raw))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if raw <= factor * power:
            return float(factor * power)
    return float(10.0 * power)


def page_chart_svg(
    labels: tuple[str, ...] | list[str], statistic: NDArray[np.float64], h: float, title: str
) -> str:
    """An SVG document plotting Page's statistic per period, the line S = h and the alarms."""
    n = len(labels)
    top = max(float(np.max(statistic)) if n else 0.0, h) * 1.15 or 1.0
    plot_w = _WIDTH - _LEFT - _RIGHT
    plot_h = _HEIGHT - _TOP - _BOTTOM

    def x_at(i: int) -> float:
        return _LEFT + (plot_w * (i + 0.5) / n if n else 0.0)

    def y_at(value: float) -> float:
        return _TOP + plot_h * (1.0 - value / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{_HEIGHT}" '
        f'viewBox="0 0 {_WIDTH} {_HEIGHT}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{_WIDTH / 2}" y="22" text-anchor="middle" font-size="14">{escape(title)}</text>',
        f'<line x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{_LEFT + plot_w}" y2="{_TOP + plot_h}" '
        'stroke="black"/>',
        f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_TOP + plot_h}" stroke="black"/>',
    ]
    step = _nice_step(top)
    tick = 0.0
    while tick <= top:
        y = y_at(tick)
        parts.append(
            f'<line x1="{_LEFT - 4}" y1="{y:.1f}" x2="{_LEFT + plot_w}" y2="{y:.1f}" '
            'stroke="#ddd"/>'
            f'<text x="{_LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>'
        )
        tick += step
    every = max(1, n // 12)
    for i in range(0, n, every):
        parts.append(
            f'<text x="{x_at(i):.1f}" y="{_TOP + plot_h + 18}" text-anchor="middle">'
            f"{escape(str(labels[i]))}</text>"
        )
    parts.append(
        f'<text x="{_LEFT + plot_w / 2}" y="{_HEIGHT - 8}" text-anchor="middle">'
        "balance period</text>"
        f'<text x="16" y="{_TOP + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 16 {_TOP + plot_h / 2})">Page statistic S</text>'
    )
    y_h = y_at(h)
    parts.append(
        f'<line x1="{_LEFT}" y1="{y_h:.1f}" x2="{_LEFT + plot_w}" y2="{y_h:.1f}" stroke="#c00" '
        f'stroke-dasharray="6 4"/><text x="{_LEFT + plot_w - 4}" y="{y_h - 6:.1f}" '
        f'text-anchor="end" fill="#c00">h = {h:.4g}</text>'
    )
    points = " ".join(f"{x_at(i):.1f},{y_at(float(s)):.1f}" for i, s in enumerate(statistic))
    parts.append(f'<polyline points="{points}" fill="none" stroke="#1f4e9c" stroke-width="2"/>')
    for i, s in enumerate(statistic):
        alarm = float(s) > h
        parts.append(
            f'<circle cx="{x_at(i):.1f}" cy="{y_at(float(s)):.1f}" r="{4 if alarm else 2.5}" '
            f'fill="{"#c00" if alarm else "#1f4e9c"}"><title>{escape(str(labels[i]))}: '
            f"S = {float(s):.3f}{' (alarm)' if alarm else ''}</title></circle>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def page_chart_text(
    labels: tuple[str, ...] | list[str],
    statistic: NDArray[np.float64],
    h: float,
    width: int = 40,
) -> list[str]:
    """A compact text chart of Page's statistic against h: one line a period.

    Each line holds the period label, a bar of ``█`` whose length is S_i on a common scale of
    ``width`` characters, the decision interval h drawn as ``│`` in every line (``┃`` where the
    bar reaches past it), the value of S_i, and ``ALARM`` when S_i > h. The first line is a
    header marking 0 and h.
    """
    values = [float(s) for s in statistic]
    top = max([h, *values]) or 1.0
    column = min(width - 1, round(h / top * width))
    name_width = max((len(str(label)) for label in labels), default=0)
    origin = "0".ljust(column) if column > 0 else ""
    lines = [f"{'':{name_width}} {origin}h = {h:.4f}"]
    for label, value in zip(labels, values, strict=True):
        filled = round(value / top * width)
        cells = ["█" if j < filled else " " for j in range(width + 1)]
        cells[column] = "┃" if filled > column else "│"
        mark = " ALARM" if value > h else ""
        lines.append(f"{label!s:{name_width}} {''.join(cells)} {value:6.2f}{mark}")
    return lines
