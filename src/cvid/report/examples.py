"""The shipped examples as the records ``cvid demo`` builds ledgers of, and the package copy
that registers keys made on the spot. Pure: the caller reads the files and writes the results
(``cvid.cli.example_ledgers``).

For each example the parties that submit evidence get fresh keys; a copy of the package
registers those keys in its ``keys:`` instead of the shipped ones (the rest of
``agreement.yaml`` is kept byte for byte, comments included, :func:`with_keys`), so the
ledger's package hash differs from the shipped package's in that block only; every record is
then signed by its submitter's key.

- ``new-start``: one declaration per row of the package's ``data/aggregates.csv`` through its
  ``mapping.yaml``, signed by the row's party;
- ``singapore-2018``: the records of the package's ``evidence.jsonl``, each signed by its
  submitter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml

from cvid.errors import InputError
from cvid.evidence import AGREEMENT_FILE, parse_json, parse_mapping, read_csv, table_records
from cvid.tlog import Signer

Files = Mapping[str, bytes]
"""A package's files by relative POSIX path (``data/aggregates.csv``), as read from disk."""


def _text(files: Files, name: str, where: str) -> str:
    try:
        return files[name].decode("utf-8")
    except KeyError:
        raise InputError(f"{where}/{name}: missing from the example") from None
    except UnicodeDecodeError:
        raise InputError(f"{where}/{name}: not UTF-8 text") from None


def new_start_records(files: Files, where: str, now: datetime) -> list[dict[str, Any]]:
    """One unsigned declaration per row of ``data/aggregates.csv`` through ``mapping.yaml``.

    ``where`` names the package in messages, ``now`` is the import time the mapping may use.
    :class:`InputError` naming the file (and row) for a missing or malformed one.
    """
    csv = "data/aggregates.csv"
    if csv not in files:
        raise InputError(f"{where}/{csv}: missing from the example")
    mapping = parse_mapping(_text(files, "mapping.yaml", where), f"{where}/mapping.yaml")
    rows = read_csv(files[csv], f"{where}/{csv}")
    return [obj for _, obj in table_records(mapping, rows, now)]


def singapore_records(files: Files, where: str, now: datetime) -> list[dict[str, Any]]:
    """The unsigned records of ``evidence.jsonl``, one a line (blank lines skipped).

    :class:`InputError` naming the file and line of one that is not a JSON object.
    """
    out = []
    for n, line in enumerate(_text(files, "evidence.jsonl", where).splitlines(), 1):
        if line.strip():
            try:
                out.append(parse_json(line))
            except ValueError as exc:
                raise InputError(
                    f"{where}/evidence.jsonl line {n}: not valid JSON: {exc}"
                ) from None
    return out


Records = Callable[[Files, str, datetime], list[dict[str, Any]]]


@dataclass(frozen=True)
class Example:
    """A shipped example: how its records come from its files (``records``), the data files
    ``cvid demo --data DIR`` may replace (``data``), the date to judge it at, and which record
    gets a receipt (``proves``: the first record it accepts, else the last)."""

    name: str
    as_of: str
    records_from: str
    records: Records
    proves: Callable[[Mapping[str, Any]], bool]
    data: tuple[str, ...] = ()


EXAMPLES: tuple[Example, ...] = (
    Example(
        "new-start",
        "2018-02-05",
        "the rows of examples/new-start/data/aggregates.csv through examples/new-start/"
        "mapping.yaml, each signed by its party's key",
        new_start_records,
        lambda r: r.get("party") == "RU" and str(r.get("observed_at", "")).startswith("2017-09-01"),
        data=("data/aggregates.csv",),
    ),
    Example(
        "singapore-2018",
        "2019-12-31",
        "examples/singapore-2018/evidence.jsonl, each record signed by its submitter's key",
        singapore_records,
        lambda r: (
            r.get("subject") == "sohae"
            and r.get("values", {}).get("structures_taken_down") is False
        ),
    ),
)


def proved_index(example: Example, records: Sequence[Mapping[str, Any]]) -> int:
    """The index of the record ``example`` proves: the first it accepts, else the last."""
    return next((i for i, r in enumerate(records) if example.proves(r)), len(records) - 1)


def shipped_keys(files: Files, where: str) -> list[dict[str, Any]]:
    """The ``keys:`` entries of the package's ``agreement.yaml`` (none: an empty list)."""
    doc = yaml.safe_load(_text(files, AGREEMENT_FILE, where))
    keys = doc.get("keys") if isinstance(doc, dict) else None
    return [dict(k) for k in keys] if isinstance(keys, list) else []


def grants(
    records: Sequence[Mapping[str, Any]],
    shipped: Sequence[Mapping[str, Any]],
    keys: Mapping[str, Signer],
) -> list[dict[str, Any]]:
    """The ``keys:`` entries registering ``keys`` (party → signer) for ``records``.

    A party keeps the kinds and ``may_manage_keys`` of its shipped key, if it had one; else it
    may sign the kinds its records use and manage its own keys.
    """
    out = []
    for party, signer in keys.items():
        old = next((g for g in shipped if g.get("party") == party), None)
        if old is not None:
            kinds = [str(k) for k in old.get("kinds", ())]
            manage = bool(old.get("may_manage_keys", False))
        else:
            kinds = sorted({str(r["kind"]) for r in records if r.get("submitter") == party})
            manage = True
        out.append(
            {
                "party": party,
                "vkey": signer.verifier.vkey,
                "kinds": kinds,
                "may_manage_keys": manage,
            }
        )
    return out


def _block(lines: Sequence[str], key: str) -> tuple[int, int] | None:
    """Lines [start, end) of the top-level ``key:`` block (its indented lines and blanks)."""
    for i, line in enumerate(lines):
        if re.match(rf"^{re.escape(key)}\s*:", line):
            j = i + 1
            while j < len(lines) and (not lines[j].strip() or lines[j][0] in " \t"):
                j += 1
            return i, j
    return None


def with_keys(text: str, entries: Sequence[Mapping[str, Any]], comment: Sequence[str]) -> str:
    """``agreement.yaml`` text whose top-level ``keys:`` block (and the comment right above
    it) is replaced by ``entries``; without one, the block goes after ``parties:``.

    Everything else is kept as written. :class:`InputError` if the result does not read back
    as the same document with the new keys.
    """
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    new = [f"# {c}\n" for c in comment]
    new.append("keys:\n")
    for g in entries:
        kinds = ", ".join(str(k) for k in g["kinds"])
        new.append(
            f"  - {{party: {json.dumps(g['party'])}, vkey: {json.dumps(g['vkey'])}, "
            f"kinds: [{kinds}], may_manage_keys: {str(bool(g['may_manage_keys'])).lower()}}}\n"
        )
    old = _block(lines, "keys")
    if old is not None:
        start, end = old
        while start > 0 and lines[start - 1].startswith("#"):
            start -= 1
    else:
        parties = _block(lines, "parties")
        start = end = parties[1] if parties is not None else len(lines)
    tail = ["\n"] if end < len(lines) else []
    lines[start:end] = new + tail
    out = "".join(lines)
    before, after = yaml.safe_load(text), yaml.safe_load(out)
    before["keys"] = [dict(g) for g in entries]
    if after != before:
        raise InputError("could not rewrite the package's keys: agreement.yaml reads differently")
    return out


def ledger_package(
    files: Files, entries: Sequence[Mapping[str, Any]], where: str
) -> dict[str, bytes]:
    """The package's files with ``agreement.yaml``'s ``keys:`` replaced by ``entries``
    (:func:`with_keys`, under a comment saying so); every other file is unchanged."""
    comment = [
        f"Keys made on the spot by `cvid demo` for {', '.join(str(g['party']) for g in entries)}"
        " (private keys in ../keys/,",
        "mode 0600). They replace the shipped keys: this copy's package hash differs from the",
        "shipped package's in this block only.",
    ]
    out = dict(files)
    text = with_keys(_text(files, AGREEMENT_FILE, where), entries, comment)
    out[AGREEMENT_FILE] = text.encode("utf-8")
    return out
