"""Fuzz target: agreement packages (``agreement.yaml``: :func:`cvid.agreements.package_from_files`).

A package that is accepted must then evaluate, at a few instants, over no evidence, and give
a timeline over a few years: whatever ``cvid agreement check`` accepts, later commands must
not crash on.
"""

from __future__ import annotations

from fuzzkit import fuzz, instrumented

with instrumented(__name__ == "__main__"):
    from cvid.agreements import evaluate, package_from_files, timeline

INSTANTS = ("2011-02-05", "2018-02-05T12:00:00Z", "2026-12-31")


def one_input(data: bytes) -> None:
    pkg = package_from_files({"agreement.yaml": data}, "fuzz")
    for at in INSTANTS:
        evaluate(pkg, [], at)
    timeline(pkg, [], "2016-01-01", "2020-01-01")


if __name__ == "__main__":
    fuzz(one_input)
