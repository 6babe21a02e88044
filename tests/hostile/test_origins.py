"""Control and other non-printable characters in a log's origin (issue 12): refused where the
origin enters (``cvid log init --origin``, any note key name), so that no log is made whose
checkpoints carry them. An agreement id (the origin of a ledger) is refused alike
(tests/hostile/test_package_ranges.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cvid.errors import FormatError
from cvid.tlog.note import Signer, check_key_name
from kit import cvid, ok

BAD = ["ex\x1b[31mample.org/log", "example.org/\x00log", "example.org/\u200blog", "log\x7f"]


@pytest.mark.parametrize("origin", BAD)
def test_log_init_refuses_an_origin_with_a_control_character(tmp_path: Path, origin: str) -> None:
    result = cvid("log", "init", tmp_path / "log", "--origin", origin)
    assert result.exit_code == 2, result.output
    assert "non-printable character" in result.output
    assert "\x1b" not in result.output and "\x00" not in result.output
    assert not (tmp_path / "log").exists()


@pytest.mark.parametrize("origin", BAD)
def test_a_key_name_with_a_control_character_is_a_format_error(origin: str) -> None:
    with pytest.raises(FormatError, match="non-printable"):
        check_key_name(origin)
    with pytest.raises(FormatError):
        Signer.generate(origin)


def test_a_printable_origin_still_makes_a_log(tmp_path: Path) -> None:
    check_key_name("example.org/log/ünïcode")
    ok(cvid("log", "init", tmp_path / "log", "--origin", "example.org/log"))
