"""Fuzz target: C2SP signed notes (:func:`cvid.tlog.note.parse`, :func:`open_note`).

A note that parses must encode back to the same bytes and parse to the same note.
"""

from __future__ import annotations

from fuzzkit import fuzz, instrumented

with instrumented(__name__ == "__main__"):
    from cvid.tlog import note

SIGNER = note.Signer.generate("fuzz.example/log")
VERIFIERS = [SIGNER.verifier]


def one_input(data: bytes) -> None:
    parsed = note.parse(data)
    again = note.parse(parsed.encode())
    assert again == parsed, "a parsed note does not parse back to itself"
    note.open_note(data, VERIFIERS)


if __name__ == "__main__":
    fuzz(one_input)
