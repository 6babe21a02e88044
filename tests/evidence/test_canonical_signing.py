"""Canonical bytes against RFC 8785's own examples; signatures as third parties make them."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from evidence_kit import World
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvid.errors import InputError
from cvid.evidence import RecordError, canonical, sign_record, signing_bytes, verify_record
from cvid.evidence.signing import parse_json, with_signature, without_signature
from cvid.tlog.note import Verifier

# RFC 8785 Appendix B: IEEE 754 binary64 values and their canonical serialisation.
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


def binary64(hex_bits: str) -> float:
    value: float = struct.unpack(">d", bytes.fromhex(hex_bits))[0]
    return value


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B)
def test_numbers_serialise_as_rfc8785_appendix_b(bits: str, expected: str) -> None:
    assert canonical(binary64(bits)) == expected.encode()


@pytest.mark.parametrize("bits", ["7fffffffffffffff", "7ff0000000000000"])
def test_nan_and_infinity_cannot_be_canonicalised(bits: str) -> None:
    with pytest.raises(InputError, match="cannot canonicalise"):
        canonical(binary64(bits))


def test_the_rfc8785_section_3_2_4_example() -> None:
    source = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical(json.loads(source)) == expected.encode("utf-8")


def test_the_rfc8785_section_3_2_3_sorting_example() -> None:
    source = (
        '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return",'
        ' "\\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One",'
        ' "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control",'
        ' "\\u00f6": "Latin Small Letter O With Diaeresis"}'
    )
    out = json.loads(canonical(json.loads(source)))
    assert list(out.values()) == [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",
        "Hebrew Letter Dalet With Dagesh",
    ]


def test_integers_beyond_ijson_are_refused() -> None:
    with pytest.raises(InputError):
        canonical({"n": 2**53})


def test_strict_parsing_refuses_duplicates_and_nan() -> None:
    with pytest.raises(ValueError, match="duplicate member name 'a'"):
        parse_json('{"a": 1, "a": 2}')
    with pytest.raises(ValueError, match="NaN is not a JSON number"):
        parse_json('{"a": NaN}')


def test_a_third_party_signature_over_the_object_as_submitted_verifies(world: World) -> None:
    # Signed with plain `cryptography`, times in a non-Z offset form that the model normalises:
    # the signature covers the object as submitted, not cvid's re-serialisation of it.
    private = Ed25519PrivateKey.from_private_bytes(world.keys["us-decl"].seed)
    obj = world.record(observed_at="2017-09-01T03:00:00+03:00")
    obj["signer"] = world.keys["us-decl"].verifier.vkey
    message = canonical({k: v for k, v in obj.items() if k != "signature"})
    obj["signature"] = base64.b64encode(private.sign(message)).decode()
    record = verify_record(obj)
    assert record.observed_at.isoformat() == "2017-09-01T00:00:00+00:00"
    assert record.to_json()["observed_at"] == "2017-09-01T00:00:00Z"
    verifier = Verifier.from_vkey(record.signer)
    assert verifier.verify(signing_bytes(obj), base64.b64decode(obj["signature"]))


def test_sign_sets_the_signer_and_verify_checks_it(world: World) -> None:
    signed = sign_record(world.record(), world.keys["us-decl"])
    assert signed["signer"] == world.keys["us-decl"].verifier.vkey
    assert len(base64.b64decode(signed["signature"])) == 64
    assert verify_record(signed).signature == signed["signature"]
    resigned = sign_record(signed, world.keys["us-decl"])
    assert resigned == signed  # Ed25519 is deterministic; an old signature is replaced
    signed["summary"] = "edited after signing"
    with pytest.raises(RecordError) as info:
        verify_record(signed)
    assert info.value.check == "signature"


def test_signing_refuses_an_invalid_record(world: World) -> None:
    with pytest.raises(RecordError) as info:
        sign_record(world.record(kind="gossip"), world.keys["us-decl"])
    assert info.value.check == "schema" and "kind" in info.value.detail


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
_keys = st.one_of(st.sampled_from(["signer", "signature", "a", "zz", '"signer"']), _text)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    summary=_text,
    values=st.dictionaries(_keys, st.one_of(_text, st.booleans()), max_size=4),
    subject=_text.filter(bool),
)
def test_splicing_the_signature_equals_canonicalising_the_signed_record(
    world: World, summary: str, values: dict[str, Any], subject: str
) -> None:
    signed = world.signed(summary=summary or None, values=values, subject=subject)
    unsigned = signing_bytes(signed)
    entry = with_signature(unsigned, signed["signature"])
    assert entry == canonical(signed)
    assert without_signature(entry, signed["signature"]) == unsigned


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.one_of(_text, st.sampled_from(["\u20ac", "\U0001f600", "\ufb33"])),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(value=_json)
def test_canonical_equals_the_reference_implementation(value: Any) -> None:
    # canonical() takes a faster path for float-free values with ASCII keys; it must agree.
    import rfc8785

    assert canonical(value) == rfc8785.dumps(value)
