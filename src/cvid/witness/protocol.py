"""The C2SP ``tlog-witness`` ``add-checkpoint`` wire format: request and response bodies.

A request body is an old size line, zero to 63 consistency proof lines, an empty line, then the
signed checkpoint note::

    old 20852014
    PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=

    example.com/behind-the-sofa
    20852163
    CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

    — example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq...

A 200 response is one or more note signature lines (the witness's cosignatures); a 409 response
is the size the witness last cosigned, in decimal and a newline, as ``text/x.tlog.size``.

Pure: parsing and formatting only, every input bounded by the limits below. Malformed input is a
:class:`~cvid.errors.FormatError` naming the line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cvid.errors import FormatError
from cvid.tlog import HASH_SIZE, SIG_PREFIX, NoteSignature, b64, check_key_name, unb64

__all__ = [
    "MAX_NOTE_BYTES",
    "MAX_PROOF_LINES",
    "MAX_REQUEST_BYTES",
    "MAX_RESPONSE_BYTES",
    "SIZE_CONTENT_TYPE",
    "AddCheckpoint",
    "format_cosignatures",
    "format_size",
    "origin_hash",
    "parse_cosignatures",
    "parse_size",
]

#: The spec's bound: a client MUST NOT send more than 63 consistency proof lines.
MAX_PROOF_LINES = 63
#: The largest checkpoint note accepted: far above any real checkpoint (a few hundred bytes
#: plus a line per signature), low enough that a request costs little memory.
MAX_NOTE_BYTES = 64 * 1024
#: The largest request body: the old line, 63 proof lines of 45 bytes, the blank line, a note.
MAX_REQUEST_BYTES = 32 + MAX_PROOF_LINES * 45 + 1 + MAX_NOTE_BYTES
#: The largest 200 body a client reads: a few cosignature lines.
MAX_RESPONSE_BYTES = 16 * 1024
#: The content type of a 409 body.
SIZE_CONTENT_TYPE = "text/x.tlog.size"


def _decimal(text: str, what: str) -> int:
    """A decimal without leading zeroes (``0`` alone is zero); FormatError naming ``what``."""
    if not (text.isascii() and text.isdigit()) or (text != "0" and text[0] == "0"):
        raise FormatError(f"{what}: {text[:40]!r} is not a decimal number without leading zeroes")
    if len(text) > 19 or int(text) > (1 << 63) - 1:
        raise FormatError(f"{what}: {text[:40]!r} is larger than 2^63-1")
    return int(text)


def origin_hash(origin: str) -> str:
    """The lowercase hex SHA-256 of a log's origin: its monitoring path segment."""
    return hashlib.sha256(origin.encode()).hexdigest()


@dataclass(frozen=True)
class AddCheckpoint:
    """An ``add-checkpoint`` request: the old size, a consistency proof and a signed note.

    ``checkpoint`` is the note's bytes as sent, not yet parsed or verified.
    """

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: bytes

    def encode(self) -> bytes:
        """The request body."""
        lines = [f"old {self.old_size}", *(b64(h) for h in self.proof)]
        return ("\n".join(lines) + "\n\n").encode() + self.checkpoint

    @classmethod
    def parse(cls, body: bytes) -> AddCheckpoint:
        """Parse a request body; :class:`FormatError` naming the line if it is malformed.

        Bounds: :data:`MAX_REQUEST_BYTES` in all, :data:`MAX_PROOF_LINES` proof lines of one
        32-byte hash each, a note of at most :data:`MAX_NOTE_BYTES`. The note itself is only
        split off here; :func:`cvid.tlog.note.parse` checks it.
        """
        if len(body) > MAX_REQUEST_BYTES:
            raise FormatError(f"request body is {len(body):,} bytes, over {MAX_REQUEST_BYTES:,}")
        head, sep, checkpoint = body.partition(b"\n\n")
        if not sep:
            raise FormatError("request has no empty line before its checkpoint")
        try:
            lines = head.decode("ascii").split("\n")
        except UnicodeDecodeError:
            raise FormatError("request lines before the checkpoint are not ASCII") from None
        first = lines[0]
        if not first.startswith("old "):
            raise FormatError(f"request line 1 is {first[:40]!r}, expected 'old <size>'")
        old = _decimal(first[4:], "request line 1 (old size)")
        if len(lines) - 1 > MAX_PROOF_LINES:
            raise FormatError(
                f"request has {len(lines) - 1} consistency proof lines, over {MAX_PROOF_LINES}"
            )
        proof: list[bytes] = []
        for n, line in enumerate(lines[1:], 2):
            h = unb64(line, f"request line {n} (a proof hash)")
            if len(h) != HASH_SIZE:
                raise FormatError(f"request line {n}: a proof hash is {len(h)} bytes, not 32")
            proof.append(h)
        if not checkpoint:
            raise FormatError("request has no checkpoint after its empty line")
        if len(checkpoint) > MAX_NOTE_BYTES:
            raise FormatError(
                f"request checkpoint is {len(checkpoint):,} bytes, over {MAX_NOTE_BYTES:,}"
            )
        return cls(old, tuple(proof), checkpoint)


def format_cosignatures(signatures: Sequence[NoteSignature]) -> bytes:
    """A 200 body: each signature line and a newline."""
    return "".join(s.line() + "\n" for s in signatures).encode()


def parse_cosignatures(body: bytes) -> list[NoteSignature]:
    """The signature lines of a 200 body; :class:`FormatError` naming the line if malformed.

    At most :data:`MAX_RESPONSE_BYTES`; every line must be a note signature line.
    """
    if len(body) > MAX_RESPONSE_BYTES:
        raise FormatError(f"response is {len(body):,} bytes, over {MAX_RESPONSE_BYTES:,}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError("response is not UTF-8") from None
    if not text.endswith("\n"):
        raise FormatError("response must end with a newline")
    out: list[NoteSignature] = []
    for n, line in enumerate(text[:-1].split("\n"), 1):
        if not line.startswith(SIG_PREFIX):
            raise FormatError(f"response line {n} does not start with '— '")
        fields = line[len(SIG_PREFIX) :].split(" ")
        if len(fields) != 2:
            raise FormatError(f"response line {n} is not '— name signature'")
        name, sig = fields
        check_key_name(name)
        raw = unb64(sig, f"response line {n}")
        if len(raw) < 5:
            raise FormatError(f"response line {n}: the signature is too short")
        out.append(NoteSignature(name, raw[:4], raw[4:]))
    return out


def format_size(size: int) -> bytes:
    """A 409 body: ``size`` in decimal and a newline."""
    return f"{size}\n".encode()


def parse_size(body: bytes) -> int:
    """The size in a 409 body; :class:`FormatError` if it is not a decimal and a newline."""
    if len(body) > 32 or not body.endswith(b"\n"):
        raise FormatError(f"409 body {body[:40]!r} is not a decimal size and a newline")
    try:
        text = body[:-1].decode("ascii")
    except UnicodeDecodeError:
        raise FormatError("409 body is not ASCII") from None
    return _decimal(text, "409 body")
