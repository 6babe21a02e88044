"""YAML that remembers where each value was written, and refuses a key written twice.

PyYAML keeps the last of two equal keys silently; in an agreement that would make one of two
rules win without anyone noticing (two values of a parameter for the same date), so here a
repeated key is an error naming both lines. Every value's position is kept by its path (a tuple
of keys and list indexes) so that later errors can point at the line an analyst wrote.

Every YAML file from outside is read within limits (:func:`check_yaml`, figures in
:mod:`cvid.limits`): its size, how deep it nests, how many aliases it uses and how many values it
holds once they are expanded, so that an alias bomb ("billion laughs"), a recursive alias
(``a: &a [*a]``) or ten thousand nested brackets are refused in milliseconds with the line,
never a hang or a ``RecursionError``. A value that is no valid YAML scalar (``2018-02-30``, an
offset that moves an instant past year 9999) is an error naming its line.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from cvid.agreements.errors import PackageError
from cvid.errors import LimitError, describe_yaml
from cvid.limits import (
    MAX_YAML_ALIASES,
    MAX_YAML_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
)

Path_ = tuple[str | int, ...]

#: The most bytes of a table (CSV) a package's scenario imports.
MAX_TABLE_BYTES = 64 * 1024 * 1024


def package_file(package_dir: Path, name: str, where: str) -> Path:
    """The file ``name`` (relative, POSIX) of the package folder ``package_dir``.

    :class:`PackageError` naming ``where`` for a name that is absolute, climbs out with ``..``
    or passes through a symbolic link: a package's files never resolve outside its folder.
    """
    rel = PurePosixPath(name)
    if not name.strip() or rel.is_absolute() or "\\" in name or ".." in rel.parts:
        raise PackageError(
            f"{where}: {name!r} is not a file of the package (name it relative to the package "
            "folder, without '..')"
        )
    path = package_dir
    for part in rel.parts:
        path = path / part
        if path.is_symlink():
            raise PackageError(
                f"{where}: {name!r} is a symbolic link; a package's files must be in its folder"
            )
    return path


def read_package_bytes(path: Path, max_bytes: int = MAX_TABLE_BYTES) -> bytes:
    """The bytes of a package's regular file ``path``, never through a symbolic link;
    :class:`PackageError` naming it if it is missing, a link or over ``max_bytes``."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if path.is_symlink():
            raise PackageError(
                f"{path}: a symbolic link; a package's files must be in its folder"
            ) from None
        raise PackageError(f"cannot read {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise PackageError(f"{path}: not a regular file")
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise LimitError(f"{path}: over the limit of {max_bytes:,} bytes")
    return data


def read_package_text(path: Path, max_bytes: int = MAX_YAML_BYTES) -> str:
    """:func:`read_package_bytes` as UTF-8 text; :class:`PackageError` if it is not UTF-8."""
    data = read_package_bytes(path, max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise PackageError(f"{path}:{line}: not UTF-8 text (byte {exc.start})") from None


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
        if not 1 < key.year < 9999:  # an offset could move it past year 1 or 9999
            return key.isoformat()  # which to_instant refuses: out of range
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


class YamlLimitError(PackageError, LimitError):
    """A YAML file over a limit (size, depth, aliases, values): a package error, exit 2."""


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.marks: dict[Path_, tuple[int, int]] = {}
        self.constructor = yaml.SafeLoader("")
        self.nodes = 0

    def build(self, node: yaml.Node, path: Path_) -> Any:
        # check_yaml has bounded the document; these guard a node graph built some other way.
        self.nodes += 1
        if self.nodes > MAX_YAML_NODES or len(path) > MAX_YAML_DEPTH:
            line = node.start_mark.line + 1
            raise YamlLimitError(f"{self.file}:{line}: {_too_much(len(path), self.nodes)}")
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
        try:
            return self.constructor.construct_object(node, deep=True)
        except (ValueError, OverflowError) as exc:
            # PyYAML reads 2018-02-30 as a timestamp and fails building it.
            line, col = node.start_mark.line + 1, node.start_mark.column + 1
            raise PackageError(
                f"{self.file}:{line}:{col}: {_shown(node.value)} is not a valid value: {exc}"
            ) from None


def _shown(value: Any, most: int = 60) -> str:
    text = str(value)
    return repr(text if len(text) <= most else text[:most] + "...")


def _too_much(depth: int, nodes: int) -> str:
    if depth > MAX_YAML_DEPTH:
        return f"nested deeper than {MAX_YAML_DEPTH} levels (or an alias that contains itself)"
    return f"holds over {MAX_YAML_NODES:,} values once its aliases are expanded"


_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def check_yaml(text: str, file: str) -> None:
    """Refuse YAML over the limits, reading its events only (libyaml's parser when present).

    :class:`YamlLimitError` for over :data:`~cvid.limits.MAX_YAML_BYTES`, nesting deeper than
    :data:`~cvid.limits.MAX_YAML_DEPTH`, over :data:`~cvid.limits.MAX_YAML_ALIASES` aliases,
    an alias inside the value it names, or over :data:`~cvid.limits.MAX_YAML_NODES` values
    once aliases are expanded; :class:`PackageError` for YAML that does not parse.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_YAML_BYTES:
        raise YamlLimitError(f"{file}: {size:,} bytes, over the limit of {MAX_YAML_BYTES:,}")
    sizes: dict[str, int] = {}  # anchor -> values it expands to
    open_: list[list[Any]] = []  # [anchor, values so far] of each collection being read
    aliases = 0
    total = 0

    def add(n: int, mark: Any) -> None:
        nonlocal total
        if open_:
            open_[-1][1] += n
            count = open_[-1][1]
        else:
            total += n
            count = total
        if count > MAX_YAML_NODES or total > MAX_YAML_NODES:
            raise YamlLimitError(f"{file}:{mark.line + 1}: {_too_much(0, count)}")

    try:
        for event in yaml.parse(text, Loader=_FAST_LOADER):
            mark: Any = event.start_mark
            if isinstance(event, yaml.ScalarEvent):
                if event.anchor is not None:
                    sizes[event.anchor] = 1
                add(1, mark)
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_YAML_ALIASES:
                    raise YamlLimitError(
                        f"{file}:{mark.line + 1}: over {MAX_YAML_ALIASES:,} aliases"
                    )
                if any(o[0] == event.anchor for o in open_):
                    raise YamlLimitError(
                        f"{file}:{mark.line + 1}: alias *{event.anchor} is inside the value it "
                        "names (a recursive structure)"
                    )
                add(sizes.get(str(event.anchor), 1), mark)
            elif isinstance(event, yaml.CollectionStartEvent):
                open_.append([event.anchor, 1])
                if len(open_) > MAX_YAML_DEPTH:
                    raise YamlLimitError(f"{file}:{mark.line + 1}: {_too_much(len(open_), 0)}")
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, n = open_.pop()
                if anchor is not None:
                    sizes[anchor] = n
                add(n, mark)
    except yaml.YAMLError as exc:
        raise PackageError(describe_yaml(exc, file)) from None


def safe_load(text: str, file: str) -> Any:
    """``yaml.safe_load`` of ``text`` (libyaml's when present) within the limits of
    :func:`check_yaml`; :class:`PackageError` naming ``file`` and the line if it is malformed.
    For YAML whose positions nobody needs (:func:`load_yaml` keeps them)."""
    check_yaml(text, file)
    try:
        return yaml.load(text, Loader=_FAST_LOADER)
    except yaml.YAMLError as exc:
        raise PackageError(describe_yaml(exc, file)) from None
    except (ValueError, OverflowError) as exc:
        raise PackageError(f"{file}: not a valid value: {exc}") from None


def load_yaml(text: str, file: str) -> Located:
    """Parse one YAML document, keeping positions; :class:`PackageError` if malformed or over
    the limits of :func:`check_yaml`."""
    check_yaml(text, file)
    try:
        node = yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.YAMLError as exc:
        raise PackageError(describe_yaml(exc, file)) from None
    if node is None:
        return Located(file, None)
    builder = _Builder(file)
    try:
        data = builder.build(node, ())
    except yaml.YAMLError as exc:
        raise PackageError(f"{file}: not valid YAML: {exc}".replace("\n", " ")) from None
    return Located(file, data, builder.marks)
