"""The witness service in process: every status code of add-checkpoint, the monitoring
endpoint, atomic check-and-update, evidence of forks, and state kept across a restart."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from witness_kit import Clock, TestClient, WitnessMaker

from cvid.store.log import Log
from cvid.tlog.checkpoint import Checkpoint, SignedCheckpoint, sign_checkpoint
from cvid.tlog.merkle import EMPTY_ROOT, tree_hash
from cvid.tlog.note import Note, NoteSignature, Signer
from cvid.witness.app import create_app
from cvid.witness.protocol import AddCheckpoint, origin_hash, parse_cosignatures
from cvid.witness.witness import Witness


def body(old: int, signed: SignedCheckpoint | bytes, proof: list[bytes] | None = None) -> bytes:
    note = signed if isinstance(signed, bytes) else signed.encode()
    return AddCheckpoint(old, tuple(proof or ()), note).encode()


def post(client: TestClient, data: bytes) -> tuple[int, str, bytes]:
    r = client.post("/add-checkpoint", content=data)
    return r.status_code, r.headers.get("content-type", ""), r.content


@pytest.fixture
def witness(make_witness: WitnessMaker) -> Witness:
    return make_witness("w1.example")


@pytest.fixture
def client(witness: Witness) -> TestClient:
    return TestClient(create_app(witness))


def grow(log: Log, *entries: bytes) -> SignedCheckpoint:
    log.append(list(entries))
    return log.checkpoint()


def test_200_cosigns_and_the_cosignature_verifies(
    client: TestClient, witness: Witness, log: Log, clock: Clock
) -> None:
    cp = log.checkpoint()
    status, _, answer = post(client, body(0, cp))
    assert status == 200
    (sig,) = parse_cosignatures(answer)
    assert witness.key.verify(Note(cp.note.text, (sig,))) == int(clock.now)
    # Then from the size it cosigned, with a proof.
    new = grow(log, b"delta", b"epsilon")
    proof = log.consistency_proof(3, 5)
    assert post(client, body(3, new, proof))[0] == 200
    assert witness.state.latest(log.origin).size == 5  # type: ignore[union-attr]


def test_the_same_checkpoint_again_is_cosigned_again(client: TestClient, log: Log) -> None:
    cp = log.checkpoint()
    assert post(client, body(0, cp))[0] == 200
    assert post(client, body(3, cp))[0] == 200


def test_400_for_a_malformed_body_note_or_checkpoint(client: TestClient, log: Log) -> None:
    cp = log.checkpoint()
    assert post(client, b"old x\n\n" + cp.encode())[0] == 400
    assert post(client, b"old 0\n\nnot a note")[0] == 400
    text = "example.org/witnessed-log\nthree\nAAAA\n"
    bad = Note(text, (NoteSignature(log.origin, b"abcd", b"x" * 64),)).encode()
    status, _, why = post(client, body(0, bad))
    assert status == 400 and b"size" in why
    assert post(client, b"old 0\n\n" + b"x" * 200_000)[0] == 400


def test_400_when_the_old_size_exceeds_the_checkpoint(client: TestClient, log: Log) -> None:
    status, _, why = post(client, body(4, log.checkpoint()))
    assert status == 400 and b"old size 4 exceeds" in why


def test_403_for_a_bad_or_missing_log_signature(client: TestClient, log: Log) -> None:
    cp = log.checkpoint()
    sig = cp.note.signatures[0]
    forged = NoteSignature(sig.name, sig.key_id, bytes(64))
    assert post(client, body(0, Note(cp.note.text, (forged,)).encode()))[0] == 403
    impostor = Signer.generate(log.origin)  # same name, another key: not a known signature
    assert post(client, body(0, sign_checkpoint(cp.checkpoint, impostor)))[0] == 403


def test_404_for_an_unknown_origin(client: TestClient) -> None:
    other = Signer.generate("example.org/other")
    cp = sign_checkpoint(Checkpoint(other.name, 0, EMPTY_ROOT), other)
    status, _, why = post(client, body(0, cp))
    assert status == 404 and b"example.org/other" in why


def test_409_says_the_size_last_cosigned_as_text_x_tlog_size(client: TestClient, log: Log) -> None:
    assert post(client, body(0, log.checkpoint()))[0] == 200
    new = grow(log, b"delta")
    status, ctype, answer = post(client, body(0, new))
    assert (status, ctype, answer) == (409, "text/x.tlog.size", b"3\n")
    status, ctype, answer = post(client, body(2, new, log.consistency_proof(2, 4)))
    assert (status, answer) == (409, b"3\n")


def test_422_for_proofs_that_do_not_hold(client: TestClient, witness: Witness, log: Log) -> None:
    signer = log.signer
    assert signer is not None
    nonempty_zero = sign_checkpoint(Checkpoint(log.origin, 0, b"\x01" * 32), signer)
    assert post(client, body(0, nonempty_zero))[0] == 422
    cp = log.checkpoint()
    assert post(client, body(0, cp, [b"\x00" * 32]))[0] == 422  # a proof from size 0
    assert post(client, body(0, cp))[0] == 200
    new = grow(log, b"delta", b"epsilon")
    assert post(client, body(3, new, [b"\x07" * 32] * 2))[0] == 422  # a wrong proof
    fork = sign_checkpoint(Checkpoint(log.origin, 3, b"\x05" * 32), signer)
    status, _, why = post(client, body(3, fork))
    assert status == 422 and b"a fork" in why
    reasons = [r.reason for r in witness.state.refusals()]
    assert len(reasons) == 4 and "a fork" in reasons[-1]
    assert witness.state.latest(log.origin).size == 3  # type: ignore[union-attr]
    assert post(client, body(3, new, log.consistency_proof(3, 5)))[0] == 200


def test_get_checkpoint_serves_the_latest_cosigned_or_404(
    client: TestClient, witness: Witness, log: Log
) -> None:
    path = f"/{origin_hash(log.origin)}/checkpoint"
    assert client.get(path).status_code == 404
    cp = log.checkpoint()
    post(client, body(0, cp))
    r = client.get(path)
    assert r.status_code == 200
    served = r.content
    assert served.startswith(cp.note.text.encode())
    witness.key.verify(served)
    assert cp.note.signatures[0].line() in served.decode()
    assert client.get("/NOTHEX/checkpoint").status_code == 404


def test_check_and_update_is_atomic(client: TestClient, witness: Witness, log: Log) -> None:
    """Eight requests from size 0 at once, of eight sizes: exactly one is cosigned."""
    signer = log.signer
    assert signer is not None
    checkpoints = []
    for i in range(8):
        log.append([b"more %d" % i])
        checkpoints.append(log.checkpoint())
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def send(cp: SignedCheckpoint) -> None:
        barrier.wait()
        statuses.append(post(client, body(0, cp))[0])

    threads = [threading.Thread(target=send, args=(cp,)) for cp in checkpoints]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(statuses) == [200] + [409] * 7
    assert witness.state.cosigned_count(log.origin) == 1


def test_a_restarted_witness_keeps_its_state(
    tmp_path: Path, witness: Witness, log: Log, clock: Clock
) -> None:
    client = TestClient(create_app(witness))
    big = grow(log, b"delta", b"epsilon")
    assert post(client, body(0, big))[0] == 200
    witness.close()
    again = Witness.open(tmp_path / "w1.example", clock)
    try:
        client = TestClient(create_app(again))
        # The smaller tree it cosigned nothing of before, from 0 or from its size: refused.
        small = sign_checkpoint(Checkpoint(log.origin, 3, tree_hash(3, log.reader(3))), log.signer)  # type: ignore[arg-type]
        assert post(client, body(0, small)) == (409, "text/x.tlog.size", b"5\n")
        assert post(client, body(5, small))[0] == 400
        fork = sign_checkpoint(Checkpoint(log.origin, 5, b"\x09" * 32), log.signer)  # type: ignore[arg-type]
        assert post(client, body(5, fork))[0] == 422
        assert again.state.latest(log.origin).size == 5  # type: ignore[union-attr]
    finally:
        again.close()


def test_cosignature_times_never_go_back(client: TestClient, witness: Witness, log: Log) -> None:
    clock = witness._clock
    assert isinstance(clock, Clock)
    assert post(client, body(0, log.checkpoint()))[0] == 200
    clock.now -= 3600  # the witness's clock is stepped back an hour
    new = grow(log, b"delta")
    status, _, answer = post(client, body(3, new, log.consistency_proof(3, 4)))
    assert status == 200
    (sig,) = parse_cosignatures(answer)
    assert witness.key.verify(Note(new.note.text, (sig,))) == int(clock.now) + 3600
