"""Fuzz target: ``tlog-policy`` files (:func:`cvid.witness.parse_policy`), the k-of-n
witness policies a verifier reads.
"""

from __future__ import annotations

from fuzzkit import fuzz, instrumented

with instrumented(__name__ == "__main__"):
    from cvid.witness import parse_policy


def one_input(data: bytes) -> None:
    parse_policy(data, "fuzz.policy")


if __name__ == "__main__":
    fuzz(one_input)
