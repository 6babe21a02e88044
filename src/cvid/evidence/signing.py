"""Canonical bytes (RFC 8785) and Ed25519 signatures of evidence records.

The contract, which third-party signers can implement without cvid:

- the message signed is ``RFC8785(obj without its "signature" member)``, where ``obj`` is the
  JSON object *as submitted* (not a re-serialisation of cvid's model);
- ``signature`` is standard base64 (with padding) of the 64-byte Ed25519 signature;
- ``signer`` is the signing key's verifier key text ``name+hexid+base64(0x01‖key)``, so it is
  part of what is signed;
- the logged entry is ``RFC8785(obj)`` with the signature.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from cvid.errors import FormatError, InputError
from cvid.evidence.record import Record
from cvid.limits import parse_json as parse_json  # the strict loader, with its limits
from cvid.tlog import Signer, Verifier, b64, verify_ed25519

SIGNATURE_SIZE = 64


class RecordError(InputError):
    """A record that cannot be signed, verified or admitted.

    ``check`` names the check that failed (``json``, ``schema``, ``signature``, ...), ``where``
    the record (a file and line, or its number in a batch), ``detail`` what is wrong.
    """

    def __init__(self, check: str, where: str, detail: str) -> None:
        self.check = check
        self.where = where
        self.detail = detail
        super().__init__(f"{where}: {check}: {detail}")


_MAX_INT = 2**53 - 1
_MAX_NODES = 1_000_000


def _no_default(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON")


# The C encoder behind json.dumps, made once: sorted keys, no whitespace, UTF-8 text, no
# circular-reference markers (_plain has already walked the value, bounded).
_c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_encode_chunks: Any = (
    None
    if _c_make_encoder is None
    else _c_make_encoder(
        None, _no_default, json.encoder.encode_basestring, None, ":", ",", True, False, False
    )
)


def _plain(value: Any) -> bool:
    """Whether ``value`` holds only str, bool, None, safe ints, lists, and dicts with ASCII keys.

    For such values JCS equals ``json.dumps`` with sorted keys and no whitespace: ASCII keys
    sort the same by code point as by UTF-16 code unit, and the C encoder escapes strings
    exactly as RFC 8785 §3.2.2.2 says. Floats (ECMAScript number form) and other keys take
    the reference implementation.
    """
    stack = [value]
    nodes = 0
    while stack:
        nodes += 1
        if nodes > _MAX_NODES:
            return False
        v = stack.pop()
        t = type(v)
        if t is str or t is bool or v is None:
            continue
        if t is int:
            if -_MAX_INT <= v <= _MAX_INT:
                continue
            return False
        if t is dict:
            for k, item in v.items():
                if type(k) is not str or not k.isascii():
                    return False
                stack.append(item)
            continue
        if t is list:
            stack.extend(v)
            continue
        return False
    return True


def canonical(obj: Any) -> bytes:
    """The RFC 8785 (JCS) canonical bytes of a JSON value.

    Raises :class:`InputError` for values JCS cannot represent (NaN, infinities, integers
    beyond ±(2**53 − 1), lone surrogates).
    """
    try:
        if _encode_chunks is not None and _plain(obj):
            return "".join(_encode_chunks(obj, 0)).encode("utf-8")
        return bytes(rfc8785.dumps(obj))
    except rfc8785.CanonicalizationError as exc:
        raise InputError(f"cannot canonicalise: {exc}") from None
    except UnicodeEncodeError:
        raise InputError("cannot canonicalise: input contains non-UTF-8 codepoints") from None
    except RecursionError:
        raise InputError("cannot canonicalise: nested too deeply (or cyclic)") from None


def signing_bytes(obj: Mapping[str, Any]) -> bytes:
    """The message an evidence record's signature covers: JCS of ``obj`` minus ``signature``."""
    return canonical({k: v for k, v in obj.items() if k != "signature"})


def _ascii(signature_b64: str, where: str) -> bytes:
    try:
        return signature_b64.encode("ascii")
    except UnicodeEncodeError:
        detail = "is not valid base64 (it has a non-ASCII character)"
        raise RecordError("signature", where, detail) from None


def with_signature(unsigned: bytes, signature_b64: str, where: str = "record") -> bytes:
    """JCS of the signed record, given JCS of the same record without its signature.

    Equal to ``canonical(signed_obj)`` for any object that validates as a :class:`Record`:
    JCS sorts members by name, ``signature`` sorts just before the required ``signer``, and
    nothing that precedes ``signer`` (no nested object before it has a ``signer`` member, and
    a string cannot hold an unescaped quote) can contain ``,"signer":"``. Saves a second
    canonicalisation on the admission path.
    """
    at = unsigned.find(b',"signer":"')
    if at < 0:
        raise InputError("record has no 'signer' member")
    member = b',"signature":"' + _ascii(signature_b64, where) + b'"'
    return unsigned[:at] + member + unsigned[at:]


def flatten_errors(exc: ValidationError) -> str:
    """Pydantic errors as ``field.path: problem`` items joined by ``; `` (one line)."""
    items = []
    for err in exc.errors(include_url=False):
        path = ".".join(str(p) for p in err["loc"]) or "(record)"
        msg = err["msg"].removeprefix("Value error, ")
        items.append(f"{path}: {msg}")
    return "; ".join(items)


def validate(obj: Mapping[str, Any], where: str = "record") -> Record:
    """Validate ``obj`` as a :class:`Record`; raise :class:`RecordError` (check ``schema``)."""
    problem = None  # raised outside the handler, without pydantic's error as its context
    try:
        return Record.model_validate(obj)
    except ValidationError as exc:
        problem = flatten_errors(exc)
    raise RecordError("schema", where, problem)


@lru_cache(maxsize=4096)
def _public_key(vkey: str) -> tuple[Verifier, Ed25519PublicKey]:
    v = Verifier.from_vkey(vkey)
    return v, Ed25519PublicKey.from_public_bytes(v.public_key)


def verifier_of(vkey: str, where: str = "record") -> Verifier:
    """The verifier for vkey text; raise :class:`RecordError` (check ``signer``) if malformed."""
    try:
        return _public_key(vkey)[0]
    except FormatError as exc:
        raise RecordError("signer", where, str(exc)) from None


def check_signature(vkey: str, message: bytes, signature_b64: str, where: str) -> None:
    """Raise :class:`RecordError` (check ``signature``) unless the signature verifies.

    Releases the GIL while verifying (libsodium and ``cryptography`` do), so callers may use
    threads.
    """
    try:
        verifier, key = _public_key(vkey)
    except FormatError as exc:
        raise RecordError("signer", where, str(exc)) from None
    try:
        sig = binascii.a2b_base64(signature_b64.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        raise RecordError("signature", where, "is not valid base64") from None
    if len(sig) != SIGNATURE_SIZE:
        raise RecordError("signature", where, f"is {len(sig)} bytes, not {SIGNATURE_SIZE}")
    if not verify_ed25519(verifier.public_key, sig, message, key):
        name = vkey.split("+", 1)[0]
        raise RecordError("signature", where, f"does not verify with the signer's key {name!r}")


def sign_record(obj: Mapping[str, Any], signer: Signer) -> dict[str, Any]:
    """Return a copy of ``obj`` signed by ``signer``.

    Sets ``signer`` to the key's vkey when absent; refuses (:class:`InputError`) if it names
    another key. A ``signature`` already present is replaced. The result must validate as a
    :class:`Record` (else :class:`RecordError`, check ``schema``).
    """
    vkey = signer.verifier.vkey
    out = {k: v for k, v in obj.items() if k != "signature"}
    present = out.setdefault("signer", vkey)
    if present != vkey:
        raise InputError(
            f"record's signer is {str(present)[:80]!r}, not this key ({vkey}); "
            "remove 'signer' or sign with that key"
        )
    validate(out)
    out["signature"] = b64(signer.sign(signing_bytes(out)))
    return out


def verify_record(obj: Mapping[str, Any], where: str = "record") -> Record:
    """Validate a signed record and check its signature against its ``signer``.

    Does not decide whether the key is allowed to sign it (that is the ledger's key
    registry). Raises :class:`RecordError` with check ``schema``, ``signer`` or ``signature``.
    """
    record = validate(obj, where)
    if record.signature is None:
        raise RecordError("signature", where, "record is not signed (no 'signature')")
    check_signature(record.signer, signing_bytes(obj), record.signature, where)
    return record


def without_signature(entry: bytes, signature_b64: str, where: str = "record") -> bytes:
    """The inverse of :func:`with_signature`: JCS of a logged record minus its signature."""
    member = b',"signature":"' + _ascii(signature_b64, where) + b'"'
    at = entry.find(member)
    if at < 0:
        raise InputError("logged record does not hold its signature member")
    return entry[:at] + entry[at + len(member) :]
