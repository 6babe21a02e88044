"""The agreement package loader, the published schema and the public surface."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from evidence_kit import World

import cvid.evidence
from cvid.errors import InputError
from cvid.evidence import Role, load_parties, package_sha256, record_schema

ROOT = Path(__file__).resolve().parents[2]


def test_the_loader_ignores_terms_and_other_keys(world: World) -> None:
    parties = load_parties(world.package)
    assert parties.id == "new-start"
    assert [p.id for p in parties.parties] == ["US", "RU", "OSINT"]
    assert Role.INSPECTORATE in parties.parties[0].roles
    assert [k.party for k in parties.keys] == ["US", "US", "RU"]
    assert parties.keys[0].may_manage_keys and not parties.keys[1].may_manage_keys


def edit(package: Path, change: dict[str, object]) -> None:
    path = package / "agreement.yaml"
    doc = yaml.safe_load(path.read_text())
    doc.update(change)
    path.write_text(yaml.safe_dump(doc))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"parties": [{"id": "US", "name": "US", "roles": ["judge"]}]}, "parties.0.roles.0"),
        ({"parties": [{"id": "US", "name": "US", "roles": ["observer"]}] * 2}, "appear twice"),
        ({"keys": [{"party": "FR", "vkey": "x", "kinds": ["notice"]}]}, "unknown party 'FR'"),
        ({"keys": [{"party": "US", "vkey": "a+b+c", "kinds": ["notice"]}]}, "keys[1]"),
        ({"title": None}, "title"),
    ],
)
def test_malformed_packages_are_refused(
    world: World, change: dict[str, object], message: str
) -> None:
    edit(world.package, change)
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace(".", r"\.")):
        load_parties(world.package)


def test_missing_and_unparsable_packages(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read agreement package"):
        load_parties(tmp_path)
    (tmp_path / "agreement.yaml").write_text("id: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_parties(tmp_path)


def test_package_hash_depends_on_content_not_location(world: World, tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere"
    shutil.copytree(world.package, copy)
    (copy / ".git").mkdir()
    (copy / ".git" / "HEAD").write_text("ignored")
    assert package_sha256(copy) == package_sha256(world.package)
    (copy / "terms").mkdir()
    (copy / "terms" / "limits.yaml").write_text("limit: 1550\n")
    assert package_sha256(copy) != package_sha256(world.package)


def test_the_published_schema_is_the_models() -> None:
    published = (ROOT / "docs" / "evidence.schema.json").read_text(encoding="utf-8")
    assert published == json.dumps(record_schema(), indent=2, ensure_ascii=False) + "\n"
    schema = json.loads(published)
    assert schema["additionalProperties"] is False
    assert {"agreement", "kind", "subject", "observed_at", "reported_at"} <= set(schema["required"])


def test_the_public_surface_is_sorted_and_complete() -> None:
    names = cvid.evidence.__all__
    # Ruff's RUF022 (isort-style) order, as every face keeps it: CONSTANTS, Classes, functions.
    assert names == sorted(
        names, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n)
    )
    for name in ("Record", "Kind", "Quantity", "Source", "Attachment", "KeyGrant", "Ledger"):
        assert name in names
    for name in ("sign_record", "verify_record", "canonical", "load_parties", "convert"):
        assert callable(getattr(cvid.evidence, name))
    # A lazy face lists its names before they are imported: dir(), not vars(). Submodules
    # bound by being imported are not its surface, but one it names is (ledgerdb).
    public = {
        n
        for n in dir(cvid.evidence)
        if not n.startswith("_")
        and n != "TYPE_CHECKING"
        and (n in names or not isinstance(getattr(cvid.evidence, n), ModuleType))
    }
    assert public == set(names)


def test_every_admission_check_is_documented_and_tested() -> None:
    from cvid.evidence.admission import CHECKS

    ledger_doc = (ROOT / "docs" / "ledger.md").read_text(encoding="utf-8")
    tests = (Path(__file__).parent / "test_ledger_admission.py").read_text(encoding="utf-8")
    for check in CHECKS:
        assert f"| `{check}` |" in ledger_doc, check
        assert f'"{check}"' in tests, check
    sources = "".join(p.read_text() for p in (ROOT / "src" / "cvid" / "evidence").glob("*.py"))
    assert all(f'"{c}"' in sources for c in CHECKS)
