"""tlog-policy: parsing (errors name the line) and quorums over cosigned checkpoints."""

from __future__ import annotations

import pytest

from cvid.errors import FormatError, VerificationError
from cvid.tlog.checkpoint import Checkpoint, sign_checkpoint
from cvid.tlog.cosignature import CosignerKey, cosign
from cvid.tlog.merkle import EMPTY_ROOT
from cvid.tlog.note import Note, Signer
from cvid.witness.policy import parse_policy

LOG = Signer.generate("example.org/log")
W = {n: Signer.generate(f"{n.lower()}.example/w") for n in ("X1", "X2", "X3", "Y1", "Y2", "Y3")}


def vkey(name: str) -> str:
    return CosignerKey.of(W[name]).vkey


SPEC_EXAMPLE = f"""
# The two-level example of the spec.
log {LOG.verifier.vkey}

witness X1 {vkey("X1")}
witness X2 {vkey("X2")}
witness X3 {vkey("X3")}  https://x3.example/
group X-witnesses 2 X1 X2 X3

witness Y1 {vkey("Y1")}
\twitness Y2 {vkey("Y2")}
witness Y3 {vkey("Y3")}
group Y-witnesses any Y1 Y2 Y3

group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y
"""


def cosigned(*names: str, tamper: str | None = None) -> bytes:
    cp = Checkpoint(LOG.name, 0, EMPTY_ROOT)
    signed = sign_checkpoint(cp, LOG)
    sigs = [cosign(cp.text(), W[n], 1_700_000_000) for n in names]
    if tamper is not None:
        bad = cosign(cp.text(), W[tamper], 1_700_000_000)
        sigs.append(type(bad)(bad.name, bad.key_id, bad.signature[:8] + bytes(64)))
    return Note(signed.note.text, signed.note.signatures + tuple(sigs)).encode()


def test_the_spec_example_parses() -> None:
    p = parse_policy(SPEC_EXAMPLE, "policy")
    assert [v.name for v in p.logs] == [LOG.name]
    assert sorted(p.witnesses) == sorted(W)
    assert p.witnesses["X3"].url == "https://x3.example/"
    assert p.groups["X-witnesses"].threshold == 2
    assert p.groups["Y-witnesses"].threshold == 1
    assert p.groups["X-and-Y"].threshold == 2
    assert p.quorum == "X-and-Y"


@pytest.mark.parametrize(
    ("names", "ok", "missing"),
    [
        (("X1", "X2", "Y3"), True, ""),
        (("X1", "X2", "X3", "Y1", "Y2", "Y3"), True, ""),
        (("X1", "Y1"), False, "missing X-witnesses"),
        (("X1", "X2"), False, "missing Y-witnesses"),
        ((), False, "has 0"),
    ],
)
def test_the_quorum_of_two_levels_of_groups(names: tuple[str, ...], ok: bool, missing: str) -> None:
    result = parse_policy(SPEC_EXAMPLE).evaluate(cosigned(*names))
    assert result.quorum is ok
    assert set(result.cosigned) == set(names)
    assert missing in result.missing


def test_a_cosignature_that_does_not_verify_does_not_count() -> None:
    p = parse_policy(SPEC_EXAMPLE)
    result = p.evaluate(cosigned("X1", "Y1", tamper="X2"))
    assert not result.quorum and "X2" not in result.cosigned
    with pytest.raises(VerificationError, match="quorum is not met: group X-and-Y needs 2"):
        p.require(cosigned("X1", "Y1", tamper="X2"))


def test_a_checkpoint_of_another_log_is_refused() -> None:
    other = Signer.generate("example.org/log")
    cp = Checkpoint(other.name, 0, EMPTY_ROOT)
    with pytest.raises(VerificationError, match="no signature from a known key"):
        parse_policy(SPEC_EXAMPLE).evaluate(sign_checkpoint(cp, other).encode())


def test_quorum_none_and_a_single_witness() -> None:
    assert parse_policy(f"log {LOG.verifier.vkey}\nquorum none\n").evaluate(cosigned()).quorum
    single = parse_policy(f"witness A {vkey('X1')}\nquorum A\n")
    assert single.evaluate(cosigned("X1")).quorum
    assert single.evaluate(cosigned("X2")).missing == "no valid cosignature from witness A"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "no quorum line"),
        ("quorum none\nquorum none\n", "line 2: a second quorum line"),
        ("quorum A\n", "line 1: quorum 'A' is not a witness or group defined above"),
        (f"\n\nwitness A {vkey('X1')}\nwitness A {vkey('X2')}\n", "line 4: name 'A' is already"),
        (f"witness A {vkey('X1')}\nwitness B {vkey('X1')}\n", "line 2: the same public key"),
        (f"witness A {LOG.verifier.vkey}\n", "line 1: cosigner key"),
        (f"log {vkey('X1')}\n", "line 1: verifier key"),
        (f"witness A {vkey('X1')}\ngroup G 2 A\n", "line 2: threshold 2 is not between 1 and 1"),
        (f"witness A {vkey('X1')}\ngroup G 0 A\n", "line 2: threshold '0'"),
        (f"witness A {vkey('X1')}\ngroup G any A A\n", "line 2: a member is listed more than once"),
        (f"witness A {vkey('X1')}\ngroup G any B\n", "line 2: member 'B' is not a witness"),
        ("group G any none\n", "line 1: 'none' cannot be a group member"),
        (f"witness none {vkey('X1')}\n", "line 1: 'none' is predefined"),
        ("witnes A B\n", "line 1: unknown line type 'witnes'"),
        ("quorum none\x0b\n", "line 1: has a control character"),
        ("log\n", "line 1: expected 'log <vkey> [<url>]'"),
        (f"witness A {vkey('X1')} url extra\n", "line 1: expected 'witness <name>"),
    ],
)
def test_a_malformed_policy_names_the_line(text: str, said: str) -> None:
    with pytest.raises(FormatError, match=r"^policy\.txt") as caught:
        parse_policy(text + ("" if "quorum" in text or not text else "quorum none\n"), "policy.txt")
    assert said in caught.value.diagnostics()


def test_comments_blank_lines_and_opaque_bytes_are_allowed() -> None:
    text = "  # a comment\n\n \t \n# caf\xc3\xa9\nquorum none\n".encode("latin-1")
    assert parse_policy(text).quorum == "none"
