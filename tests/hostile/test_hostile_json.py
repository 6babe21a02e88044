"""Hostile JSON (issue 12): nesting a thousand levels deep, oversized documents.

Every command where JSON enters refuses them with exit 2 and a message naming the file and the
limit, instead of a ``RecursionError`` traceback; and nothing is admitted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cvid.errors import InputError, LimitError
from cvid.limits import MAX_JSON_DEPTH, JSONLimitError, json_depth, parse_json
from kit import ROOT, cvid, ok

NEW_START = ROOT / "examples" / "new-start"


def _deep(levels: int, inner: str = "1") -> str:
    return "[" * levels + inner + "]" * levels


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("hostile-json") / "ledger"
    ok(cvid("ledger", "init", where, "--agreement", NEW_START))
    return where


@pytest.mark.parametrize("levels", [1_000, 100_000])
@pytest.mark.parametrize("shape", ["array", "object"])
def test_submit_refuses_deep_json(ledger: Path, tmp_path: Path, levels: int, shape: str) -> None:
    deep = _deep(levels) if shape == "array" else '{"a":' * levels + "1" + "}" * levels
    record = tmp_path / "deep.json"
    record.write_text(deep)
    before = cvid("ledger", "info", ledger, "--json")
    result = cvid("submit", ledger, record)
    assert result.exit_code == 2, result.output
    assert "deep.json" in result.output
    assert f"deeper than {MAX_JSON_DEPTH} levels" in result.output
    assert "Traceback" not in result.output
    assert (
        json.loads(cvid("ledger", "info", ledger, "--json").output)["size"]
        == json.loads(before.output)["size"]
    )


def test_submit_refuses_a_deep_line_of_a_batch(ledger: Path, tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n" + _deep(2_000) + '\n{"v": 1}\n')
    result = cvid("submit", ledger, batch)
    assert result.exit_code == 2, result.output
    assert "batch.jsonl" in result.output and "deeper than" in result.output


def test_evidence_sign_refuses_deep_json(tmp_path: Path) -> None:
    ok(cvid("key", "new", "US", "--out", tmp_path / "us.key"))
    (tmp_path / "deep.json").write_text(_deep(5_000))
    result = cvid("evidence", "sign", tmp_path / "deep.json", "--key", tmp_path / "us.key")
    assert result.exit_code == 2, result.output
    assert "deep.json" in result.output and "deeper than" in result.output


def test_verdict_verify_refuses_deep_json(ledger: Path, tmp_path: Path) -> None:
    (tmp_path / "v.json").write_text(_deep(5_000, '{"format": "cvid-verdict/1"}'))
    result = cvid("verdict", "verify", tmp_path / "v.json", "--log", ledger)
    assert result.exit_code == 2, result.output
    assert "v.json" in result.output and "deeper than" in result.output


def test_the_loader_refuses_over_the_depth_and_size_limits() -> None:
    assert parse_json(_deep(MAX_JSON_DEPTH)) is not None
    with pytest.raises(JSONLimitError, match="deeper than"):
        parse_json(_deep(MAX_JSON_DEPTH + 1))
    with pytest.raises(JSONLimitError, match="over the limit of 10"):
        parse_json(b'"' + b"x" * 20 + b'"', "body", max_bytes=10)
    # Both an InputError (exit 2) and a ValueError (callers report it with its place).
    assert issubclass(JSONLimitError, LimitError) and issubclass(JSONLimitError, ValueError)
    assert issubclass(LimitError, InputError)


def test_depth_is_measured_without_recursion() -> None:
    value: list[object] = []
    node = value
    for _ in range(50_000):
        child: list[object] = []
        node.append(child)
        node = child
    assert json_depth(value) == 50_001
    assert json_depth({"a": [1, {"b": 2}], "c": 3}) == 3
    assert json_depth(7) == 0
