"""CEL conditions: declared variables, compiled and type-checked once, evaluated many times.

Conditions are compiled with Google's ``cel-expr-python`` when a package loads. Every variable
a condition may use is declared with its type, so a misspelt name or a comparison of a number
with a text is an error at load, naming the file, the term and the position in the expression.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cel_expr_python import cel

from cvid.agreements.errors import PackageError

_ENVS: dict[tuple[tuple[str, str], ...], Any] = {}

#: The CEL types conditions use, by the name this module gives them.
TYPES: Mapping[str, Any] = {
    "double": cel.Type.DOUBLE,
    "bool": cel.Type.BOOL,
    "string": cel.Type.STRING,
    "timestamp": cel.Type.TIMESTAMP,
    "map(string, dyn)": cel.Type.Map(cel.Type.STRING, cel.Type.DYN),
    "map(string, double)": cel.Type.Map(cel.Type.STRING, cel.Type.DOUBLE),
    "map(string, string)": cel.Type.Map(cel.Type.STRING, cel.Type.STRING),
}

_ERROR = re.compile(r"<input>:(\d+):(\d+): (.*?)(?:\n|$)")


def _env(variables: Mapping[str, str]) -> Any:
    key = tuple(sorted(variables.items()))
    env = _ENVS.get(key)
    if env is None:
        env = cel.NewEnv(variables={name: TYPES[t] for name, t in variables.items()})
        _ENVS[key] = env
    return env


class ConditionError(Exception):
    """A condition that fails when evaluated (a missing key, a division by zero)."""


@dataclass(frozen=True)
class Ref:
    """How a condition uses one of the map variables it may read (``status``, ``params``).

    ``how`` is ``key`` (``status["x/A"]``, ``params.cap``, ``has(params.cap)``,
    ``"cap" in params``: ``text`` is the key), ``compare`` (a text literal compared with an
    entry, ``status["x/A"] == "met_verified"`` or ``... in ["a", "b"]``: ``text`` is the
    literal) or ``other`` (any other use: a computed key, an iteration, the whole map).
    ``line`` and ``column`` (1-based) are where in the expression.
    """

    variable: str
    how: str
    text: str | None
    line: int
    column: int


@dataclass(frozen=True)
class Condition:
    """A compiled, type-checked CEL condition returning ``bool``.

    ``uses`` is the set of declared variables the expression mentions, so that callers bind
    only those (building a variable nobody reads costs time on every evaluation). ``refs`` is
    how it reads the map variables ``status`` and ``params`` (found by walking the checked
    expression, so keys written with escapes or as ``params.cap`` are seen as CEL sees them).
    """

    source: str
    uses: frozenset[str]
    _expr: Any
    refs: tuple[Ref, ...] = ()

    def __call__(self, data: Mapping[str, Any]) -> bool:
        """Evaluate with ``data`` (at least the variables in :attr:`uses`).

        Raises :class:`ConditionError` with CEL's message if evaluation fails, also when it
        is stopped: a comprehension over CEL's iteration budget (the caller makes the term
        ``unknown`` with this explanation, never a crash).
        """
        try:
            result = self._expr.eval(data=data)
        except RuntimeError as exc:  # cel-expr-python raises, e.g., "Iteration budget exceeded"
            raise ConditionError(_stopped(str(exc))) from None
        if result.type() == cel.Type.ERROR:
            raise ConditionError(str(result.value()))
        return bool(result.value())


def _stopped(message: str) -> str:
    text = " ".join(message.replace("[INTERNAL]", "").split()).removeprefix("INTERNAL: ")
    if "budget" in text.lower():
        return f"evaluation stopped: {text.lower()} (a comprehension over too many elements)"
    return f"evaluation stopped: {text}"


def compile_condition(source: str, variables: Mapping[str, str], where: str) -> Condition:
    """Compile ``source`` with the declared ``variables`` (name → type name of :data:`TYPES`).

    ``where`` names the place for errors (``agreement.yaml:57: term 'x' condition``). Raises
    :class:`PackageError` naming it, the line and column in the expression, CEL's message and
    the expression with a caret; also when the result is not ``bool``.
    """
    env = _env(variables)
    try:
        expr = env.compile(source)
    except RuntimeError as exc:
        raise PackageError(_describe(str(exc), source, where, variables)) from None
    rtype = expr.return_type()
    if rtype != cel.Type.BOOL:
        raise PackageError(
            f"{where}: the condition {source!r} gives {rtype.name().lower()}, not bool"
        )
    try:
        idents, refs = _walk_checked(expr.serialize(), source, variables)
    except (ValueError, IndexError) as exc:  # pragma: no cover - a change of cel-expr-python
        raise PackageError(f"{where}: cannot read the compiled {source!r}: {exc}") from None
    return Condition(source, frozenset(idents & variables.keys()), expr, tuple(refs))


# -- the checked expression ------------------------------------------------------------------
#
# cel-expr-python exposes the checked expression only serialized: a google.protobuf.Any holding
# a cel.expr.CheckedExpr. The few fields read here (cel/expr/checked.proto, syntax.proto) are
# decoded from the protobuf wire format directly.

#: Map variables whose uses are collected as :class:`Ref`.
MAPS = frozenset({"status", "params"})
_INDEX = ("_[_]", "_[?_]")
_EQUALITY = ("_==_", "_!=_")


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    out = shift = 0
    while True:
        b = buf[i]
        i += 1
        out |= (b & 0x7F) << shift
        if not b & 0x80:
            return out, i
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """``(field number, value)`` of a protobuf message: an int (varint) or bytes."""
    i, n = 0, len(buf)
    while i < n:
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i : i + 8], i + 8
        elif wire == 2:
            size, i = _varint(buf, i)
            value, i = buf[i : i + size], i + size
        elif wire == 5:
            value, i = buf[i : i + 4], i + 4
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}")
        if i > n:
            raise ValueError("truncated protobuf message")
        yield num, value


def _message(buf: bytes) -> dict[int, list[int | bytes]]:
    out: dict[int, list[int | bytes]] = {}
    for num, value in _fields(buf):
        out.setdefault(num, []).append(value)
    return out


def _bytes(msg: dict[int, list[int | bytes]], num: int) -> bytes | None:
    got = msg.get(num)
    if not got:
        return None
    value = got[-1]
    if not isinstance(value, bytes):
        raise ValueError(f"field {num} is not length-delimited")
    return value


def _text(msg: dict[int, list[int | bytes]], num: int) -> str | None:
    value = _bytes(msg, num)
    return None if value is None else value.decode("utf-8")


@dataclass
class _Node:
    id: int
    kind: str  # const, ident, select, call, list, struct, comprehension, other
    name: str | None = None  # ident name, select field, call function
    text: str | None = None  # a string constant
    children: tuple[_Node, ...] = ()
    test_only: bool = False
    bound: tuple[str, ...] = ()  # comprehension variables
    parts: tuple[_Node | None, ...] = ()  # comprehension: range, init, condition, step, result


def _node(buf: bytes) -> _Node:
    msg = _message(buf)
    ident = msg.get(2, [0])[-1]
    nid = ident if isinstance(ident, int) else 0
    if (raw := _bytes(msg, 3)) is not None:
        return _Node(nid, "const", text=_text(_message(raw), 6))
    if (raw := _bytes(msg, 4)) is not None:
        return _Node(nid, "ident", name=_text(_message(raw), 1))
    if (raw := _bytes(msg, 5)) is not None:
        sel = _message(raw)
        operand = _bytes(sel, 1)
        return _Node(
            nid,
            "select",
            name=_text(sel, 2),
            children=(_node(operand),) if operand is not None else (),
            test_only=bool(sel.get(3, [0])[-1]),
        )
    if (raw := _bytes(msg, 6)) is not None:
        call = _message(raw)
        target = _bytes(call, 1)
        args = [a for a in call.get(3, []) if isinstance(a, bytes)]
        kids = ([_node(target)] if target is not None else []) + [_node(a) for a in args]
        return _Node(nid, "call", name=_text(call, 2), children=tuple(kids))
    if (raw := _bytes(msg, 7)) is not None:
        elems = [e for e in _message(raw).get(1, []) if isinstance(e, bytes)]
        return _Node(nid, "list", children=tuple(_node(e) for e in elems))
    if (raw := _bytes(msg, 8)) is not None:
        kids = []
        for entry in _message(raw).get(2, []):
            if isinstance(entry, bytes):
                e = _message(entry)
                kids += [_node(b) for b in (_bytes(e, 3), _bytes(e, 4)) if b is not None]
        return _Node(nid, "struct", children=tuple(kids))
    if (raw := _bytes(msg, 9)) is not None:
        c = _message(raw)
        bound = tuple(v for v in (_text(c, 1), _text(c, 3), _text(c, 8)) if v)
        parts = tuple(
            _node(b) if (b := _bytes(c, k)) is not None else None for k in (2, 4, 5, 6, 7)
        )
        return _Node(nid, "comprehension", bound=bound, parts=parts)
    return _Node(nid, "other")


def _walk_checked(
    data: bytes, source: str, variables: Mapping[str, str]
) -> tuple[set[str], list[Ref]]:
    """The declared names a checked expression reads, and how it reads ``status``/``params``."""
    checked = _bytes(_message(data), 2)  # google.protobuf.Any.value
    if checked is None:
        raise ValueError("no checked expression")
    top = _message(checked)
    root = _bytes(top, 4)
    if root is None:
        raise ValueError("no expression")
    positions: dict[int, int] = {}
    info = _bytes(top, 5)
    for entry in _message(info).get(4, []) if info is not None else []:
        if isinstance(entry, bytes):
            e = _message(entry)
            k, v = e.get(1, [0])[-1], e.get(2, [0])[-1]
            if isinstance(k, int) and isinstance(v, int):
                positions[k] = v

    def at(node: _Node) -> tuple[int, int]:
        off = positions.get(node.id, 0)
        line = source.count("\n", 0, off) + 1
        return line, off - (source.rfind("\n", 0, off) + 1) + 1

    idents: set[str] = set()
    refs: list[Ref] = []

    def var(node: _Node | None, shadow: frozenset[str]) -> str | None:
        if node is None or node.kind != "ident" or node.name not in MAPS:
            return None
        return node.name if node.name not in shadow and node.name in variables else None

    def ref(variable: str, how: str, text: str | None, node: _Node) -> None:
        refs.append(Ref(variable, how, text, *at(node)))

    def indexed(node: _Node, shadow: frozenset[str]) -> str | None:
        """The map variable ``node`` indexes (``status[...]``), if it does."""
        if node.kind == "call" and node.name in _INDEX and len(node.children) == 2:
            return var(node.children[0], shadow)
        return None

    def walk(node: _Node | None, shadow: frozenset[str]) -> None:
        if node is None:
            return
        if node.kind == "ident":
            if node.name is not None and node.name not in shadow:
                idents.add(node.name)
                if var(node, shadow):
                    ref(node.name, "other", None, node)
            return
        if node.kind == "comprehension":
            rng, init, cond, step, result = node.parts
            walk(rng, shadow)
            walk(init, shadow)
            inner = shadow | set(node.bound)
            for part in (cond, step, result):
                walk(part, inner)
            return
        kids = node.children
        if node.kind == "select" and kids and (v := var(kids[0], shadow)):
            idents.add(v)
            ref(v, "key", node.name, node)
            return
        if node.kind == "call" and len(kids) == 2:
            if (v := indexed(node, shadow)) is not None:
                idents.add(v)
                key = kids[1]
                if key.kind == "const" and key.text is not None:
                    ref(v, "key", key.text, key)
                else:
                    ref(v, "other", None, node)
                    walk(key, shadow)
                return
            if node.name == "@in" and (v := var(kids[1], shadow)):
                idents.add(v)
                if kids[0].kind == "const" and kids[0].text is not None:
                    ref(v, "key", kids[0].text, kids[0])
                else:
                    ref(v, "other", None, node)
                    walk(kids[0], shadow)
                return
            compared = [(a, b) for a, b in (kids, kids[::-1]) if indexed(a, shadow)]
            for entry, other in compared:
                v = indexed(entry, shadow)
                assert v is not None
                if node.name in _EQUALITY and other.kind == "const" and other.text is not None:
                    ref(v, "compare", other.text, other)
                if node.name == "@in" and entry is kids[0] and other.kind == "list":
                    for lit in other.children:
                        if lit.kind == "const" and lit.text is not None:
                            ref(v, "compare", lit.text, lit)
        for kid in kids:
            walk(kid, shadow)
        for part in node.parts:
            walk(part, shadow)

    walk(_node(root), frozenset())
    return idents, refs


def _describe(message: str, source: str, where: str, variables: Mapping[str, str]) -> str:
    m = _ERROR.search(message)
    if m is None:
        return f"{where}: condition {source!r}: {message}"
    line, col, what = int(m.group(1)), int(m.group(2)), m.group(3)
    text_lines = source.split("\n")
    shown = text_lines[line - 1] if 0 < line <= len(text_lines) else source
    hint = ""
    if "applied to '(double, int)'" in what or "applied to '(int, double)'" in what:
        hint = " (numbers are doubles in conditions: write 1550.0, not 1550)"
    if "undeclared reference" in what:
        hint = f" (declared: {', '.join(sorted(variables))})"
    return (
        f"{where}, expression line {line} column {col}: {what}{hint}\n"
        f"    {shown}\n    {' ' * (col - 1)}^"
    )
