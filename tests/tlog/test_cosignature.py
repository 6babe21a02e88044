"""C2SP ``tlog-cosignature/v1`` (Ed25519): key IDs, the signed message, round trips, tampering.

Known answers: a type-0x04 verifier key and a cosignature timestamp published in
transparency-dev/formats (note/note_cosigv1_test.go), and a signature computed here from the
spec's own example checkpoint with the message bytes written out by hand (Ed25519 is
deterministic, so the whole signature line is fixed).
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cvid.errors import FormatError, VerificationError
from cvid.store import Log
from cvid.tlog import note
from cvid.tlog.checkpoint import Checkpoint, open_checkpoint
from cvid.tlog.cosignature import (
    MAX_TIMESTAMP,
    CosignerKey,
    cosign,
    cosignature_timestamp,
    cosigner_key_id,
    signed_message,
    verify_cosignature,
)

#: The checkpoint of the C2SP tlog-cosignature example.
SPEC_TEXT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_TIME = 1679315147
SEED = bytes(range(32))
NAME = "witness.example.com/w1"


def signer() -> note.Signer:
    return note.Signer(NAME, SEED)


def log_signer() -> note.Signer:
    return note.Signer("example.com/behind-the-sofa", hashlib.sha256(b"log").digest())


def cosigned(timestamp: int = SPEC_TIME) -> note.Note:
    text = SPEC_TEXT
    log_sig = note.sign(text, log_signer()).signatures[0]
    return note.Note(text, (log_sig, cosign(text, signer(), timestamp)))


# -- key IDs and keys ------------------------------------------------------------------------


def test_key_id_is_sha256_of_name_newline_0x04_key() -> None:
    pk = signer().verifier.public_key
    want = hashlib.sha256(NAME.encode() + b"\x0a" + b"\x04" + pk).digest()[:4]
    assert cosigner_key_id(NAME, pk) == want
    assert CosignerKey.of(signer()).key_id == want
    # Not the key ID of the same key's plain note signatures (type 0x01).
    assert want != signer().verifier.key_id
    assert cosign(SPEC_TEXT, signer(), SPEC_TIME).key_id == want


def test_published_cosigner_vkey_parses_with_its_key_id() -> None:
    """A native type-0x04 verifier key from transparency-dev/formats' tests."""
    vkey = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
    key = CosignerKey.from_vkey(vkey)
    assert key.name == "remora.n621.de"
    assert key.key_id.hex() == "da77ade7"
    assert key.vkey == vkey
    raw = base64.b64decode("BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2")
    assert hashlib.sha256(b"remora.n621.de\n" + raw).digest()[:4].hex() == "da77ade7"


@pytest.mark.parametrize(
    ("vkey", "match"),
    [
        ("remora.n621.de+da77ade8+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2", "does not match"),
        ("remora.n621.de+da77ade7+AevN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2", "type 0x04"),
        ("remora.n621.de+da77ade7", r"name\+hexid\+base64key"),
        ("remora.n621.de+zz77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2", "8 hex digits"),
    ],
)
def test_bad_cosigner_vkeys_are_refused(vkey: str, match: str) -> None:
    with pytest.raises(FormatError, match=match):
        CosignerKey.from_vkey(vkey)


def test_a_note_vkey_is_not_a_cosigner_vkey() -> None:
    with pytest.raises(FormatError, match="type 0x04"):
        CosignerKey.from_vkey(signer().verifier.vkey)
    assert CosignerKey.from_vkey(CosignerKey.of(signer()).vkey) == CosignerKey.of(signer())


# -- the signed message and known answers ----------------------------------------------------


def test_signed_message_is_header_time_and_checkpoint() -> None:
    want = (
        b"cosignature/v1\n"
        b"time 1679315147\n"
        b"example.com/behind-the-sofa\n"
        b"20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )
    assert signed_message(SPEC_TEXT, SPEC_TIME) == want
    assert signed_message(SPEC_TEXT, 0).startswith(b"cosignature/v1\ntime 0\n")
    # Extension lines are part of the message.
    assert signed_message(SPEC_TEXT + "ext\n", 5).endswith(b"=\next\n")


def test_known_answer_signature_line() -> None:
    """The whole line, recomputed with the raw Ed25519 primitive over hand-written bytes."""
    message = (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )
    key = Ed25519PrivateKey.from_private_bytes(SEED)
    pk = signer().verifier.public_key
    kid = hashlib.sha256(NAME.encode() + b"\n\x04" + pk).digest()[:4]
    body = kid + SPEC_TIME.to_bytes(8, "big") + key.sign(message)
    want = f"— {NAME} {base64.b64encode(body).decode()}"
    assert cosign(SPEC_TEXT, signer(), SPEC_TIME).line() == want
    assert len(body) == 4 + 8 + 64


def test_published_cosignature_timestamp() -> None:
    """transparency-dev/formats' CosignatureTimestamp vector: 1727964367."""
    raw = base64.b64decode(
        "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcF"
        "iEBYJXORmnFBOBA=="
    )
    sig = note.NoteSignature("w", raw[:4], raw[4:])
    assert cosignature_timestamp(sig) == 1727964367
    plain = base64.b64decode(
        "eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xk"
        "NQY="
    )
    with pytest.raises(FormatError, match="not 72"):
        cosignature_timestamp(note.NoteSignature("w", plain[:4], plain[4:]))


# -- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("timestamp", [0, 1, SPEC_TIME, MAX_TIMESTAMP])
def test_round_trip(timestamp: int) -> None:
    n = cosigned(timestamp)
    pk = signer().verifier.public_key
    assert verify_cosignature(n, NAME, pk) == timestamp
    assert verify_cosignature(n.encode(), NAME, pk) == timestamp
    assert CosignerKey.of(signer()).verify(n.encode().decode()) == timestamp
    # The log's own signature still verifies, first, and the cosignature is ignored by it.
    opened = open_checkpoint(n.encode(), log_signer().verifier)
    assert opened.note.signatures[0].name == log_signer().name
    assert opened.checkpoint.size == 20852163


@pytest.mark.parametrize("timestamp", [-1, MAX_TIMESTAMP + 1])
def test_timestamps_out_of_range_are_refused(timestamp: int) -> None:
    with pytest.raises(FormatError, match="outside"):
        cosign(SPEC_TEXT, signer(), timestamp)


def test_every_one_bit_flip_of_the_signature_line_fails() -> None:
    n = cosigned()
    pk = signer().verifier.public_key
    good = n.signatures[1]
    raw = good.key_id + good.signature
    for bit in range(len(raw) * 8):
        flipped = bytearray(raw)
        flipped[bit // 8] ^= 1 << (bit % 8)
        sig = note.NoteSignature(NAME, bytes(flipped[:4]), bytes(flipped[4:]))
        bad = note.Note(n.text, (n.signatures[0], sig))
        with pytest.raises(VerificationError):
            verify_cosignature(bad, NAME, pk)
        # The same, through the encoded note.
        with pytest.raises(VerificationError):
            verify_cosignature(bad.encode(), NAME, pk)


def test_every_one_bit_flip_of_the_checkpoint_fails() -> None:
    n = cosigned()
    pk = signer().verifier.public_key
    text = n.text.encode()
    for bit in range(len(text) * 8):
        flipped = bytearray(text)
        flipped[bit // 8] ^= 1 << (bit % 8)
        try:
            t = flipped.decode()
        except UnicodeDecodeError:
            continue
        with pytest.raises((VerificationError, FormatError)):
            verify_cosignature(note.Note(t, n.signatures), NAME, pk)


def test_wrong_name_key_or_time_fails() -> None:
    n = cosigned()
    pk = signer().verifier.public_key
    other = note.Signer(NAME, bytes(32)).verifier.public_key
    with pytest.raises(VerificationError, match="no cosignature"):
        verify_cosignature(n, "witness.example.com/w2", pk)
    with pytest.raises(VerificationError, match="no cosignature"):
        verify_cosignature(n, NAME, other)
    # A line claiming another time than the one signed.
    sig = n.signatures[1]
    moved = note.NoteSignature(
        NAME, sig.key_id, (SPEC_TIME + 1).to_bytes(8, "big") + sig.signature[8:]
    )
    with pytest.raises(VerificationError, match="does not verify"):
        verify_cosignature(note.Note(n.text, (n.signatures[0], moved)), NAME, pk)


def test_cosignatures_and_note_signatures_never_stand_for_each_other() -> None:
    s = signer()
    plain = note.sign(SPEC_TEXT, s)
    with pytest.raises(VerificationError, match="no cosignature"):
        verify_cosignature(plain, NAME, s.verifier.public_key)
    n = note.Note(SPEC_TEXT, (cosign(SPEC_TEXT, s, SPEC_TIME),))
    with pytest.raises(VerificationError, match="no signature from a known key"):
        note.open_note(n.encode(), [s.verifier])


def test_two_cosignatures_by_one_key_are_ambiguous() -> None:
    n = cosigned()
    twice = note.Note(n.text, (*n.signatures, cosign(n.text, signer(), SPEC_TIME + 60)))
    with pytest.raises(VerificationError, match="2 cosignatures"):
        verify_cosignature(twice, NAME, signer().verifier.public_key)


# -- a log with a cosigner -------------------------------------------------------------------


def test_log_stores_checkpoints_with_the_cosignature_after_its_own(tmp_path: Path) -> None:
    clock = note.Signer("example.org/log/clock", hashlib.sha256(b"clock").digest())
    with Log.create(tmp_path / "log", "example.org/log") as log:
        log.cosigners = (lambda text: cosign(text, clock, 1_700_000_000),)
        log.append([b"a", b"b"])
        signed = log.checkpoint()
        assert [s.name for s in signed.note.signatures] == ["example.org/log", clock.name]
        stored = log.driver.latest_checkpoint()
        assert stored is not None and stored[1] == signed.encode()
        key = CosignerKey.of(clock)
        assert key.verify(stored[1]) == 1_700_000_000
        assert log.latest_checkpoint() == signed
        # Same size: nothing new is signed, so the clock is not asked again.
        log.cosigners = ()
        assert log.checkpoint() == signed
        assert Checkpoint.parse(signed.note.text).size == 2
