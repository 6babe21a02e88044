"""Fuzz target: ``POST /v1/records`` bodies as the service parses them
(:func:`cvid.web.records.parse_body` for each media type it accepts, then the stateless
admission checks on every record of the batch, as the service's writer runs them: each
refusal :func:`~cvid.web.writer.unchained`, as the writer keeps it, so that no input leaves
anything behind for the next).
"""

from __future__ import annotations

from fuzzkit import fuzz, instrumented

with instrumented(__name__ == "__main__"):
    from cvid.evidence import RecordError
    from cvid.evidence.admission import prepare_all
    from cvid.web.records import parse_body
    from cvid.web.writer import unchained

MEDIA = ("application/json", "application/jsonl")


def one_input(data: bytes) -> None:
    for media in MEDIA:
        try:
            batch = parse_body(data, media)[:64]
        except RecordError:
            continue
        for outcome in prepare_all([(c, f"record {n}") for n, c in enumerate(batch, 1)]):
            if isinstance(outcome, RecordError):
                unchained(outcome)


if __name__ == "__main__":
    fuzz(one_input)
