"""The tlog package is pure: no module of it reads or writes a file or opens a connection.

Storage and transport are adapters around it (``cvid.keyfiles``, ``cvid.transport``,
``cvid.store``); this test fails when I/O creeps back into the math.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import cvid.tlog

TLOG = Path(cvid.tlog.__file__).parent
IO_MODULES = {"os", "io", "shutil", "socket", "sqlite3", "httpx", "urllib", "tempfile"}
IO_CALLS = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "mkdir", "unlink"}


def _io_in(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            found += [f"line {node.lineno}: import {n}" for n in names if n in IO_MODULES]
        elif isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else getattr(f, "attr", "")
            if name in IO_CALLS:
                found.append(f"line {node.lineno}: {name}()")
    return found


@pytest.mark.parametrize("module", sorted(p.name for p in TLOG.glob("*.py")))
def test_no_io_in(module: str) -> None:
    assert _io_in(TLOG / module) == []


def test_the_check_sees_io() -> None:
    # The checker itself must catch what it is for, or the test above proves nothing.
    sample = TLOG.parent / "keyfiles.py"
    assert any("import os" in f for f in _io_in(sample))
    assert any("read_text()" in f for f in _io_in(sample))
