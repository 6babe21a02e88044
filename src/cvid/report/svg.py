"""Small helpers for drawing SVG by hand: escaping, number and date formats, axes, palettes.

Everything here is pure. Text put into SVG goes through :func:`esc`, so a drawing built with
these helpers is well-formed XML whatever the record says (``<``, ``&``, quotes).
"""

from __future__ import annotations

import datetime as dt
import math
from html import escape

from cvid.agreements import from_us, to_us

#: Status (and step state) → (background, foreground): badges, table cells and strip bands.
#: Colour is never the only signal: every badge and band also carries the status as text.
STATUS_COLORS: dict[str, tuple[str, str]] = {
    "not_in_force": ("#e5e7eb", "#374151"),
    "pending": ("#dbeafe", "#1e3a8a"),
    "met_claimed": ("#fef3c7", "#78350f"),
    "met_verified": ("#bbf7d0", "#14532d"),
    "overdue": ("#fed7aa", "#9a3412"),
    "violated": ("#fecaca", "#7f1d1d"),
    "reversed": ("#e9d5ff", "#581c87"),
    "disputed": ("#fbcfe8", "#831843"),
    "unknown": ("#cbd5e1", "#0f172a"),
    "locked": ("#e5e7eb", "#374151"),
    "unlocked": ("#dbeafe", "#1e3a8a"),
    "delivered": ("#bbf7d0", "#14532d"),
    "partly_delivered": ("#fef3c7", "#78350f"),
    "suspended": ("#fde68a", "#713f12"),
    "withdrawn": ("#d1d5db", "#111827"),
}

#: Party colours (Okabe–Ito, safe for colour-blind readers) and marker shapes, by position.
PARTY_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
MARKERS = ("circle", "square", "triangle", "diamond")


def esc(text: object) -> str:
    """``text`` escaped for XML/HTML text and attribute values."""
    return escape(str(text), quote=True)


def label(status: str) -> str:
    """A status in words: ``met_claimed`` → ``met (claimed)``, ``not_in_force`` → ``not in force``.

    Used wherever a colour shows a status, so that colour is never the only signal.
    """
    if status.startswith("met_"):
        return f"met ({status[4:]})"
    return status.replace("_", " ")


def number(value: float) -> str:
    """A value as a person reads it: ``1,550``, ``202.85``."""
    if math.isfinite(value) and value == int(value):
        return f"{int(value):,}"
    return f"{value:,.4g}"


def day(us: int) -> str:
    """The UTC date of an instant, ``2018-02-05``."""
    return from_us(us).date().isoformat()


def nice_step(span: float, count: int = 5) -> float:
    """A round tick step (1, 2, 2.5 or 5 × 10ⁿ) giving about ``count`` ticks over ``span``."""
    if span <= 0:
        return 1.0
    raw = span / count
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def value_ticks(top: float, count: int = 5) -> tuple[float, list[float]]:
    """A rounded top of the axis (≥ ``top``) and the ticks from 0 to it."""
    step = nice_step(top, count)
    hi = math.ceil(top / step) * step if top > 0 else step
    n = round(hi / step)
    return hi, [i * step for i in range(n + 1)]


def date_ticks(lo: int, hi: int, most: int = 9) -> list[tuple[int, str]]:
    """Ticks at month starts in ``[lo, hi]`` (microseconds), at most about ``most`` of them.

    The step is 1, 2, 3 or 6 months or 1, 2, 5 or 10 years; labels are ``2018`` for yearly
    ticks and ``Mar 2018`` otherwise.
    """
    start, end = from_us(lo), from_us(hi)
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    step = next((s for s in (1, 2, 3, 6, 12, 24, 60, 120) if months / s <= most), 240)
    out: list[tuple[int, str]] = []
    y, m = start.year, start.month
    while True:
        t = to_us(dt.datetime(y, m, 1, tzinfo=dt.UTC))
        if t > hi:
            break
        aligned = (m - 1) % step == 0 if step < 12 else m == 1 and y % (step // 12) == 0
        if t >= lo and aligned:
            out.append((t, str(y) if step >= 12 else f"{dt.date(y, m, 1):%b} {y}"))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def marker(shape: str, x: float, y: float, color: str, hollow: bool = False, r: float = 4.5) -> str:
    """An SVG marker of ``shape`` centred on (x, y); hollow markers have a white fill."""
    fill = "#ffffff" if hollow else color
    style = f'fill="{fill}" stroke="{color}" stroke-width="1.6"'
    if shape == "square":
        side = 2 * r
        box = f'x="{x - r:.1f}" y="{y - r:.1f}" width="{side:.1f}" height="{side:.1f}"'
        return f"<rect {box} {style}/>"
    if shape == "triangle":
        pts = f"{x:.1f},{y - r - 1:.1f} {x - r - 0.5:.1f},{y + r:.1f} {x + r + 0.5:.1f},{y + r:.1f}"
        return f'<polygon points="{pts}" {style}/>'
    if shape == "diamond":
        d = r + 1
        pts = f"{x:.1f},{y - d:.1f} {x + d:.1f},{y:.1f} {x:.1f},{y + d:.1f} {x - d:.1f},{y:.1f}"
        return f'<polygon points="{pts}" {style}/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" {style}/>'
