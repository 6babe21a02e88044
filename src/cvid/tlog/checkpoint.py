"""C2SP ``tlog-checkpoint``: the origin, size and root hash of a log, as the text of a note.

::

    <origin>
    <decimal tree size>
    <base64 root hash>
    [extension lines]
"""

from __future__ import annotations

from dataclasses import dataclass

from cvid.errors import FormatError, VerificationError
from cvid.tlog import note
from cvid.tlog.merkle import HASH_SIZE


@dataclass(frozen=True)
class Checkpoint:
    """A log's state: its origin, tree size, root hash and optional extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        """The checkpoint as note text, ending in a newline."""
        lines = [self.origin, str(self.size), note.b64(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse checkpoint text (the text of a note); raise :class:`FormatError` if malformed."""
        if not text.endswith("\n"):
            raise FormatError("checkpoint must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise FormatError("checkpoint needs an origin, a size and a root hash line")
        origin, size_s, root_s, *ext = lines
        if not origin:
            raise FormatError("checkpoint origin line is empty")
        if not (size_s.isascii() and size_s.isdigit()) or (size_s != "0" and size_s[0] == "0"):
            raise FormatError(f"checkpoint size {size_s!r} is not a decimal number")
        root = note.unb64(root_s, "checkpoint root hash")
        if len(root) != HASH_SIZE:
            raise FormatError(f"checkpoint root hash is {len(root)} bytes, not {HASH_SIZE}")
        if any(not e for e in ext):
            raise FormatError("checkpoint extension lines must not be empty")
        return cls(origin, int(size_s), root, tuple(ext))


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint together with the signed note that carries it."""

    checkpoint: Checkpoint
    note: note.Note

    def encode(self) -> bytes:
        """The signed note bytes, as served at ``<prefix>/checkpoint``."""
        return self.note.encode()


def sign_checkpoint(cp: Checkpoint, signer: note.Signer) -> SignedCheckpoint:
    """Sign ``cp`` as a note by ``signer`` (whose name must be the checkpoint's origin)."""
    return SignedCheckpoint(cp, note.sign(cp.text(), signer))


def open_checkpoint(
    data: bytes | str, verifier: note.Verifier, origin: str | None = None
) -> SignedCheckpoint:
    """Verify a signed checkpoint by the log key ``verifier`` and parse it.

    ``origin`` defaults to the verifier's name; a checkpoint for another origin is refused.
    """
    n = note.open_note(data, [verifier])
    cp = Checkpoint.parse(n.text)
    want = origin if origin is not None else verifier.name
    if cp.origin != want:
        raise VerificationError(f"checkpoint is for origin {cp.origin!r}, expected {want!r}")
    return SignedCheckpoint(cp, n)
