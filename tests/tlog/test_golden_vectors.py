"""RFC 9162 proofs against the 196 golden vectors of transparency-dev/merkle (in vectors/)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from cvid.errors import VerificationError
from cvid.tlog.merkle import (
    MemoryHashes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

# Copied into the repository (vectors/README.md) from the shared golden vectors.
VECTORS = Path(__file__).resolve().parent / "vectors"
LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]


def _cases(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json"))


def _b(x: str | None) -> bytes:
    return base64.b64decode(x) if x else b""


def _id(p: Path) -> str:
    return str(p.relative_to(VECTORS))


def test_all_196_vectors_are_present() -> None:
    assert len(_cases("inclusion")) + len(_cases("consistency")) == 196


@pytest.mark.parametrize("path", _cases("inclusion"), ids=_id)
def test_inclusion_vector(path: Path) -> None:
    case = json.loads(path.read_text())
    proof = [_b(h) for h in case["proof"] or []]
    try:
        verify_inclusion(
            case["leafIdx"], case["treeSize"], _b(case["leafHash"]), proof, _b(case["root"])
        )
    except VerificationError:
        assert case["wantErr"], f"{case['desc']}: rejected a valid proof"
    else:
        assert not case["wantErr"], f"{case['desc']}: accepted an invalid proof"


@pytest.mark.parametrize("path", _cases("consistency"), ids=_id)
def test_consistency_vector(path: Path) -> None:
    case = json.loads(path.read_text())
    proof = [_b(h) for h in case["proof"] or []]
    try:
        verify_consistency(
            case["size1"], case["size2"], _b(case["root1"]), _b(case["root2"]), proof
        )
    except VerificationError:
        assert case["wantErr"], f"{case['desc']}: rejected a valid proof"
    else:
        assert not case["wantErr"], f"{case['desc']}: accepted an invalid proof"


def test_generated_proofs_match_happy_path_vectors() -> None:
    """Our generator produces exactly the proofs of the golden happy-path cases."""
    tree = MemoryHashes([leaf_hash(x) for x in LEAVES])
    assert tree.root().hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    checked = 0
    for path in _cases("inclusion"):
        case = json.loads(path.read_text())
        if case["desc"] != "happy path" or case["treeSize"] > len(LEAVES):
            continue
        prefix = MemoryHashes([leaf_hash(x) for x in LEAVES[: case["treeSize"]]])
        got = inclusion_proof(case["leafIdx"], case["treeSize"], prefix)
        assert got == [_b(h) for h in case["proof"] or []], path.name
        checked += 1
    for path in _cases("consistency"):
        case = json.loads(path.read_text())
        if case["desc"] != "happy path" or case["size2"] > len(LEAVES):
            continue
        got = consistency_proof(
            case["size1"],
            case["size2"],
            MemoryHashes([leaf_hash(x) for x in LEAVES[: case["size2"]]]),
        )
        assert got == [_b(h) for h in case["proof"] or []], path.name
        checked += 1
    assert checked >= 8
