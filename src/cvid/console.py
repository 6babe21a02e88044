"""Text from outside reaches the terminal as text: the one place cvid makes it so.

Records, packages, file names and error messages quote input that anyone may have written. On a
terminal such text must neither be read as Rich console markup (``[bold red]``, ``[/]``) nor pass
control characters through: an ANSI escape (``ESC [ 31 m``) would restyle or rewrite the screen,
a carriage return or backspace would hide what came before it, a bidirectional override would
show text in another order than it is stored.

:func:`printable` turns every such character into a visible escape (``\\x1b``, ``\\u202e``);
:func:`safe` also escapes markup, for text placed inside a markup string; :class:`SafeConsole`
is a Rich console that applies :func:`printable` to everything it prints (strings, ``Text``,
table cells), so a command that prints through one cannot pass a control character on, whatever
it forgets (its last line of defence, :meth:`SafeConsole.render`, cleans every segment Rich
writes, whatever renderable made it). Line feeds and tabs are kept; emoji codes (``:smile:``)
stay text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.markup import escape
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

__all__ = ["SafeConsole", "printable", "safe"]

# C0 controls but tab and line feed, DEL, C1 controls, and the Unicode bidirectional
# embeddings, overrides and isolates (the "Trojan Source" characters), line and paragraph
# separators.
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]"
)


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``); tabs and line
    feeds kept. Markup is left as it is (see :func:`safe`)."""
    return _UNPRINTABLE.sub(_visible, text)


def safe(text: object) -> str:
    """``str(text)`` ready to sit inside a Rich markup string: markup escaped, controls shown."""
    return escape(printable(str(text)))


def _printable_text(text: Text) -> Text:
    """A copy of ``text`` with :func:`printable` applied, its styles kept."""
    if not _UNPRINTABLE.search(text.plain):
        return text
    cuts = sorted({s.start for s in text.spans} | {s.end for s in text.spans})
    out = Text(style=text.style, justify=text.justify, overflow=text.overflow, end=text.end)
    for part in text.divide(cuts):
        style = (
            Style.combine(
                [
                    s.style if isinstance(s.style, Style) else Style.parse(s.style)
                    for s in part.spans
                ]
            )
            if part.spans
            else None
        )
        out.append(printable(part.plain), style=style)
    return out


class SafeConsole(Console):
    """A Rich console that shows control characters as escapes in all it prints.

    Strings are still read as markup when ``markup`` is on (the default): put outside text in
    them through :func:`safe`, or print it as :class:`~rich.text.Text`. Emoji codes are off
    unless asked for, and so is highlighting.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("emoji", False)
        kwargs.setdefault("highlight", False)
        super().__init__(*args, **kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        """Strings (``print``'s arguments, table cells) lose their control characters before
        markup is read; markup itself never contains one."""
        return _printable_text(super().render_str(printable(text), **kwargs))

    def print(self, *objects: Any, **kwargs: Any) -> None:
        """Print as Rich does, with :class:`~rich.text.Text` objects made printable first."""
        cleaned = [_printable_text(o) if isinstance(o, Text) else o for o in objects]
        super().print(*cleaned, **kwargs)

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterator[Segment]:
        """Rich's segments, each one's text made printable (Rich's own control segments, such
        as cursor moves, pass as they are: their codes are not in the text)."""
        if isinstance(renderable, Text):  # before layout, so that widths count the escapes
            renderable = _printable_text(renderable)
        for segment in super().render(renderable, options):
            if segment.control is None and _UNPRINTABLE.search(segment.text):
                yield Segment(printable(segment.text), segment.style)
            else:
                yield segment
