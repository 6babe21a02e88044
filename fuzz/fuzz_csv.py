"""Fuzz target: table imports — a mapping file and a CSV table
(:func:`cvid.evidence.importer.parse_mapping`, ``read_csv``, ``table_records``).

The input packs ``mapping.yaml`` and ``table.csv`` (:func:`fuzzkit.pack_files`). Every record
a row makes is signed with the harness's key and must pass the stateless admission checks
or be refused by them.
"""

from __future__ import annotations

import contextlib
import datetime as dt

from fuzzkit import fuzz, instrumented, unpack_files

with instrumented(__name__ == "__main__"):
    from cvid.evidence import RecordError, sign_record
    from cvid.evidence.admission import Candidate, prepare
    from cvid.evidence.importer import parse_mapping, read_csv, table_records
    from cvid.tlog.note import Signer

SIGNER = Signer.generate("fuzz-importer")
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def one_input(data: bytes) -> None:
    files = unpack_files(data)
    mapping = parse_mapping(files.get("mapping.yaml", b"").decode("utf-8", "replace"), "map")
    rows = read_csv(files.get("table.csv", b""), "table.csv")
    for n, (_where, obj) in enumerate(table_records(mapping, rows, NOW, {"submitter": "US"})):
        if n >= 64:
            break
        with contextlib.suppress(RecordError):
            prepare(Candidate("row", obj=sign_record(obj, SIGNER)), "row")


if __name__ == "__main__":
    fuzz(one_input)
