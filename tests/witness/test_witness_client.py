"""The client: 409 resynchronisation, cosignatures verified, witnesses down, slow or lying
skipped; witness_checkpoint stores the cosignatures and the export publishes them."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from witness_kit import Router, WitnessMaker

from cvid.errors import InputError
from cvid.store.log import Log
from cvid.tlog.cosignature import CosignerKey, cosign
from cvid.tlog.note import Signer, parse
from cvid.witness.client import WitnessEndpoint, gather
from cvid.witness.policy import parse_policy
from cvid.witness.protocol import AddCheckpoint, format_cosignatures
from cvid.witness.publish import (
    export_cosigned,
    stored_cosignatures,
    witness_checkpoint,
    witness_sizes,
)


def test_an_endpoint_parses_from_url_equals_vkey() -> None:
    key = CosignerKey.of(Signer.generate("w.example"))
    e = WitnessEndpoint.parse(f"http://127.0.0.1:7380/prefix/={key.vkey}")
    assert e.url == "http://127.0.0.1:7380/prefix" and e.key == key
    for bad in (key.vkey, f"ftp://x={key.vkey}", "http://x=nope", f"http://x={key.vkey}x"):
        with pytest.raises(InputError, match="URL=VKEY"):
            WitnessEndpoint.parse(bad)


def test_gather_resynchronises_on_409_and_skips_what_fails(
    log: Log, make_witness: WitnessMaker
) -> None:
    router = Router()
    w1 = router.add("w1", make_witness("w1.example"))
    w2 = router.add("w2", make_witness("w2.example"))
    down = WitnessEndpoint("http://down", CosignerKey.of(Signer.generate("down.example")))
    first = log.checkpoint()
    got = gather(first, [w1], log.consistency_proof, transport=router)
    assert [c.witness for c in got.cosigned] == [w1]
    log.append([b"delta", b"epsilon"])
    second = log.checkpoint()
    # The client knows nothing of what w1 cosigned: it starts from 0, w1 answers 409 with 3.
    got = gather(second, [w1, w2, down], log.consistency_proof, transport=router)
    assert [c.witness for c in got.cosigned] == [w1, w2]
    assert list(got.failures) == ["down.example"]
    assert "cannot reach http://down/add-checkpoint" in got.failures["down.example"]
    note = parse(got.note)
    assert note.signatures[0] == second.note.signatures[0]  # the log's signature first
    for w in (w1, w2):
        w.key.verify(note)


def test_a_cosignature_by_another_key_or_a_bad_one_is_refused(log: Log) -> None:
    key = CosignerKey.of(Signer.generate("w.example"))
    liar = Signer.generate("w.example")
    cp = log.checkpoint()

    def wrong_key(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=format_cosignatures([cosign(cp.note.text, liar, 5)]))

    def garbage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"hello\n")

    for handler, said in ((wrong_key, "no cosignature by its key"), (garbage, "line 1")):
        got = gather(
            cp,
            [WitnessEndpoint("http://w", key)],
            log.consistency_proof,
            2.0,
            None,
            httpx.MockTransport(handler),
        )
        assert not got.cosigned and said in got.failures["w.example"]


def test_a_witness_ahead_of_the_log_is_reported(log: Log) -> None:
    key = CosignerKey.of(Signer.generate("w.example"))

    def ahead(request: httpx.Request) -> httpx.Response:
        return httpx.Response(409, content=b"99\n", headers={"Content-Type": "text/x.tlog.size"})

    got = gather(
        log.checkpoint(),
        [WitnessEndpoint("http://w", key)],
        log.consistency_proof,
        2.0,
        None,
        httpx.MockTransport(ahead),
    )
    assert "cosigned size 99, larger than this checkpoint's 3" in got.failures["w.example"]


def test_a_slow_witness_is_skipped_within_the_timeout(log: Log) -> None:
    key = CosignerKey.of(Signer.generate("slow.example"))

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(500)

    start = time.monotonic()
    got = gather(
        log.checkpoint(),
        [WitnessEndpoint("http://slow", key)],
        log.consistency_proof,
        0.2,
        None,
        httpx.MockTransport(slow),
    )
    assert time.monotonic() - start < 2
    assert got.failures == {"slow.example": "no answer within 0.2 s"}


def test_the_proof_sent_after_a_409_is_from_the_reported_size(log: Log) -> None:
    key = CosignerKey.of(Signer.generate("w.example"))
    seen: list[AddCheckpoint] = []
    log.append([b"delta"])
    cp = log.checkpoint()

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(AddCheckpoint.parse(request.content))
        if seen[-1].old_size != 2:
            return httpx.Response(409, content=b"2\n", headers={"Content-Type": "text/x.tlog.size"})
        return httpx.Response(422, content=b"no\n")

    got = gather(
        cp,
        [WitnessEndpoint("http://w", key)],
        log.consistency_proof,
        2.0,
        None,
        httpx.MockTransport(handler),
    )
    assert [r.old_size for r in seen] == [0, 2]
    assert seen[1].proof == tuple(log.consistency_proof(2, 4))
    assert "HTTP 422" in got.failures["w.example"]


def test_witness_checkpoint_stores_and_the_export_publishes(
    tmp_path: Path, log: Log, make_witness: WitnessMaker
) -> None:
    router = Router()
    ends = [router.add(f"w{i}", make_witness(f"w{i}.example")) for i in (1, 2, 3)]
    policy = parse_policy(
        "".join(f"witness W{i} {e.key.vkey}\n" for i, e in enumerate(ends, 1))
        + "group two 2 W1 W2 W3\nquorum two\n"
    )
    del router.apps["w3"]  # down
    out = witness_checkpoint(log, log.checkpoint(), ends, policy, transport=router)
    assert out.quorum is True and out.stored == 2 and list(out.failures) == ["w3.example"]
    assert set(out.policy.cosigned) == {"W1", "W2"}  # type: ignore[union-attr]
    assert stored_cosignatures(log.driver) == {
        3: {c.witness.key.vkey: c.line for c in out.gathered.cosigned}
    }
    log.append([b"delta"])
    # The log remembers the sizes: no 409 round trip this time.
    assert witness_sizes(log.driver) == {ends[0].key.vkey: 3, ends[1].key.vkey: 3}
    out = witness_checkpoint(log, log.checkpoint(), ends[:1], policy, transport=router)
    assert out.quorum is False and "has 1" in out.policy.missing  # type: ignore[union-attr]
    tiles = tmp_path / "tiles"
    counts = export_cosigned(log, tiles)
    assert counts["history"] == 2
    assert (tiles / "checkpoints" / "index").read_text() == "3\n4\n"
    served = (tiles / "checkpoint").read_bytes()
    assert served == (tiles / "checkpoints" / "4").read_bytes()
    ends[0].key.verify(served)
    three = (tiles / "checkpoints" / "3").read_bytes()
    assert policy.evaluate(three).quorum and not policy.evaluate(served).quorum
    assert export_cosigned(log, tiles)["history"] == 0  # again: nothing new
