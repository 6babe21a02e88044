"""YAML that remembers where each value was written, and refuses a key written twice.

PyYAML keeps the last of two equal keys silently; in an agreement that would make one of two
rules win without anyone noticing (two values of a parameter for the same date), so here a
repeated key is an error naming both lines. Every value's position is kept by its path (a tuple
of keys and list indexes) so that later errors can point at the line an analyst wrote.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import yaml

from cvid.agreements.errors import PackageError

Path_ = tuple[str | int, ...]


@dataclass
class Located:
    """A parsed YAML document and the (line, column) of every value, both 1-based."""

    file: str
    data: Any
    marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: Path_) -> str:
        """``file:line:col`` of the value at ``path`` or of its nearest located ancestor."""
        p = tuple(path)
        while p and p not in self.marks:
            p = p[:-1]
        line, col = self.marks.get(p, (1, 1))
        return f"{self.file}:{line}:{col}"

    def line(self, path: Path_) -> int:
        """The line of the value at ``path`` (or of its nearest located ancestor)."""
        p = tuple(path)
        while p and p not in self.marks:
            p = p[:-1]
        return self.marks.get(p, (1, 1))[0]


def normalize_key(key: Any) -> Any:
    """Dates and date-times written as keys, as one comparable form (a UTC ISO text).

    A date (``2018-02-05``) is 00:00Z that day. A date-time without a time zone is *not*
    read as UTC: it becomes its ISO text without ``Z``, which equals no instant and which
    :func:`cvid.agreements.model.to_instant` refuses, as it refuses it everywhere else.
    """
    if isinstance(key, dt.datetime):
        if key.tzinfo is None or key.utcoffset() is None:
            return key.isoformat()
        return key.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(key, dt.date):
        return f"{key.isoformat()}T00:00:00Z"
    if isinstance(key, str):
        text = key.strip()
        try:
            if len(text) == 10:
                return normalize_key(dt.date.fromisoformat(text))
            if len(text) > 10:
                return normalize_key(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            return key
    return key


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.marks: dict[Path_, tuple[int, int]] = {}
        self.constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            first: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = self.build_scalar(key_node)
                norm = normalize_key(key)
                line = key_node.start_mark.line + 1
                if norm in first:
                    raise PackageError(
                        f"{self.file}:{line}: key {key!s} is written twice (first at line "
                        f"{first[norm]}); two rules for the same thing must not silently "
                        "override each other"
                    )
                first[norm] = line
                name = key if isinstance(key, str | int) else str(key)
                out[key] = self.build(value_node, (*path, name))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(n, (*path, i)) for i, n in enumerate(node.value)]
        return self.build_scalar(node)

    def build_scalar(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            line = node.start_mark.line + 1
            raise PackageError(f"{self.file}:{line}: a mapping key must be a plain value")
        return self.constructor.construct_object(node, deep=True)


def load_yaml(text: str, file: str) -> Located:
    """Parse one YAML document, keeping positions; :class:`PackageError` if malformed."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark is not None else file
        problem = getattr(exc, "problem", None) or str(exc)
        raise PackageError(f"{where}: not valid YAML: {problem}") from None
    if node is None:
        return Located(file, None)
    builder = _Builder(file)
    try:
        data = builder.build(node, ())
    except yaml.YAMLError as exc:
        raise PackageError(f"{file}: not valid YAML: {exc}".replace("\n", " ")) from None
    return Located(file, data, builder.marks)
