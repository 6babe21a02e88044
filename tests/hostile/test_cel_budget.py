"""A CEL condition over its iteration budget (issue 12): the term is ``unknown`` with the reason,
never a crash of ``status`` or ``agreement check``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cvid.agreements.cel import ConditionError, compile_condition
from kit import ROOT, cvid

SINGAPORE = ROOT / "examples" / "singapore-2018"
HUNDRED = "[" + ",".join(["1"] * 100) + "]"
#: 100^4 iterations: far over cel-expr-python's budget.
HUGE = f"{HUNDRED}.all(a, {HUNDRED}.all(b, {HUNDRED}.all(c, {HUNDRED}.all(d, true))))"


def test_a_condition_over_the_budget_fails_as_a_condition() -> None:
    cond = compile_condition(HUGE, {}, "test condition")
    with pytest.raises(ConditionError, match="evaluation stopped: iteration budget exceeded"):
        cond({})
    assert compile_condition(f"{HUNDRED}.all(a, a == 1)", {}, "small")({}) is True


def test_a_term_whose_condition_is_over_the_budget_is_unknown(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    shutil.copytree(SINGAPORE, package)
    path = package / "agreement.yaml"
    text = path.read_text()
    assert "condition: value > 0.0\n" in text
    path.write_text(text.replace("condition: value > 0.0\n", f"condition: value > 0.0 && {HUGE}\n"))
    result = cvid("agreement", "check", package)
    # The scenarios expected the term met: they now fail (exit 1, a finding), saying why.
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "term repatriate-identified-remains KP: expected met_verified, got unknown" in (
        result.output
    )
    assert "evaluation stopped: iteration budget exceeded" in result.output
