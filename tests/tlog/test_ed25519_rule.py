"""cvid's Ed25519 check asks libsodium first for speed; its answer must always be OpenSSL's.

``verify_ed25519`` takes libsodium's "yes" as final and re-asks ``cryptography`` (OpenSSL) on
"no". These tests hold it to ``cryptography``'s verdict on valid, mutated and degenerate
signatures, including encodings the two libraries treat differently.
"""

from __future__ import annotations

import hashlib

import nacl.bindings
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from cvid.tlog.note import verify_ed25519

L = 2**252 + 27742317777372353535851937790883648493


def _openssl(public: bytes, sig: bytes, msg: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(sig, msg)
    except (InvalidSignature, ValueError):
        return False
    return True


def _sodium(public: bytes, sig: bytes, msg: bytes) -> bool:
    try:
        nacl.bindings.crypto_sign_open(sig + msg, public)
    except Exception:
        return False
    return True


def _pair(seed: bytes) -> tuple[Ed25519PrivateKey, bytes]:
    key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed).digest())
    return key, key.public_key().public_bytes_raw()


@settings(max_examples=300, deadline=None)
@given(
    seed=st.binary(min_size=1, max_size=8),
    msg=st.binary(max_size=200),
    flip=st.one_of(st.none(), st.integers(0, 64 * 8 - 1)),
    where=st.sampled_from(["sig", "msg", "key"]),
)
def test_agrees_with_openssl_on_valid_and_mutated_signatures(
    seed: bytes, msg: bytes, flip: int | None, where: str
) -> None:
    key, public = _pair(seed)
    sig = bytearray(key.sign(msg))
    m, pub = bytearray(msg), bytearray(public)
    if flip is not None:
        target = {"sig": sig, "msg": m, "key": pub}[where]
        if target:
            target[(flip // 8) % len(target)] ^= 1 << (flip % 8)
    assert verify_ed25519(bytes(pub), bytes(sig), bytes(m)) is _openssl(
        bytes(pub), bytes(sig), bytes(m)
    )


def test_a_valid_signature_verifies_and_a_flipped_one_does_not() -> None:
    key, public = _pair(b"k")
    sig = key.sign(b"record")
    assert verify_ed25519(public, sig, b"record")
    assert not verify_ed25519(public, sig, b"recorD")
    assert not verify_ed25519(public, sig[:63], b"record")


def test_non_canonical_s_is_refused_like_openssl() -> None:
    key, public = _pair(b"s")
    sig = key.sign(b"m")
    s = int.from_bytes(sig[32:], "little") + L  # the same scalar, not reduced
    if s >= 2**256:
        pytest.fail("test key gave an S too large to re-encode; pick another seed")
    forged = sig[:32] + s.to_bytes(32, "little")
    assert _openssl(public, forged, b"m") is False
    assert verify_ed25519(public, forged, b"m") is False


def test_small_order_key_follows_openssl_where_libsodium_differs() -> None:
    # The identity point as public key and as R, with S = 0: R = [S]B - [h]A holds for every
    # message. libsodium refuses small-order keys; OpenSSL accepts. cvid's rule is OpenSSL's,
    # so the fallback must answer, not libsodium.
    identity = (1).to_bytes(32, "little")
    sig = identity + bytes(32)
    assert _sodium(identity, sig, b"any") is False
    expected = _openssl(identity, sig, b"any")
    assert verify_ed25519(identity, sig, b"any") is expected


def test_a_small_order_key_is_refused_where_keys_enter() -> None:
    from cvid.errors import FormatError
    from cvid.tlog.note import ALG_ED25519, Verifier, b64, key_id

    identity = (1).to_bytes(32, "little")
    text = f"RU+{key_id('RU', ALG_ED25519, identity).hex()}+{b64(bytes([ALG_ED25519]) + identity)}"
    with pytest.raises(FormatError, match="small-order"):
        Verifier.from_vkey(text)
    honest = _pair(b"h")[1]
    good = f"RU+{key_id('RU', ALG_ED25519, honest).hex()}+{b64(bytes([ALG_ED25519]) + honest)}"
    assert Verifier.from_vkey(good).public_key == honest
