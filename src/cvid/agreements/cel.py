"""CEL conditions: declared variables, compiled and type-checked once, evaluated many times.

Conditions are compiled with Google's ``cel-expr-python`` when a package loads. Every variable
a condition may use is declared with its type, so a misspelt name or a comparison of a number
with a text is an error at load, naming the file, the term and the position in the expression.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


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
class Condition:
    """A compiled, type-checked CEL condition returning ``bool``.

    ``uses`` is the set of declared variables the expression mentions, so that callers bind
    only those (building a variable nobody reads costs time on every evaluation).
    """

    source: str
    uses: frozenset[str]
    _expr: Any

    def __call__(self, data: Mapping[str, Any]) -> bool:
        """Evaluate with ``data`` (at least the variables in :attr:`uses`).

        Raises :class:`ConditionError` with CEL's message if evaluation fails.
        """
        result = self._expr.eval(data=data)
        if result.type() == cel.Type.ERROR:
            raise ConditionError(str(result.value()))
        return bool(result.value())


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
    return Condition(source, _uses(source, variables), expr)


def _uses(source: str, variables: Mapping[str, str]) -> frozenset[str]:
    bare = _STRING.sub("", source)
    return frozenset(m for m in _IDENT.findall(bare) if m in variables)


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
