"""Properties of the log core, for random trees: proofs verify, and any one-bit change fails.

Hypothesis draws tree sizes, indices and batch splits; expectations come from a second
implementation where there is one (``MemoryHashes`` and ``root_of`` against ``TreeEdge`` and
tiles), and every tamper check flips each bit of the thing it tampers with, not a sample.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cvid.errors import Error, FormatError, InputError, VerificationError
from cvid.tlog import note
from cvid.tlog.checkpoint import Checkpoint, sign_checkpoint
from cvid.tlog.edge import TreeEdge
from cvid.tlog.merkle import (
    MemoryHashes,
    Node,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_of,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)
from cvid.tlog.receipt import Receipt, verify_receipt
from cvid.tlog.tiles import TILE_WIDTH, Tile, TileHashReader, parse_path, split_hashes

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SIGNER = note.Signer("example.com/log", bytes(range(32)))
OTHER = note.Signer("example.com/log", bytes(range(1, 33)))


def entries_for(size: int, salt: int = 0) -> list[bytes]:
    """Distinct entries of varied lengths (the empty entry at index 0 when salt=0)."""
    return [b"" if i == salt == 0 else b"e%d-%d" % (salt, i) + b"." * (i % 7) for i in range(size)]


def bit_flips(data: bytes) -> list[bytes]:
    """Every copy of ``data`` with exactly one bit flipped."""
    out = []
    for i in range(len(data)):
        for b in range(8):
            mutated = bytearray(data)
            mutated[i] ^= 1 << b
            out.append(bytes(mutated))
    return out


def tree(size: int, salt: int = 0) -> tuple[list[bytes], MemoryHashes]:
    entries = entries_for(size, salt)
    return entries, MemoryHashes([leaf_hash(e) for e in entries])


class TiledTree:
    """The tiles a log stores, made by feeding leaf hashes to a :class:`TreeEdge` in batches."""

    def __init__(self, leaves: Sequence[bytes], splits: Sequence[int] = ()) -> None:
        self.edge = TreeEdge()
        self.full: dict[tuple[int, int], list[bytes]] = {}
        pos = 0
        for cut in [*sorted(splits), len(leaves)]:
            for level, index, data in self.edge.extend(leaves[pos:cut]):
                assert (level, index) not in self.full, "a full tile was emitted twice"
                self.full[(level, index)] = split_hashes(data, Tile(level, index, TILE_WIDTH))
            pos = max(pos, cut)

    def fetch(self, tile: Tile) -> list[bytes]:
        stored = self.full.get((tile.level, tile.n))
        if stored is not None:
            return stored[: tile.width]
        index, hashes = self.edge.partial(tile.level)
        assert index == tile.n, f"asked for tile {tile} beyond the edge"
        return hashes[: tile.width]

    def reader(self, size: int | None = None) -> TileHashReader:
        return TileHashReader(self.edge.size if size is None else size, self.fetch)


def _flip_index_values(index: int, size: int) -> list[int]:
    return [index ^ (1 << b) for b in range(max(size.bit_length(), 1) + 1)]


# -- inclusion ------------------------------------------------------------------------------------


@FAST
@given(size=st.integers(1, 2000), data=st.data())
def test_inclusion_proofs_verify_and_every_one_bit_change_fails(
    size: int, data: st.DataObject
) -> None:
    entries, mem = tree(size)
    root = mem.root()
    assert root == root_of([leaf_hash(e) for e in entries])
    index = data.draw(st.integers(0, size - 1), label="index")
    leaf = leaf_hash(entries[index])
    proof = inclusion_proof(index, size, mem)
    verify_inclusion(index, size, leaf, proof, root)

    for k, h in enumerate(proof):
        for bad in bit_flips(h):
            tampered = [*proof[:k], bad, *proof[k + 1 :]]
            with pytest.raises(VerificationError):
                verify_inclusion(index, size, leaf, tampered, root)
    for bad_root in bit_flips(root):
        with pytest.raises(VerificationError):
            verify_inclusion(index, size, leaf, proof, bad_root)
    for bad_leaf in bit_flips(leaf):
        with pytest.raises(VerificationError):
            verify_inclusion(index, size, bad_leaf, proof, root)
    for bad_index in _flip_index_values(index, size):
        with pytest.raises(VerificationError):
            verify_inclusion(bad_index, size, leaf, proof, root)


@FAST
@given(size=st.integers(1, 2000), data=st.data())
def test_one_bit_change_to_the_entry_fails_inclusion(size: int, data: st.DataObject) -> None:
    entries, mem = tree(size, salt=1)
    index = data.draw(st.integers(0, size - 1), label="index")
    entry = entries[index]
    assume(entry)
    proof = inclusion_proof(index, size, mem)
    root = mem.root()
    for bad in bit_flips(entry):
        with pytest.raises(VerificationError):
            verify_inclusion(index, size, leaf_hash(bad), proof, root)


def test_inclusion_proof_with_a_hash_added_or_removed_fails() -> None:
    entries, mem = tree(37)
    proof = inclusion_proof(20, 37, mem)
    leaf = leaf_hash(entries[20])
    for bad in (proof[:-1], [*proof, proof[0]], [proof[0][:31], *proof[1:]]):
        with pytest.raises(VerificationError):
            verify_inclusion(20, 37, leaf, bad, mem.root())


# -- consistency ----------------------------------------------------------------------------------


@FAST
@given(new_size=st.integers(1, 2000), data=st.data())
def test_consistency_proofs_verify_and_every_one_bit_change_fails(
    new_size: int, data: st.DataObject
) -> None:
    _, mem = tree(new_size, salt=2)
    old_size = data.draw(st.integers(1, new_size), label="old_size")
    old_root = MemoryHashes(mem.read_hashes([Node(0, i) for i in range(old_size)])).root()
    new_root = mem.root()
    proof = consistency_proof(old_size, new_size, mem)
    verify_consistency(old_size, new_size, old_root, new_root, proof)
    if old_size == new_size:
        assert proof == []
        return
    for k, h in enumerate(proof):
        for bad in bit_flips(h):
            tampered = [*proof[:k], bad, *proof[k + 1 :]]
            with pytest.raises(VerificationError):
                verify_consistency(old_size, new_size, old_root, new_root, tampered)
    for bad in bit_flips(old_root):
        with pytest.raises(VerificationError):
            verify_consistency(old_size, new_size, bad, new_root, proof)
    for bad in bit_flips(new_root):
        with pytest.raises(VerificationError):
            verify_consistency(old_size, new_size, old_root, bad, proof)


@FAST
@given(new_size=st.integers(2, 600), data=st.data())
def test_consistency_fails_between_different_trees(new_size: int, data: st.DataObject) -> None:
    """A tree whose prefix was rewritten is not consistent with the original."""
    entries, _ = tree(new_size, salt=3)
    old_size = data.draw(st.integers(1, new_size - 1), label="old_size")
    changed = data.draw(st.integers(0, old_size - 1), label="changed")
    forked = list(entries)
    forked[changed] += b"!"
    fork = MemoryHashes([leaf_hash(e) for e in forked])
    old_root = MemoryHashes([leaf_hash(e) for e in entries[:old_size]]).root()
    with pytest.raises(VerificationError):
        verify_consistency(
            old_size, new_size, old_root, fork.root(), consistency_proof(old_size, new_size, fork)
        )


# -- notes, checkpoints, receipts ----------------------------------------------------------------

note_lines = st.lists(
    st.text(
        st.characters(min_codepoint=0x20, exclude_characters="\x7f", exclude_categories=["Cs"]),
        min_size=1,
        max_size=20,
    ),
    min_size=1,
    max_size=4,
)


@FEW
@given(lines=note_lines)
def test_one_bit_change_to_a_note_signature_or_text_fails(lines: list[str]) -> None:
    text = "".join(line + "\n" for line in lines)
    signed = note.sign(text, SIGNER)
    verifier = SIGNER.verifier
    assert note.open_note(signed.encode(), [verifier]).text == text
    sig = signed.signatures[0]
    for bad in bit_flips(sig.signature):
        forged = note.Note(text, (note.NoteSignature(sig.name, sig.key_id, bad),))
        with pytest.raises(VerificationError):
            note.open_note(forged.encode(), [verifier])
    for bad_text in bit_flips(text.encode()):
        forged_bytes = bad_text + b"\n" + (sig.line() + "\n").encode()
        with pytest.raises((FormatError, VerificationError)):
            note.open_note(forged_bytes, [verifier])


def test_note_signed_by_another_key_of_the_same_name_fails() -> None:
    signed = note.sign("hello\n", OTHER)
    with pytest.raises(VerificationError):
        note.open_note(signed.encode(), [SIGNER.verifier])


def _receipt(size: int, index: int) -> tuple[Receipt, bytes]:
    entries, mem = tree(size, salt=4)
    cp = sign_checkpoint(Checkpoint(SIGNER.name, size, mem.root()), SIGNER)
    proof = tuple(inclusion_proof(index, size, mem))
    return Receipt(index, proof, cp.encode()), entries[index]


def _same_meaning(a: bytes, b: bytes) -> bool:
    """Whether two encoded receipts say the same thing (they may differ in base64 pad bits)."""
    try:
        ra, rb = Receipt.parse(a), Receipt.parse(b)
        na, nb = note.parse(ra.checkpoint), note.parse(rb.checkpoint)
    except Error:
        return False
    return (ra.index, ra.proof, ra.extra, na) == (rb.index, rb.proof, rb.extra, nb)


@FEW
@given(size=st.integers(1, 2000), data=st.data())
def test_one_bit_change_anywhere_in_a_receipt_fails(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1), label="index")
    receipt, entry = _receipt(size, index)
    verifier = SIGNER.verifier
    assert verify_receipt(receipt, entry, verifier).size == size
    # Flip the decoded proof hashes and index.
    for k, h in enumerate(receipt.proof):
        for bad in bit_flips(h):
            proof = (*receipt.proof[:k], bad, *receipt.proof[k + 1 :])
            with pytest.raises(VerificationError):
                verify_receipt(Receipt(index, proof, receipt.checkpoint), entry, verifier)
    for bad_index in _flip_index_values(index, size):
        with pytest.raises(VerificationError):
            verify_receipt(Receipt(bad_index, receipt.proof, receipt.checkpoint), entry, verifier)
    # Flip every bit of the encoded receipt: header, index, proof lines and checkpoint note.
    encoded = receipt.encode()
    for bad in bit_flips(encoded):
        try:
            verify_receipt(Receipt.parse(bad), entry, verifier)
        except (InputError, VerificationError):
            continue
        # Base64 decoders (Go's too) ignore the unused low bits of a final quantum; such a flip
        # changes no decoded byte. Any flip that changes what the receipt says must fail.
        assert _same_meaning(bad, encoded), f"a changed receipt still verified:\n{bad!r}"


def test_receipt_against_another_checkpoint_key_fails() -> None:
    receipt, entry = _receipt(10, 3)
    with pytest.raises(VerificationError):
        verify_receipt(receipt, entry, OTHER.verifier)


# -- TreeEdge and tiles against MemoryHashes ------------------------------------------------------


@FAST
@given(
    size=st.integers(0, 2000),
    splits=st.lists(st.integers(0, 2000), max_size=6),
)
def test_tree_edge_root_equals_root_of_all_leaves(size: int, splits: list[int]) -> None:
    leaves = [leaf_hash(e) for e in entries_for(size, salt=5)]
    cuts = sorted({min(s, size) for s in splits})
    edge = TreeEdge()
    for lo, hi in itertools.pairwise([0, *cuts, size]):
        edge.extend(leaves[lo:hi])
        assert edge.root() == root_of(leaves[:hi])
    tiled = TiledTree(leaves, cuts)
    mem = MemoryHashes(leaves)
    assert tiled.edge.size == size
    assert tiled.edge.root() == root_of(leaves) == mem.root()
    # Each full tile holds exactly the 256 hashes of its level in the tree.
    expected_keys = {(lv, n) for lv in range(3) for n in range((size >> (8 * lv)) // TILE_WIDTH)}
    assert set(tiled.full) == expected_keys
    for (level, n), hashes in tiled.full.items():
        nodes = [Node(8 * level, n * TILE_WIDTH + i) for i in range(TILE_WIDTH)]
        assert hashes == mem.read_hashes(nodes)
    # Rebuilding the edge from stored tiles (as a log does on opening) gives the same edge.
    loaded = TreeEdge.load(
        size,
        lambda lo, hi: leaves[lo:hi],
        lambda level, index: tiled.full[(level, index)],
    )
    assert loaded.root() == mem.root()
    for level in range(4):
        assert loaded.partial(level) == tiled.edge.partial(level)


def test_tree_edge_root_at_every_size_up_to_1100() -> None:
    mem = MemoryHashes()
    edge = TreeEdge()
    for i in range(1100):
        leaf = leaf_hash(b"step-%d" % i)
        mem.append(leaf)
        edge.extend([leaf])
        assert edge.root() == mem.root(), f"size {i + 1}"


def test_tree_edge_root_around_65536_leaves() -> None:
    leaves, _, mem = _big()
    edge = TreeEdge()
    edge.extend(leaves[:65530])
    for size in range(65531, 65543):
        done = edge.extend([leaves[size - 1]])
        assert edge.root() == tree_hash(size, mem), f"size {size}"
        if size == 65536:
            assert [(lv, n) for lv, n, _ in done] == [(0, 255), (1, 0)]


@FAST
@given(size=st.integers(1, 2000), splits=st.lists(st.integers(0, 2000), max_size=4), data=st.data())
def test_tile_reader_gives_the_same_proofs_as_memory_hashes(
    size: int, splits: list[int], data: st.DataObject
) -> None:
    leaves = [leaf_hash(e) for e in entries_for(size, salt=6)]
    tiled = TiledTree(leaves, [min(s, size) for s in splits])
    mem = MemoryHashes(leaves)
    at = data.draw(st.integers(1, size), label="proof tree size")
    reader = tiled.reader(at)
    for index in data.draw(st.lists(st.integers(0, at - 1), min_size=1, max_size=5), label="idx"):
        assert inclusion_proof(index, at, reader) == inclusion_proof(index, at, mem)
    old = data.draw(st.integers(0, at), label="old size")
    assert consistency_proof(old, at, reader) == consistency_proof(old, at, mem)


@functools.cache
def _big() -> tuple[list[bytes], TiledTree, MemoryHashes]:
    leaves = [leaf_hash(b"big-%d" % i) for i in range(65536 + 300)]
    return leaves, TiledTree(leaves, [255, 256, 257, 65535]), MemoryHashes(leaves)


@FEW
@given(
    at=st.sampled_from([255, 256, 257, 511, 512, 65535, 65536, 65537, 65536 + 300]),
    data=st.data(),
)
def test_tile_reader_across_tile_levels(at: int, data: st.DataObject) -> None:
    leaves, tiled, mem = _big()
    assert (2, 0) not in tiled.full and (1, 0) in tiled.full  # 65,536 leaves fill a level-1 tile
    reader = tiled.reader(at)
    root = tree_hash(at, mem)
    for index in data.draw(st.lists(st.integers(0, at - 1), min_size=1, max_size=4), label="idx"):
        proof = inclusion_proof(index, at, reader)
        assert proof == inclusion_proof(index, at, mem)
        verify_inclusion(index, at, leaves[index], proof, root)
    old = data.draw(st.integers(1, at), label="old size")
    assert consistency_proof(old, at, reader) == consistency_proof(old, at, mem)
    if at == len(leaves):
        assert tiled.edge.root() == mem.root()


# -- tile paths -----------------------------------------------------------------------------------


def test_tile_paths_match_the_c2sp_examples() -> None:
    assert Tile(0, 1234067, TILE_WIDTH).path() == "tile/0/x001/x234/067"
    assert Tile(0, 1234067, TILE_WIDTH).entries_path() == "tile/entries/x001/x234/067"
    assert Tile(1, 1234067, 5).path() == "tile/1/x001/x234/067.p/5"
    assert Tile(0, 0, 255).entries_path() == "tile/entries/000.p/255"
    assert Tile(2, 999, TILE_WIDTH).path() == "tile/2/999"
    assert Tile(2, 1000, TILE_WIDTH).path() == "tile/2/x001/000"
    assert parse_path("tile/entries/x001/x234/067.p/5") == (True, Tile(0, 1234067, 5))
    assert parse_path("tile/3/x001/x234/067") == (False, Tile(3, 1234067, TILE_WIDTH))
    with pytest.raises(ValueError):
        Tile(1, 0, TILE_WIDTH).entries_path()


@settings(max_examples=200, deadline=None)
@given(level=st.integers(0, 63), n=st.integers(0, 10**15), width=st.integers(1, TILE_WIDTH))
def test_tile_paths_round_trip(level: int, n: int, width: int) -> None:
    tile = Tile(level, n, width)
    path = tile.path()
    assert parse_path(path) == (False, tile)
    m = re.fullmatch(rf"tile/{level}/((?:x\d{{3}}/)*\d{{3}})((?:\.p/\d+)?)", path)
    assert m is not None, path
    index, suffix = m.groups()
    assert suffix == ("" if width == TILE_WIDTH else f".p/{width}")
    assert int(index.replace("x", "").replace("/", "")) == n
    assert n < 1000 or not index.startswith("x000/"), "index has a redundant leading group"
    if level == 0:
        assert parse_path(tile.entries_path()) == (True, tile)


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1234",
        "tile/0/12",
        "tile/0/x1/234",
        "tile/0/001/234",
        "tile/0/067.p/0",
        "tile/0/067.p/256",
        "tile/0/067.p/",
        "tile/-1/000",
        "tiles/0/000",
        "tile/0/000/",
        "tile/data/000",
        "tile/entries/000.p/300",
    ],
)
def test_malformed_tile_paths_are_refused(path: str) -> None:
    with pytest.raises(FormatError):
        parse_path(path)


@pytest.mark.parametrize(
    "path", ["tile/00/067", "tile/0/067.p/010", "tile/64/000", "tile/0/x000/067"]
)
def test_non_canonical_tile_paths_are_refused(path: str) -> None:
    with pytest.raises(FormatError):
        parse_path(path)
