"""Fuzz target: scenario files (``scenarios/*.yaml``: ``run_scenario_text``) against the
``new-start`` example package. The package has no folder here, so an ``import:`` is refused
before any file is read.
"""

from __future__ import annotations

from fuzzkit import ROOT, fuzz, instrumented

with instrumented(__name__ == "__main__"):
    from cvid.agreements import parse_package
    from cvid.agreements.scenarios import run_scenario_text

PACKAGE = parse_package(
    (ROOT / "examples" / "new-start" / "agreement.yaml").read_text(encoding="utf-8")
)


def one_input(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    run_scenario_text(PACKAGE, text, "fuzz.yaml")


if __name__ == "__main__":
    fuzz(one_input)
