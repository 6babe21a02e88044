"""Fuzz target: C2SP tlog-proof receipts (:meth:`Receipt.parse`, :func:`verify_receipt`).

A receipt that parses must encode back to itself. It is then checked against an entry.
"""

from __future__ import annotations

from fuzzkit import fuzz, instrumented

with instrumented(__name__ == "__main__"):
    from cvid.tlog import note
    from cvid.tlog.receipt import Receipt, verify_receipt

SIGNER = note.Signer.generate("fuzz.example/log")


def one_input(data: bytes) -> None:
    receipt = Receipt.parse(data)
    assert Receipt.parse(receipt.encode()) == receipt, "a receipt does not parse back"
    verify_receipt(receipt, b"entry", SIGNER.verifier)


if __name__ == "__main__":
    fuzz(one_input)
