"""The add-checkpoint wire format: round trips, limits, and malformed input naming its line."""

from __future__ import annotations

import hashlib
import re

import pytest

from cvid.errors import FormatError
from cvid.tlog.note import NoteSignature
from cvid.witness.protocol import (
    MAX_NOTE_BYTES,
    MAX_PROOF_LINES,
    AddCheckpoint,
    format_cosignatures,
    format_size,
    origin_hash,
    parse_cosignatures,
    parse_size,
)

NOTE = b"example.org/log\n3\n" + b"A" * 43 + b"=\n\n\xe2\x80\x94 example.org/log AAAA\n"
HASH = "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw="


def test_a_request_round_trips() -> None:
    req = AddCheckpoint(20852014, (b"\x01" * 32, b"\x02" * 32), NOTE)
    body = req.encode()
    assert body.startswith(b"old 20852014\n")
    assert AddCheckpoint.parse(body) == req


def test_the_spec_example_body_parses() -> None:
    body = (f"old 20852014\n{HASH}\n\n").encode() + NOTE
    req = AddCheckpoint.parse(body)
    assert req.old_size == 20852014 and len(req.proof) == 1 and req.checkpoint == NOTE


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"old 1\n", "no empty line"),
        (b"new 1\n\n" + NOTE, "line 1 is 'new 1'"),
        (b"old 01\n\n" + NOTE, "line 1 (old size)"),
        (b"old -1\n\n" + NOTE, "line 1 (old size)"),
        (b"old 1 \n\n" + NOTE, "line 1 (old size)"),
        (b"old 99999999999999999999\n\n" + NOTE, "larger than 2^63-1"),
        (f"old 5\n{HASH}\nnot base64!\n\n".encode() + NOTE, "line 3 (a proof hash)"),
        (b"old 5\nAAAA\n\n" + NOTE, "line 2: a proof hash is 3 bytes"),
        (b"old 5\n\xff\n\n" + NOTE, "not ASCII"),
        (b"old 0\n\n", "no checkpoint"),
    ],
)
def test_a_malformed_request_is_refused_naming_the_line(body: bytes, said: str) -> None:
    with pytest.raises(FormatError, match=re.escape(said)):
        AddCheckpoint.parse(body)


def test_more_than_63_proof_lines_are_refused() -> None:
    lines = "\n".join([HASH] * (MAX_PROOF_LINES + 1))
    with pytest.raises(FormatError, match="64 consistency proof lines, over 63"):
        AddCheckpoint.parse(f"old 5\n{lines}\n\n".encode() + NOTE)
    ok = "\n".join([HASH] * MAX_PROOF_LINES)
    assert len(AddCheckpoint.parse(f"old 5\n{ok}\n\n".encode() + NOTE).proof) == 63


def test_an_oversized_note_or_body_is_refused() -> None:
    with pytest.raises(FormatError, match=r"checkpoint is .* bytes, over"):
        AddCheckpoint.parse(b"old 0\n\n" + b"x" * (MAX_NOTE_BYTES + 1))
    with pytest.raises(FormatError, match="request body is"):
        AddCheckpoint.parse(b"old 0\n\n" + b"x" * (MAX_NOTE_BYTES * 2))


def test_cosignature_lines_round_trip_and_bad_lines_are_named() -> None:
    sigs = [NoteSignature("w1", b"\x01\x02\x03\x04", b"s" * 72), NoteSignature("w2", b"abcd", b"t")]
    assert parse_cosignatures(format_cosignatures(sigs)) == sigs
    with pytest.raises(FormatError, match="line 2 does not start"):
        parse_cosignatures(format_cosignatures(sigs[:1]) + b"hello\n")
    with pytest.raises(FormatError, match="end with a newline"):
        parse_cosignatures(format_cosignatures(sigs)[:-1])
    with pytest.raises(FormatError, match="response is"):
        parse_cosignatures(b"x" * 20000)


def test_the_409_size_body() -> None:
    assert format_size(17) == b"17\n"
    assert parse_size(b"17\n") == 17
    for bad in (b"17", b"017\n", b"-1\n", b"x\n", b"1" * 40 + b"\n"):
        with pytest.raises(FormatError):
            parse_size(bad)


def test_the_origin_hash_is_lowercase_hex_sha256() -> None:
    assert origin_hash("example.org/log") == hashlib.sha256(b"example.org/log").hexdigest()
