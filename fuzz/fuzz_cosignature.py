"""Fuzz target: C2SP tlog-cosignature lines on a note (:func:`verify_cosignature`).

The input is a cosigned note. Every signature line's claimed timestamp is read, every line
is tried as a cosignature of its own name and key; then the harness cosigns the note's text
with its own witness key and that cosignature must verify with the time it was made.
"""

from __future__ import annotations

import contextlib

from fuzzkit import fuzz, instrumented

with instrumented(__name__ == "__main__"):
    from cvid.errors import FormatError, VerificationError
    from cvid.tlog import note
    from cvid.tlog.cosignature import (
        CosignerKey,
        cosign,
        cosignature_timestamp,
        verify_cosignature,
    )

WITNESS = note.Signer.generate("fuzz.example/witness")
KEY = CosignerKey.of(WITNESS)


def one_input(data: bytes) -> None:
    parsed = note.parse(data)
    for sig in parsed.signatures:
        with contextlib.suppress(FormatError):
            cosignature_timestamp(sig)
        with contextlib.suppress(VerificationError):
            verify_cosignature(parsed, sig.name, KEY.public_key)
    with contextlib.suppress(VerificationError):
        KEY.verify(data)
    stamp = 1_700_000_000 + len(data)
    mine = note.Note(parsed.text, (*parsed.signatures, cosign(parsed.text, WITNESS, stamp)))
    assert KEY.verify(mine.encode()) == stamp, "a fresh cosignature does not verify"


if __name__ == "__main__":
    fuzz(one_input)
