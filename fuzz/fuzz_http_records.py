"""Fuzz target: ``POST /v1/records`` bodies as the service parses them
(:func:`cvid.web.records.parse_body` for each media type it accepts, then the stateless
admission checks on every record of the batch, as the service's writer runs them).
"""

from __future__ import annotations

from fuzzkit import fuzz, instrumented

with instrumented(__name__ == "__main__"):
    from cvid.evidence import RecordError
    from cvid.evidence.admission import prepare_all
    from cvid.web.records import parse_body

MEDIA = ("application/json", "application/jsonl")


def one_input(data: bytes) -> None:
    for media in MEDIA:
        try:
            batch = parse_body(data, media)[:64]
        except RecordError:
            continue
        prepare_all([(c, f"record {n}") for n, c in enumerate(batch, 1)])


if __name__ == "__main__":
    fuzz(one_input)
