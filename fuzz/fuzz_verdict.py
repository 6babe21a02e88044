"""Fuzz target: verdict files (``read_verdict``, the checks ``cvid verdict verify`` makes
before it reads a log, and ``compare`` with a verdict re-derived from the ``new-start``
example over an empty log).
"""

from __future__ import annotations

from fuzzkit import ROOT, fuzz, instrumented

with instrumented(__name__ == "__main__"):
    from cvid.agreements import load_package, make_verdict, verdict_bytes
    from cvid.agreements.verdict import compare, read_verdict
    from cvid.cli.agreements import _checked_verdict
    from cvid.tlog.checkpoint import Checkpoint
    from cvid.tlog.merkle import EMPTY_ROOT

# Loaded from its folder: a verdict carries the package's hash chain, which needs its SHA-256.
PACKAGE = load_package(ROOT / "examples" / "new-start")
DERIVED = verdict_bytes(
    make_verdict(PACKAGE, [], "2018-02-05", "now", Checkpoint("fuzz.example/log", 0, EMPTY_ROOT))
)


def one_input(data: bytes) -> None:
    doc = read_verdict(data, "fuzz.json")
    _checked_verdict(doc, "fuzz.json")
    compare(data, DERIVED, "fuzz.json")


if __name__ == "__main__":
    fuzz(one_input)
