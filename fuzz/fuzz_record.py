"""Fuzz target: evidence records — JSON to model to canonical bytes
(:func:`cvid.evidence.read_records`, :func:`cvid.evidence.admission.prepare`).

The input is a submitted file (one JSON object or JSON Lines). Each candidate goes through
the stateless admission checks as sent; each JSON object is also signed with the harness's
key, and then must be admitted, its logged entry (its RFC 8785 bytes) must be admitted as a
log entry, and that entry must be the canonical bytes of the record it holds.
"""

from __future__ import annotations

import contextlib

from fuzzkit import fuzz, instrumented

with instrumented(__name__ == "__main__"):
    from cvid.evidence import RecordError, canonical, read_records, sign_record
    from cvid.evidence.admission import Candidate, prepare
    from cvid.evidence.signing import parse_json
    from cvid.tlog.note import Signer

SIGNER = Signer.generate("fuzz-submitter")


def one_input(data: bytes) -> None:
    for c in read_records(data, "fuzz.jsonl")[:16]:
        with contextlib.suppress(RecordError):
            prepare(c, c.origin, verify=True)
        try:
            obj = prepare(c, c.origin, verify=False).raw
        except RecordError:
            continue
        obj = {k: v for k, v in obj.items() if k not in ("signer", "signature")}
        signed = sign_record(obj, SIGNER)
        p = prepare(Candidate("signed", obj=signed), "signed")
        logged = prepare(Candidate("entry", text=p.entry), "entry", logged=True)
        assert logged.entry == p.entry, "a logged entry is not its own canonical bytes"
        assert canonical(parse_json(p.entry)) == p.entry, "canonical bytes are not canonical"


if __name__ == "__main__":
    fuzz(one_input)
