"""Text formats: C2SP signed-note keys and notes, tlog-checkpoint and tlog-proof receipts.

The published vector is the example key and note of Go's ``golang.org/x/mod/sumdb/note``
(``note_test.go``, also quoted by the C2SP signed-note spec's implementations): an
independent implementation's bytes, which ours must reproduce exactly.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

import pytest

from cvid.errors import FormatError, InputError, VerificationError
from cvid.tlog import note
from cvid.tlog.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from cvid.tlog.merkle import EMPTY_ROOT, MemoryHashes, inclusion_proof, leaf_hash
from cvid.tlog.receipt import HEADER, Receipt, verify_receipt

GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqf"
    "qdngotpRZb6KE6RyyBwJnAM=\n"
)
GO_NOTE = GO_TEXT + "\n" + GO_SIG

ORIGIN = "example.com/log"
SIGNER = note.Signer(ORIGIN, hashlib.sha256(b"log key").digest())
STRANGER = note.Signer(ORIGIN, hashlib.sha256(b"another key").digest())
ROOT = hashlib.sha256(b"root").digest()


# -- keys -----------------------------------------------------------------------------------------


def test_go_verifier_key_parses_and_round_trips() -> None:
    v = note.Verifier.from_vkey(GO_VKEY)
    assert v.name == "PeterNeumann"
    assert v.key_id.hex() == "c74f20a3"
    assert len(v.public_key) == 32
    assert v.vkey == GO_VKEY


def test_key_id_is_the_sha256_prefix_the_spec_defines() -> None:
    # signed-note: key ID = SHA-256(name || 0x0A || 0x01 || 32-byte key)[:4]
    raw = base64.b64decode(GO_VKEY.split("+", 2)[2])
    assert raw[0] == 0x01
    manual = hashlib.sha256(b"PeterNeumann" + b"\n" + raw).digest()[:4]
    assert manual == bytes.fromhex("c74f20a3")
    assert note.key_id("PeterNeumann", 0x01, raw[1:]) == manual
    v = SIGNER.verifier
    assert v.key_id == hashlib.sha256(ORIGIN.encode() + b"\n\x01" + v.public_key).digest()[:4]


def test_the_published_go_note_opens_with_its_vkey() -> None:
    # Go's published example note and verifier key; signing byte for byte with a Go key is
    # checked in tests/interop with keys Go generates at test time (no private key is kept).
    opened = note.open_note(GO_NOTE, [note.Verifier.from_vkey(GO_VKEY)])
    assert opened.text == GO_TEXT
    tampered = GO_NOTE.replace(GO_TEXT, GO_TEXT.upper())
    with pytest.raises(VerificationError):
        note.open_note(tampered, [note.Verifier.from_vkey(GO_VKEY)])


def test_generated_keys_round_trip_through_their_text() -> None:
    s = note.Signer.generate("witness.example/w1")
    assert note.Signer.from_skey(s.skey) == s
    assert note.Verifier.from_vkey(s.verifier.vkey) == s.verifier
    assert note.Verifier.from_vkey(" " + s.verifier.vkey + "\n") == s.verifier


def _vkey_with(name: str = "PeterNeumann", hexid: str = "c74f20a3", key: str = "") -> str:
    return f"{name}+{hexid}+{key or GO_VKEY.split('+', 2)[2]}"


@pytest.mark.parametrize(
    "text",
    [
        "PeterNeumann",
        "PeterNeumann+c74f20a3",
        _vkey_with(hexid="c74f20a4"),  # wrong key id
        _vkey_with(hexid="c74f20"),  # short key id
        _vkey_with(hexid="zzzzzzzz"),  # not hex
        _vkey_with(name="PeterNeuman"),  # another name: the id no longer matches
        _vkey_with(key="ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T"),  # bad base64
        _vkey_with(key=base64.b64encode(b"\x02" + bytes(32)).decode()),  # not Ed25519
        _vkey_with(key=base64.b64encode(b"\x01" + bytes(31)).decode()),  # short key
    ],
)
def test_malformed_verifier_keys_are_refused(text: str) -> None:
    with pytest.raises(FormatError):
        note.Verifier.from_vkey(text)


@pytest.mark.parametrize("name", ["Peter Neumann", "", "a\tb"])
def test_verifier_keys_with_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(InputError):
        note.Verifier.from_vkey(_vkey_with(name=name))


@pytest.mark.parametrize(
    "parse",
    [
        lambda: note.Verifier.from_vkey(_vkey_with(name="Peter Neumann")),
        lambda: note.parse(GO_TEXT + "\n" + GO_SIG.replace("PeterNeumann", "Peter+Neumann")),
    ],
    ids=["vkey", "note"],
)
def test_an_invalid_key_name_raises_format_error(parse: Callable[[], object]) -> None:
    with pytest.raises(FormatError):
        parse()


def test_private_key_text_errors() -> None:
    good = note.Signer.generate("PeterNeumann").skey
    parts = good.split("+", 4)
    parts[3] = "%08x" % (int(parts[3], 16) ^ 1)
    wrong_id = "+".join(parts)
    for text in ("PRIVATE+KEY+x", wrong_id, GO_VKEY):
        with pytest.raises(FormatError):
            note.Signer.from_skey(text)


# -- notes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"no blank line\n",
        GO_TEXT + "\n",  # no signatures
        GO_TEXT + "\n" + GO_SIG.rstrip("\n"),  # signature block without final newline
        GO_TEXT + "\n" + GO_SIG.replace("— ", "- "),  # not an em dash
        GO_TEXT + "\n" + GO_SIG.replace(" x08go", "  x08go"),
        GO_TEXT + "\n" + GO_SIG.replace("x08go", "!08go"),  # bad base64
        GO_TEXT + "\n— PeterNeumann AAAA\n",  # too short for id + signature
        "ctl\x01char\n\n" + GO_SIG,
        "no final newline\n\n" + GO_SIG[:-1],
        b"\xff\xfe\n\n" + GO_SIG.encode(),
    ],
)
def test_malformed_notes_are_refused(data: bytes | str) -> None:
    with pytest.raises(FormatError):
        note.parse(data)


def test_note_with_only_unknown_signatures_fails() -> None:
    with pytest.raises(VerificationError, match="no signature from a known key"):
        note.open_note(GO_NOTE, [SIGNER.verifier])


def test_note_keeps_unknown_cosignatures_and_checks_known_ones() -> None:
    witness = note.Signer.generate("witness.example")
    signed = note.sign("text\n", SIGNER, witness)
    opened = note.open_note(signed.encode(), [SIGNER.verifier])
    assert [s.name for s in opened.signatures] == [ORIGIN, "witness.example"]
    # A bad signature by a known key is an error even when another known key signed.
    bad = note.sign("other text\n", witness).signatures[0]
    forged = note.Note("text\n", (*signed.signatures, bad))
    with pytest.raises(VerificationError):
        note.open_note(forged.encode(), [SIGNER.verifier, witness.verifier])


# -- checkpoints ----------------------------------------------------------------------------------


def _cp_text(size: str = "5", root: str | None = None, *ext: str) -> str:
    root = base64.b64encode(ROOT).decode() if root is None else root
    return "".join(line + "\n" for line in [ORIGIN, size, root, *ext])


def test_checkpoint_text_round_trips() -> None:
    cp = Checkpoint(ORIGIN, 123456789, ROOT, ("ext one", "ext two"))
    assert (
        cp.text() == f"{ORIGIN}\n123456789\n{base64.b64encode(ROOT).decode()}\next one\next two\n"
    )
    assert Checkpoint.parse(cp.text()) == cp
    assert Checkpoint.parse(_cp_text("0", base64.b64encode(EMPTY_ROOT).decode())).size == 0


@pytest.mark.parametrize(
    "text",
    [
        f"{ORIGIN}\n5\n",  # missing root line
        f"{ORIGIN}\n",  # missing size and root
        "",
        _cp_text().rstrip("\n"),  # no final newline
        _cp_text()[len(ORIGIN) :],  # empty origin line
        _cp_text("05"),  # leading zero
        _cp_text("00"),
        _cp_text("-5"),
        _cp_text("+5"),
        _cp_text("5 "),
        _cp_text("٥"),  # a non-ASCII digit
        _cp_text("0x5"),
        _cp_text(root="not base64!"),
        _cp_text(root=base64.b64encode(ROOT).decode().rstrip("=")),  # missing padding
        _cp_text(root=base64.b64encode(ROOT[:31]).decode()),  # 31-byte hash
        _cp_text(root=base64.b64encode(ROOT + b"\0").decode()),  # 33-byte hash
        _cp_text("5", None, ""),  # empty extension line
    ],
)
def test_malformed_checkpoints_raise_format_error(text: str) -> None:
    with pytest.raises(FormatError):
        Checkpoint.parse(text)


def test_signed_checkpoint_opens_with_the_log_key_only() -> None:
    cp = Checkpoint(ORIGIN, 7, ROOT)
    signed = sign_checkpoint(cp, SIGNER).encode()
    assert open_checkpoint(signed, SIGNER.verifier).checkpoint == cp
    with pytest.raises(VerificationError):
        open_checkpoint(signed, STRANGER.verifier)
    with pytest.raises(VerificationError, match="origin"):
        open_checkpoint(signed, SIGNER.verifier, origin="example.com/other")
    not_a_checkpoint = note.sign(f"{ORIGIN}\n07\n{base64.b64encode(ROOT).decode()}\n", SIGNER)
    with pytest.raises(FormatError):
        open_checkpoint(not_a_checkpoint.encode(), SIGNER.verifier)


# -- receipts -------------------------------------------------------------------------------------

ENTRIES = [b"entry %d" % i for i in range(11)]
TREE = MemoryHashes([leaf_hash(e) for e in ENTRIES])


def _receipt(index: int = 6, extra: bytes | None = None, signer: note.Signer = SIGNER) -> Receipt:
    cp = sign_checkpoint(Checkpoint(signer.name, len(ENTRIES), TREE.root()), signer)
    proof = inclusion_proof(index, len(ENTRIES), TREE)
    return Receipt(index, tuple(proof), cp.encode(), extra)


@pytest.mark.parametrize("extra", [None, b"", b"submitter data \x00\xff"])
def test_receipt_round_trips_and_verifies(extra: bytes | None) -> None:
    r = _receipt(extra=extra)
    encoded = r.encode()
    assert encoded.startswith(HEADER.encode() + b"\n")
    assert Receipt.parse(encoded) == r
    cp = verify_receipt(Receipt.parse(encoded), ENTRIES[6], SIGNER.verifier)
    assert (cp.origin, cp.size, cp.root) == (ORIGIN, len(ENTRIES), TREE.root())


def _lines(r: Receipt) -> list[str]:
    return r.encode().split(b"\n\n", 1)[0].decode().split("\n")


def _with_head(lines: list[str], r: Receipt | None = None) -> bytes:
    return "\n".join(lines).encode() + b"\n\n" + (r or _receipt()).checkpoint


@pytest.mark.parametrize(
    "mangle",
    [
        lambda ls: ["c2sp.org/tlog-proof@v2", *ls[1:]],
        lambda ls: [ls[0], *ls[2:]],  # no index line
        lambda ls: [ls[0], "index 06", *ls[2:]],
        lambda ls: [ls[0], "index -6", *ls[2:]],
        lambda ls: [ls[0], "index six", *ls[2:]],
        lambda ls: [ls[0], "index  6", *ls[2:]],
        lambda ls: [ls[0], "extra !!", *ls[1:]],
        lambda ls: [*ls[:2], ls[2][:-2] + "!=", *ls[3:]],  # bad base64 proof hash
        lambda ls: [*ls[:2], base64.b64encode(bytes(31)).decode(), *ls[3:]],  # short hash
        lambda ls: [*ls[:2], base64.b64encode(bytes(33)).decode(), *ls[3:]],  # long hash
        lambda ls: [*ls[:2], "é", *ls[3:]],  # not ASCII
    ],
)
def test_malformed_receipts_raise_format_error(mangle: Callable[[list[str]], list[str]]) -> None:
    data = _with_head(mangle(_lines(_receipt())))
    with pytest.raises(FormatError):
        Receipt.parse(data)


def test_receipt_without_blank_line_raises_format_error() -> None:
    with pytest.raises(FormatError):
        Receipt.parse(("\n".join(_lines(_receipt())) + "\n").encode())


def test_receipt_verified_against_the_wrong_key_fails() -> None:
    r = _receipt()
    with pytest.raises(VerificationError):
        verify_receipt(r, ENTRIES[6], STRANGER.verifier)
    with pytest.raises(VerificationError):
        verify_receipt(r, ENTRIES[6], note.Signer.generate("example.com/other").verifier)
    # And a receipt whose checkpoint another key signed fails against the log's key.
    with pytest.raises(VerificationError):
        verify_receipt(_receipt(signer=STRANGER), ENTRIES[6], SIGNER.verifier)


def test_receipt_for_another_entry_or_index_fails() -> None:
    r = _receipt()
    with pytest.raises(VerificationError, match="not proven"):
        verify_receipt(r, ENTRIES[5], SIGNER.verifier)
    with pytest.raises(VerificationError):
        verify_receipt(Receipt(5, r.proof, r.checkpoint), ENTRIES[6], SIGNER.verifier)
    with pytest.raises(VerificationError, match="beyond"):
        verify_receipt(Receipt(11, r.proof, r.checkpoint), ENTRIES[6], SIGNER.verifier)
