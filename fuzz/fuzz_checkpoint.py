"""Fuzz target: C2SP checkpoints (:meth:`Checkpoint.parse`, :func:`open_checkpoint`).

The input is the checkpoint's text; the harness also signs it with its own log key, so the
signed note goes through :func:`open_checkpoint` as a log's real checkpoint would. A
checkpoint that parses must come back the same from its own text and from its signed note.
"""

from __future__ import annotations

from fuzzkit import fuzz, instrumented, text

with instrumented(__name__ == "__main__"):
    from cvid.tlog import note
    from cvid.tlog.checkpoint import Checkpoint, open_checkpoint

SIGNER = note.Signer.generate("fuzz.example/log")


def one_input(data: bytes) -> None:
    body = text(data)
    if body is None:
        # Bytes straight off the wire: the signed-note form.
        open_checkpoint(data, SIGNER.verifier, origin=None)
        return
    cp = Checkpoint.parse(body)
    assert Checkpoint.parse(cp.text()) == cp, "a checkpoint does not parse back from its text"
    signed = note.sign(cp.text(), SIGNER).encode()
    opened = open_checkpoint(signed, SIGNER.verifier, origin=cp.origin)
    assert opened.checkpoint == cp, "a signed checkpoint opens to another checkpoint"


if __name__ == "__main__":
    fuzz(one_input)
