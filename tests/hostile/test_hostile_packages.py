"""Hostile agreement packages (issue 12): YAML bombs and recursion, bad dates and bytes, paths.

``cvid agreement check`` and ``cvid ledger init`` refuse each of them at once with exit 2 and a
message naming the file and line; nothing outside the package is read or printed, and a refused
``ledger init`` leaves nothing behind.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from cvid.agreements.errors import PackageError
from cvid.agreements.yamlsrc import YamlLimitError, check_yaml, load_yaml, package_file
from cvid.errors import LimitError
from cvid.limits import MAX_YAML_ALIASES, MAX_YAML_DEPTH
from kit import ROOT, cvid, ok

NEW_START = ROOT / "examples" / "new-start"

BOMB = "bomb:\n  l0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"  l{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10)
)


@pytest.fixture
def package(tmp_path: Path) -> Path:
    out = tmp_path / "pkg"
    shutil.copytree(NEW_START, out)
    return out


def _append(path: Path, text: str) -> int:
    """Append ``text`` to ``path``; the line number its first line lands on."""
    before = path.read_bytes()
    path.write_bytes(before + text.encode())
    return before.count(b"\n") + 1


def _refused(package: Path, tmp_path: Path, *needles: str) -> None:
    """``agreement check`` and ``ledger init`` both exit 2 saying ``needles``; no ledger left."""
    for args in (
        ("agreement", "check", package),
        ("ledger", "init", tmp_path / "ledger", "--agreement", package),
    ):
        started = time.monotonic()
        result = cvid(*args)
        assert time.monotonic() - started < 10, args
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        for needle in needles:
            assert needle in result.output, (args, result.output)
        assert not (tmp_path / "ledger").exists()


def test_a_recursive_alias_is_refused(package: Path, tmp_path: Path) -> None:
    line = _append(package / "agreement.yaml", "extra: &a [*a]\n")
    _refused(package, tmp_path, f"agreement.yaml:{line}", "inside the value it names")


def test_an_alias_bomb_is_refused_at_once(package: Path, tmp_path: Path) -> None:
    _append(package / "agreement.yaml", BOMB)
    _refused(package, tmp_path, "agreement.yaml:", "once its aliases are expanded")


@pytest.mark.parametrize("levels", [100, 10_000])
def test_deep_nesting_is_refused(package: Path, tmp_path: Path, levels: int) -> None:
    line = _append(package / "agreement.yaml", "extra: " + "[" * levels + "]" * levels + "\n")
    _refused(package, tmp_path, f"agreement.yaml:{line}", f"deeper than {MAX_YAML_DEPTH}")


def test_a_deep_scenario_is_refused(package: Path) -> None:
    scenario = package / "scenarios" / "central-limits.yaml"
    line = _append(scenario, "extra: " + "{a: " * 5_000 + "1" + "}" * 5_000 + "\n")
    result = cvid("agreement", "check", package)
    assert result.exit_code == 2, result.output
    assert f"central-limits.yaml:{line}" in result.output and "deeper than" in result.output


def test_an_invalid_calendar_date_names_its_line(package: Path, tmp_path: Path) -> None:
    _append(package / "agreement.yaml", "extra: 2018-02-30\n")
    _refused(package, tmp_path, "agreement.yaml", "out of range")


def test_non_utf8_files_are_refused(package: Path, tmp_path: Path) -> None:
    line = _append(package / "agreement.yaml", "# caf\xe9\n".replace("\xe9", "") + "x")
    (package / "agreement.yaml").write_bytes(
        (package / "agreement.yaml").read_bytes()[:-1] + b"\xff\xfe\n"
    )
    _refused(package, tmp_path, "agreement.yaml", "not UTF-8")
    fresh = tmp_path / "fresh"
    shutil.copytree(NEW_START, fresh)
    scenario = fresh / "scenarios" / "central-limits.yaml"
    line = _append(scenario, "# x\n")
    scenario.write_bytes(scenario.read_bytes()[:-1] + b"\xc3(\n")
    result = cvid("agreement", "check", fresh)
    assert result.exit_code == 2, result.output
    assert f"central-limits.yaml:{line}: not UTF-8" in result.output


def _import_csv(package: Path, name: str) -> None:
    scenario = package / "scenarios" / "central-limits.yaml"
    text = scenario.read_text()
    assert "csv: data/aggregates.csv" in text
    scenario.write_text(text.replace("csv: data/aggregates.csv", f"csv: {name}"))


@pytest.mark.parametrize("how", ["climb", "absolute", "link"])
def test_an_import_never_reads_outside_the_package(package: Path, tmp_path: Path, how: str) -> None:
    secret = tmp_path / "shadow"
    secret.write_text("root:x:0:0\nSECRET-SECOND-LINE,with,fields\n")
    if how == "climb":
        name = "../" * 6 + str(secret).lstrip("/")
    elif how == "absolute":
        name = str(secret)
    else:
        (package / "data" / "x.csv").symlink_to(secret)
        name = "data/x.csv"
    _import_csv(package, name)
    result = cvid("agreement", "check", package)
    assert result.exit_code == 2, result.output
    assert "SECRET" not in result.output and "root:x" not in result.output
    named = "central-limits.yaml:" in result.output and "import.csv" in result.output
    assert named or "x.csv: a symbolic link" in result.output, result.output


def test_a_mapping_outside_the_package_is_refused(package: Path, tmp_path: Path) -> None:
    scenario = package / "scenarios" / "central-limits.yaml"
    scenario.write_text(
        scenario.read_text().replace("mapping: mapping.yaml", "mapping: ../../mapping.yaml")
    )
    result = cvid("agreement", "check", package)
    assert result.exit_code == 2, result.output
    assert "import.mapping" in result.output and "not a file of the package" in result.output


@pytest.mark.parametrize("link", ["system-file", "parent", "agreement"])
def test_symbolic_links_are_refused_and_init_leaves_nothing(
    package: Path, tmp_path: Path, link: str
) -> None:
    if link == "system-file":
        (package / "data" / "pw.csv").symlink_to("/etc/passwd")
    elif link == "parent":
        (package / "data" / "up").symlink_to("..")
    else:
        real = tmp_path / "real.yaml"
        shutil.move(package / "agreement.yaml", real)
        (package / "agreement.yaml").symlink_to(real)
    _refused(package, tmp_path, "symbolic link")


def test_a_scenario_that_is_a_link_is_refused(package: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("scenarios: []\n")
    (package / "scenarios" / "evil.yaml").symlink_to(outside)
    result = cvid("agreement", "check", package)
    assert result.exit_code == 2, result.output
    assert "evil.yaml" in result.output and "symbolic link" in result.output


def test_the_package_itself_still_checks(package: Path) -> None:
    ok(cvid("agreement", "check", package))


def test_check_yaml_limits() -> None:
    check_yaml("a: &x [1, 2]\nb: *x\n", "f.yaml")
    aliases = "a: &x 1\nb: [" + ", ".join(["*x"] * (MAX_YAML_ALIASES + 1)) + "]\n"
    with pytest.raises(YamlLimitError, match=f"over {MAX_YAML_ALIASES:,} aliases"):
        check_yaml(aliases, "f.yaml")
    with pytest.raises(YamlLimitError, match=r"f\.yaml:2: alias"):
        check_yaml("ok: 1\nx: &a {k: *a}\n", "f.yaml")
    with pytest.raises(PackageError, match=r"f\.yaml:\d+:\d+: not valid YAML"):
        check_yaml("a: [1, 2\n", "f.yaml")
    assert issubclass(YamlLimitError, LimitError)
    expected = {"d": __import__("datetime").date(2018, 2, 28)}
    assert load_yaml("d: 2018-02-28\n", "f.yaml").data == expected


def test_package_file_names() -> None:
    base = Path("/nonexistent/pkg")
    assert package_file(base, "data/a.csv", "w") == base / "data" / "a.csv"
    for bad in ("../a.csv", "/etc/shadow", "data/../../a.csv", "", "data\\..\\a.csv"):
        with pytest.raises(PackageError, match="not a file of the package"):
            package_file(base, bad, "w")
