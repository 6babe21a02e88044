"""RFC 9162 (= RFC 6962) Merkle tree hashing, inclusion and consistency proofs.

Leaves are hashed as ``SHA-256(0x00 ‖ entry)`` and interior nodes as
``SHA-256(0x01 ‖ left ‖ right)``. Indices are 0-based.

The proof generators never read storage themselves: they name the complete subtrees they need
as :class:`Node` values, the caller reads those hashes (from memory, a database or tiles) through
a :class:`HashReader`, and the generator folds them into the proof. A node is addressed by its
``level`` (0 = leaf) and its index ``n`` at that level, so it covers the leaves
``[n·2^level, (n+1)·2^level)``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import NamedTuple, Protocol

from cvid.errors import VerificationError

HASH_SIZE = 32

#: The root of the empty tree, SHA-256 of the empty string (RFC 9162 §2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()


class Node(NamedTuple):
    """A complete subtree: ``2**level`` leaves starting at leaf ``n * 2**level``."""

    level: int
    n: int


class HashReader(Protocol):
    """Reads the hashes of complete subtrees of a log."""

    def read_hashes(self, nodes: Sequence[Node]) -> list[bytes]:
        """Return the hash of each node, in the order given; each node must be complete."""
        ...


def leaf_hash(entry: bytes) -> bytes:
    """Return the RFC 9162 leaf hash of ``entry``."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash of two child hashes."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Return the largest power of two strictly less than ``n`` (``n`` ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle tree hash of a sequence of leaf hashes (``EMPTY_ROOT`` if empty)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    # Pairwise reduction keeps an odd last node for the next level; for RFC 9162 trees this
    # equals the recursive definition because the left subtree is always the larger power of 2.
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def range_nodes(lo: int, hi: int) -> list[Node]:
    """Decompose the leaf range ``[lo, hi)`` into maximal complete subtrees, left to right.

    For a range that is itself an RFC 9162 subtree (``lo`` aligned to a power of two at least
    ``hi - lo``) the subtrees come out in decreasing size, and folding them right to left with
    :func:`node_hash` gives the range's Merkle hash.
    """
    nodes: list[Node] = []
    while lo < hi:
        level = (lo & -lo).bit_length() - 1 if lo else (hi - lo).bit_length()
        while (1 << level) > hi - lo:
            level -= 1
        nodes.append(Node(level, lo >> level))
        lo += 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """Fold complete-subtree hashes (decreasing sizes, left to right) into one Merkle hash."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def _inclusion_ranges(index: int, lo: int, hi: int, out: list[tuple[int, int]]) -> None:
    # RFC 9162 §2.1.3.1 PATH(m, D[lo:hi]), deepest sibling first.
    if hi - lo <= 1:
        return
    k = _split(hi - lo)
    if index - lo < k:
        _inclusion_ranges(index, lo, lo + k, out)
        out.append((lo + k, hi))
    else:
        _inclusion_ranges(index, lo + k, hi, out)
        out.append((lo, lo + k))


def _consistency_ranges(m: int, lo: int, hi: int, whole: bool, out: list[tuple[int, int]]) -> None:
    # RFC 9162 §2.1.4.1 SUBPROOF(m, D[lo:hi], b).
    n = hi - lo
    if m == n:
        if not whole:
            out.append((lo, hi))
        return
    k = _split(n)
    if m <= k:
        _consistency_ranges(m, lo, lo + k, whole, out)
        out.append((lo + k, hi))
    else:
        _consistency_ranges(m - k, lo + k, hi, False, out)
        out.append((lo, lo + k))


def _prove(ranges: list[tuple[int, int]], reader: HashReader) -> list[bytes]:
    per_range = [range_nodes(lo, hi) for lo, hi in ranges]
    wanted = [node for nodes in per_range for node in nodes]
    hashes = reader.read_hashes(wanted) if wanted else []
    if len(hashes) != len(wanted):
        raise VerificationError(f"hash reader returned {len(hashes)} hashes for {len(wanted)}")
    proof: list[bytes] = []
    pos = 0
    for nodes in per_range:
        proof.append(fold(hashes[pos : pos + len(nodes)]))
        pos += len(nodes)
    return proof


def inclusion_proof(index: int, size: int, reader: HashReader) -> list[bytes]:
    """Return the RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is not in a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    _inclusion_ranges(index, 0, size, ranges)
    return _prove(ranges, reader)


def consistency_proof(old_size: int, new_size: int, reader: HashReader) -> list[bytes]:
    """Return the RFC 9162 consistency proof from tree size ``old_size`` to ``new_size``.

    The proof is empty when ``old_size`` is 0 or equals ``new_size``.
    """
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to {new_size}")
    if old_size in (0, new_size):
        return []
    ranges: list[tuple[int, int]] = []
    _consistency_ranges(old_size, 0, new_size, True, ranges)
    return _prove(ranges, reader)


def tree_hash(size: int, reader: HashReader) -> bytes:
    """Return the root hash of the first ``size`` leaves, read as complete subtrees."""
    if size == 0:
        return EMPTY_ROOT
    nodes = range_nodes(0, size)
    return fold(reader.read_hashes(nodes))


def _check_hash(h: bytes, what: str) -> None:
    if len(h) != HASH_SIZE:
        raise VerificationError(f"{what} is {len(h)} bytes, not {HASH_SIZE}")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """Return the root implied by an inclusion proof (RFC 9162 §2.1.3.2).

    Raises :class:`VerificationError` if the proof has the wrong length for ``index`` and
    ``size``, whatever its contents.
    """
    if not 0 <= index < size:
        raise VerificationError(f"index {index} is not in a tree of size {size}")
    _check_hash(leaf, "leaf hash")
    fn, sn = index, size - 1
    r = leaf
    for i, p in enumerate(proof):
        _check_hash(p, f"proof hash {i}")
        if sn == 0:
            raise VerificationError(f"inclusion proof has {len(proof)} hashes, too many")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError(f"inclusion proof has {len(proof)} hashes, too few")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` (a leaf hash) is at ``index`` in the tree of ``size`` with ``root``.

    Raises :class:`VerificationError` with the reason when it is not.
    """
    _check_hash(root, "root")
    got = root_from_inclusion_proof(index, size, leaf, proof)
    if got != root:
        raise VerificationError(
            f"inclusion proof for index {index} at size {size} leads to another root"
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree ``(new_size, new_root)`` extends ``(old_size, old_root)``.

    Follows RFC 9162 §2.1.4.2. A proof from size 0 is refused: every tree extends the empty
    tree, so callers skip the check rather than accept a proof that proves nothing.
    Raises :class:`VerificationError` with the reason when it does not.
    """
    if old_size < 0 or old_size > new_size:
        raise VerificationError(f"size {old_size} cannot precede size {new_size}")
    if old_size == 0:
        raise VerificationError("a consistency proof from the empty tree proves nothing")
    if old_size == new_size:
        if proof:
            raise VerificationError("consistency proof between equal sizes must be empty")
        if old_root != new_root:
            raise VerificationError(f"two different roots for the same size {old_size}")
        return
    _check_hash(old_root, "old root")
    _check_hash(new_root, "new root")
    if not proof:
        raise VerificationError(f"empty consistency proof from size {old_size} to {new_size}")
    for i, p in enumerate(proof):
        _check_hash(p, f"proof hash {i}")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # old_size is a power of two: the old root is itself the first node of the path.
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise VerificationError(f"consistency proof has {len(proof)} hashes, too many")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError(f"consistency proof has {len(proof)} hashes, too few")
    if fr != old_root:
        raise VerificationError(
            f"consistency proof does not lead to the old root at size {old_size}"
        )
    if sr != new_root:
        raise VerificationError(
            f"consistency proof does not lead to the new root at size {new_size}"
        )


class MemoryHashes:
    """A :class:`HashReader` over leaf hashes held in memory (tests, small trees, audits)."""

    def __init__(self, leaf_hashes: Sequence[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [list(leaf_hashes)]
        self._build()

    def _build(self) -> None:
        lvl = 0
        while len(self._levels[lvl]) >= 2:
            if lvl + 1 == len(self._levels):
                self._levels.append([])
            below, above = self._levels[lvl], self._levels[lvl + 1]
            while len(above) < len(below) // 2:
                i = len(above)
                above.append(node_hash(below[2 * i], below[2 * i + 1]))
            lvl += 1

    def append(self, leaf: bytes) -> None:
        """Append one leaf hash."""
        self._levels[0].append(leaf)
        self._build()

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self._levels[0])

    def read_hashes(self, nodes: Sequence[Node]) -> list[bytes]:
        """Return the hash of each complete node."""
        out = []
        for level, index in nodes:
            try:
                out.append(self._levels[level][index])
            except IndexError:
                raise ValueError(f"node ({level}, {index}) is not complete") from None
        return out

    def root(self) -> bytes:
        """Return the current root hash."""
        return tree_hash(self.size, self)
