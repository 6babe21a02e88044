"""C2SP ``tlog-cosignature`` v1 with Ed25519: a timestamped cosignature on a checkpoint.

A cosignature is one more signature line on a checkpoint's note (https://c2sp.org/
tlog-cosignature). For an Ed25519 cosigner named ``name`` with public key ``pk``:

- its key ID is ``SHA-256(name ‖ 0x0A ‖ 0x04 ‖ pk)[:4]`` (signature type 0x04, not the 0x01 of
  plain note signatures, so a cosignature never verifies as a note signature and back);
- the signed message is ``"cosignature/v1\\n" + "time <T>\\n" + <checkpoint text>``, where
  ``T`` is the POSIX time in seconds, in decimal without leading zeroes, and the checkpoint text
  is the whole note body including its final newline (extension lines too);
- the signature line is ``— <name> base64(key ID ‖ uint64 big-endian T ‖ 64-byte signature)``.

A cosignature is the cosigner's statement that, at time ``T``, the checkpoint was the largest
consistent tree head it had seen of the log. Verifier keys are written like note keys with
type 0x04: ``<name>+<hex key ID>+<base64(0x04 ‖ pk)>``. Pure: no disk, no clock.

Example::

    sig = cosign(cp.text(), clock_signer, 1_700_000_000)
    note = Note(cp.text(), (log_sig, sig))
    assert verify_cosignature(note, clock_signer.name, clock_signer.verifier.public_key) == ...
"""

from __future__ import annotations

from dataclasses import dataclass

from cvid.errors import FormatError, VerificationError
from cvid.tlog import note
from cvid.tlog.note import Note, NoteSignature, Signer, Verifier, b64

#: The signature type of Ed25519 ``cosignature/v1`` (key IDs and verifier keys).
ALG_COSIGNATURE_V1 = 0x04
#: The first line of every signed message (domain separation).
HEADER = "cosignature/v1\n"
#: The largest timestamp the format allows (2^63 - 1).
MAX_TIMESTAMP = (1 << 63) - 1
TIMESTAMP_SIZE = 8
SIGNATURE_SIZE = 64


def cosigner_key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte key ID of an Ed25519 cosigner: ``SHA-256(name ‖ 0x0A ‖ 0x04 ‖ pk)[:4]``."""
    return note.key_id(name, ALG_COSIGNATURE_V1, public_key)


def _check_timestamp(timestamp: int) -> None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise FormatError(f"cosignature timestamp {timestamp!r} is not an integer")
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise FormatError(f"cosignature timestamp {timestamp} is outside 0 .. 2^63-1")


def signed_message(checkpoint_text: str, timestamp: int) -> bytes:
    """The bytes an Ed25519 ``cosignature/v1`` signs for ``checkpoint_text`` at ``timestamp``.

    Raises :class:`FormatError` if the text is not note text or the timestamp is out of range.
    """
    note.check_text(checkpoint_text)
    _check_timestamp(timestamp)
    return f"{HEADER}time {timestamp}\n{checkpoint_text}".encode()


def cosign(checkpoint_text: str, signer: Signer, timestamp: int) -> NoteSignature:
    """The cosignature line of ``signer`` (an Ed25519 key) on ``checkpoint_text`` at ``timestamp``.

    ``timestamp`` is POSIX seconds (0 .. 2^63-1). The key ID is the type-0x04 one of
    :func:`cosigner_key_id`, so the same key's plain note signatures are not confused with it.
    """
    msg = signed_message(checkpoint_text, timestamp)
    public = signer.verifier.public_key
    body = timestamp.to_bytes(TIMESTAMP_SIZE, "big") + signer.sign(msg)
    return NoteSignature(signer.name, cosigner_key_id(signer.name, public), body)


def cosignature_timestamp(sig: NoteSignature) -> int:
    """The timestamp a cosignature line claims, NOT verified; :class:`FormatError` if malformed."""
    if len(sig.signature) != TIMESTAMP_SIZE + SIGNATURE_SIZE:
        raise FormatError(
            f"cosignature by {sig.name} is {len(sig.signature)} bytes after its key ID, not "
            f"{TIMESTAMP_SIZE + SIGNATURE_SIZE} (8-byte time and 64-byte Ed25519 signature)"
        )
    timestamp = int.from_bytes(sig.signature[:TIMESTAMP_SIZE], "big")
    _check_timestamp(timestamp)
    return timestamp


def verify_cosignature(data: Note | bytes | str, verifier_name: str, public_key: bytes) -> int:
    """Verify the cosignature of ``verifier_name``/``public_key`` on a note; return its time.

    ``data`` is a parsed :class:`Note` or the signed note's bytes. Exactly one signature line
    must carry the cosigner's name and type-0x04 key ID; other lines (the log's own signature,
    witnesses) are ignored. Returns the verified timestamp (POSIX seconds). Raises
    :class:`VerificationError` if there is no such line, more than one, or it is malformed or
    does not verify, and :class:`FormatError` if the note itself is malformed.
    """
    n = data if isinstance(data, Note) else note.parse(data)
    kid = cosigner_key_id(verifier_name, public_key)
    mine = [s for s in n.signatures if s.name == verifier_name and s.key_id == kid]
    if not mine:
        raise VerificationError(f"note has no cosignature by {verifier_name} ({kid.hex()})")
    if len(mine) > 1:
        raise VerificationError(f"note has {len(mine)} cosignatures by {verifier_name}")
    sig = mine[0]
    try:
        timestamp = cosignature_timestamp(sig)
    except FormatError as exc:
        raise VerificationError(f"cosignature by {verifier_name} is malformed: {exc}") from None
    msg = signed_message(n.text, timestamp)
    if not Verifier(verifier_name, public_key).verify(msg, sig.signature[TIMESTAMP_SIZE:]):
        raise VerificationError(f"cosignature by {verifier_name} does not verify")
    return timestamp


@dataclass(frozen=True)
class CosignerKey:
    """An Ed25519 ``cosignature/v1`` verifier: a name and a public key (vkey type 0x04)."""

    name: str
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        """The 4-byte type-0x04 key ID."""
        return cosigner_key_id(self.name, self.public_key)

    @property
    def vkey(self) -> str:
        """The verifier key text ``name+hexid+base64(0x04 ‖ pk)``."""
        raw = bytes([ALG_COSIGNATURE_V1]) + self.public_key
        return f"{self.name}+{self.key_id.hex()}+{b64(raw)}"

    @classmethod
    def of(cls, signer: Signer) -> CosignerKey:
        """The cosigner key of a signing key."""
        return cls(signer.name, signer.verifier.public_key)

    @classmethod
    def from_vkey(cls, text: str) -> CosignerKey:
        """Parse ``name+hexid+base64(0x04 ‖ pk)``; :class:`FormatError` saying what is wrong."""
        name, public_key = note.parse_key_text(
            text, ALG_COSIGNATURE_V1, "cosigner key", "Ed25519 cosignature/v1 (type 0x04)"
        )
        return cls(name, public_key)

    def verify(self, data: Note | bytes | str) -> int:
        """:func:`verify_cosignature` with this key: the verified timestamp."""
        return verify_cosignature(data, self.name, self.public_key)
