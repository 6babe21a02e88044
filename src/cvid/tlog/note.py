"""C2SP ``signed-note`` with Ed25519 signatures.

A note is UTF-8 text ending in a newline, a blank line, then signature lines of the form
``— <key name> <base64(key ID ‖ signature)>``. An Ed25519 key's ID is the first four bytes of
``SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)``. Verifier keys are written
``<name>+<hex key ID>+<base64(0x01 ‖ public key)>``; private keys, as Go's ``sumdb/note`` writes
them, ``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 ‖ seed)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from cvid.errors import FormatError, VerificationError

if TYPE_CHECKING:
    pass

ALG_ED25519 = 0x01
SIG_PREFIX = "— "
MAX_SIGNATURES = 100


def b64(data: bytes) -> str:
    """Standard base64 with padding (RFC 4648 §4), as every C2SP format uses."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, what: str) -> bytes:
    """Decode strict standard base64, raising :class:`FormatError` naming ``what``."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise FormatError(f"{what} is not valid base64: {text[:60]!r}") from None


def check_key_name(name: str) -> None:
    """Raise :class:`FormatError` unless ``name`` is a valid note key name."""
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise FormatError(f"key name {name!r} must be non-empty, without spaces or '+'")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (text read with surrogateescape): no key ID can be computed.
        raise FormatError(f"key name {name!r} is not valid UTF-8 text") from None
    if not name.isprintable():  # a control character would reach terminals and logs (issue 12)
        raise FormatError(f"key name {name!r} holds a control or other non-printable character")


def key_id(name: str, alg: int, public_key: bytes) -> bytes:
    """Return the 4-byte key ID of a key: ``SHA-256(name ‖ 0x0A ‖ alg ‖ key)[:4]``."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()[:4]


def parse_key_text(text: str, alg: int, what: str, kind: str) -> tuple[str, bytes]:
    """Parse ``name+hexid+base64(alg ‖ public key)`` into the name and the 32-byte key.

    ``what`` and ``kind`` name the key in errors; the key ID must match the key and ``alg``.
    """
    text = text.strip()
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise FormatError(f"{what} {text[:80]!r} is not name+hexid+base64key")
    name, hexid, keyb64 = parts
    check_key_name(name)
    if len(hexid) != 8 or any(c not in "0123456789abcdefABCDEF" for c in hexid):
        raise FormatError(f"{what} id {hexid!r} is not 8 hex digits")
    raw = unb64(keyb64, what)
    if len(raw) != 33 or raw[0] != alg:
        raise FormatError(f"{what} {name!r} is not an {kind} key")
    if key_id(name, alg, raw[1:]) != bytes.fromhex(hexid):
        raise FormatError(f"{what} {name!r}: key id {hexid} does not match the key")
    if not _prime_order_point(raw[1:]):
        raise FormatError(
            f"{what} {name!r} is not a usable Ed25519 public key: not a canonical point of the "
            "prime-order group (a small-order key would let anyone forge its signatures)"
        )
    return name, raw[1:]


def _prime_order_point(public_key: bytes) -> bool:
    """Whether ``public_key`` encodes a point of Ed25519's prime-order subgroup, canonically and
    not of small order: every key made by a real signer does. OpenSSL accepts signatures under
    small-order keys that hold for every message, so such keys are refused where keys enter."""
    from nacl.bindings import crypto_core_ed25519_is_valid_point

    return bool(crypto_core_ed25519_is_valid_point(public_key))


_SODIUM: list[Callable[[bytes, bytes], bytes] | None] = []


def _sodium_open() -> Callable[[bytes, bytes], bytes] | None:
    """libsodium's ``crypto_sign_open`` (PyNaCl), loaded on first use; None without it."""
    if not _SODIUM:
        try:
            from nacl.bindings import crypto_sign_open
        except ImportError:  # pragma: no cover - PyNaCl is a dependency
            _SODIUM.append(None)
        else:
            _SODIUM.append(crypto_sign_open)
    return _SODIUM[0]


def verify_ed25519(
    public_key: bytes, signature: bytes, message: bytes, key: Ed25519PublicKey | None = None
) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message`` under ``public_key``,
    exactly as ``cryptography`` (OpenSSL) decides.

    libsodium verifies twice as fast as OpenSSL here and releases the GIL, so it is asked
    first. Everything it accepts OpenSSL accepts too (the same cofactorless equation, after
    libsodium's stricter refusals of non-canonical and small-order encodings), so its "yes" is
    final; its "no" is re-asked of OpenSSL, whose answer is the rule. ``key``, when given, is
    ``public_key`` already loaded.
    """
    if len(signature) != 64 or len(public_key) != 32:
        return False
    sodium = _sodium_open()
    if sodium is not None:
        try:
            sodium(signature + message, public_key)
        except Exception:  # nacl.exceptions.BadSignatureError, ValueError
            pass
        else:
            return True
    try:
        (key or Ed25519PublicKey.from_public_bytes(public_key)).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """An Ed25519 note verifier: a key name and a public key."""

    name: str
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID."""
        return key_id(self.name, ALG_ED25519, self.public_key)

    @property
    def vkey(self) -> str:
        """The verifier key text, ``name+hexid+base64(0x01‖key)``."""
        return f"{self.name}+{self.key_id.hex()}+{b64(bytes([ALG_ED25519]) + self.public_key)}"

    @classmethod
    def from_vkey(cls, text: str) -> Verifier:
        """Parse verifier key text; raise :class:`FormatError` saying what is wrong."""
        name, public_key = parse_key_text(text, ALG_ED25519, "verifier key", "Ed25519 (type 0x01)")
        return cls(name, public_key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Return whether ``signature`` (64 bytes) is this key's signature on ``message``."""
        return verify_ed25519(self.public_key, signature, message)


@dataclass(frozen=True)
class Signer:
    """An Ed25519 note signer: a key name and a private key seed."""

    name: str
    seed: bytes

    @classmethod
    def generate(cls, name: str) -> Signer:
        """Make a new random signing key named ``name``."""
        check_key_name(name)
        return cls(name, Ed25519PrivateKey.generate().private_bytes_raw())

    @property
    def _key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def verifier(self) -> Verifier:
        """The matching verifier."""
        return Verifier(self.name, _raw_public(self._key.public_key()))

    @property
    def skey(self) -> str:
        """The private key text, as Go's ``note.GenerateKey`` writes it."""
        v = self.verifier
        return f"PRIVATE+KEY+{self.name}+{v.key_id.hex()}+{b64(bytes([ALG_ED25519]) + self.seed)}"

    @classmethod
    def from_skey(cls, text: str) -> Signer:
        """Parse private key text; raise :class:`FormatError` saying what is wrong."""
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise FormatError("private key is not PRIVATE+KEY+name+hexid+base64key")
        name, hexid, keyb64 = parts[2:]
        check_key_name(name)
        raw = unb64(keyb64, "private key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise FormatError(f"private key {name!r} is not an Ed25519 (type 0x01) key")
        s = cls(name, raw[1:])
        if s.verifier.key_id.hex() != hexid.lower():
            raise FormatError(f"private key {name!r}: key id {hexid} does not match the key")
        return s

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature on ``message``."""
        return self._key.sign(message)

    # Key files are I/O, kept out of this pure module: these two only forward to
    # cvid.keyfiles for the callers not yet moved to it (cvid.store.log).


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """The signature line, without its newline."""
        return f"{SIG_PREFIX}{self.name} {b64(self.key_id + self.signature)}"


@dataclass(frozen=True)
class Note:
    """A signed note: its text (ending in a newline) and its signature lines."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def encode(self) -> bytes:
        """The note as bytes: text, blank line, signature lines."""
        lines = "".join(s.line() + "\n" for s in self.signatures)
        return (self.text + "\n" + lines).encode()


def check_text(text: str) -> None:
    """Raise :class:`FormatError` unless ``text`` may be the text of a note."""
    if not text.endswith("\n"):
        raise FormatError("note text must end with a newline")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise FormatError("note text is not valid Unicode (it has a lone surrogate)") from None
    for i, line in enumerate(text[:-1].split("\n"), 1):
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in line):
            raise FormatError(f"note text line {i} has a control character")


def sign(text: str, *signers: Signer) -> Note:
    """Sign ``text`` with each signer and return the note."""
    check_text(text)
    msg = text.encode()
    sigs = tuple(NoteSignature(s.name, s.verifier.key_id, s.sign(msg)) for s in signers)
    return Note(text, sigs)


def parse(data: bytes | str) -> Note:
    """Parse a signed note without verifying it; raise :class:`FormatError` if malformed."""
    try:
        s = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise FormatError("note is not UTF-8") from None
    split = s.rfind("\n\n")
    if split < 0:
        raise FormatError("note has no blank line before its signatures")
    text, sigpart = s[: split + 1], s[split + 2 :]
    check_text(text)
    if not sigpart.endswith("\n"):
        raise FormatError("note signature block must end with a newline")
    sigs: list[NoteSignature] = []
    for n, line in enumerate(sigpart[:-1].split("\n"), 1):
        if not line.startswith(SIG_PREFIX):
            raise FormatError(f"note signature line {n} does not start with '— '")
        fields = line[len(SIG_PREFIX) :].split(" ")
        if len(fields) != 2:
            raise FormatError(f"note signature line {n} is not '— name signature'")
        name, sigb64 = fields
        check_key_name(name)
        raw = unb64(sigb64, f"note signature line {n}")
        if len(raw) < 5:
            raise FormatError(f"note signature line {n} is too short")
        sigs.append(NoteSignature(name, raw[:4], raw[4:]))
    if not sigs:
        raise FormatError("note has no signatures")
    if len(sigs) > MAX_SIGNATURES:
        raise FormatError(f"note has {len(sigs)} signatures, more than {MAX_SIGNATURES}")
    return Note(text, tuple(sigs))


def open_note(data: bytes | str, verifiers: list[Verifier]) -> Note:
    """Parse a note and verify it: at least one signature must come from a known verifier.

    A signature whose name and key ID match a known verifier but does not verify is an error;
    signatures from unknown keys (for example witnesses' cosignatures) are kept but not checked.
    Raises :class:`VerificationError` if no known key signed the note.
    """
    note = parse(data)
    msg = note.text.encode()
    known = {(v.name, v.key_id): v for v in verifiers}
    verified = 0
    for sig in note.signatures:
        v = known.get((sig.name, sig.key_id))
        if v is None:
            continue
        if not v.verify(msg, sig.signature):
            raise VerificationError(f"note signature by {sig.name} does not verify")
        verified += 1
    if not verified:
        names = ", ".join(sorted({s.name for s in note.signatures}))
        raise VerificationError(f"note has no signature from a known key (signed by: {names})")
    return note
