"""C2SP ``tlog-proof``: an offline receipt that an entry is in a log.

::

    c2sp.org/tlog-proof@v1
    [extra <base64>]
    index <decimal>
    <base64 inclusion proof hash>...

    <signed checkpoint note, verbatim>
"""

from __future__ import annotations

from dataclasses import dataclass

from cvid.errors import FormatError, VerificationError
from cvid.tlog import note
from cvid.tlog.checkpoint import Checkpoint, open_checkpoint
from cvid.tlog.merkle import HASH_SIZE, leaf_hash, verify_inclusion

HEADER = "c2sp.org/tlog-proof@v1"


@dataclass(frozen=True)
class Receipt:
    """An entry's index, its inclusion proof and the signed checkpoint the proof is against."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint: bytes
    extra: bytes | None = None

    def encode(self) -> bytes:
        """The receipt in the ``tlog-proof`` text format."""
        lines = [HEADER]
        if self.extra is not None:
            lines.append("extra " + note.b64(self.extra))
        lines.append(f"index {self.index}")
        lines.extend(note.b64(h) for h in self.proof)
        return ("\n".join(lines) + "\n\n").encode() + self.checkpoint

    @classmethod
    def parse(cls, data: bytes) -> Receipt:
        """Parse a ``tlog-proof``; raise :class:`FormatError` naming the bad line."""
        head, sep, checkpoint = data.partition(b"\n\n")
        if not sep:
            raise FormatError("receipt has no blank line before its checkpoint")
        try:
            lines = head.decode("ascii").split("\n")
        except UnicodeDecodeError:
            raise FormatError("receipt header is not ASCII") from None
        if lines[0] != HEADER:
            raise FormatError(f"receipt line 1 is {lines[0][:60]!r}, expected {HEADER!r}")
        pos = 1
        extra = None
        if pos < len(lines) and lines[pos].startswith("extra "):
            extra = note.unb64(lines[pos][6:], "receipt extra data")
            pos += 1
        if pos >= len(lines) or not lines[pos].startswith("index "):
            raise FormatError(f"receipt line {pos + 1} must be 'index N'")
        idx = lines[pos][6:]
        if not (idx.isascii() and idx.isdigit()) or (idx != "0" and idx[0] == "0"):
            raise FormatError(f"receipt index {idx!r} is not a decimal number")
        proof: list[bytes] = []
        for n, line in enumerate(lines[pos + 1 :], pos + 2):
            h = note.unb64(line, f"receipt line {n}")
            if len(h) != HASH_SIZE:
                raise FormatError(f"receipt line {n}: a proof hash is {HASH_SIZE} bytes")
            proof.append(h)
        return cls(int(idx), tuple(proof), checkpoint, extra)


def verify_receipt(receipt: Receipt, entry: bytes, verifier: note.Verifier) -> Checkpoint:
    """Check a receipt offline: the checkpoint's signature, then the entry's inclusion.

    Returns the checkpoint the entry is proven against; raises :class:`VerificationError`
    saying which check failed.
    """
    cp = open_checkpoint(receipt.checkpoint, verifier).checkpoint
    if receipt.index >= cp.size:
        raise VerificationError(
            f"receipt index {receipt.index} is beyond the checkpoint's size {cp.size}"
        )
    try:
        verify_inclusion(receipt.index, cp.size, leaf_hash(entry), receipt.proof, cp.root)
    except VerificationError as exc:
        raise VerificationError(f"entry is not proven in the log: {exc}") from None
    return cp
