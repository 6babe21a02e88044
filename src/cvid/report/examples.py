"""The shipped examples as ledgers, with keys made on the spot (what ``cvid demo`` builds).

For each example the parties that submit evidence get fresh Ed25519 keys (written mode 0600);
a copy of the package registers those keys in its ``keys:`` instead of the shipped ones (the
rest of ``agreement.yaml`` is kept byte for byte, comments included), so the ledger's package
hash differs from the shipped package's in that block only; then every record is signed by
its submitter's key and admitted in one batch, all or nothing.

- ``new-start``: one declaration per row of the example's ``data/aggregates.csv`` through its
  ``mapping.yaml``, signed by the row's party;
- ``singapore-2018``: the records of ``evidence.jsonl``, each signed by its submitter.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from cvid.errors import InputError
from cvid.evidence.importer import load_mapping, read_csv, table_records
from cvid.evidence.ledger import Ledger
from cvid.evidence.parties import load_parties, package_sha256
from cvid.evidence.signing import parse_json, sign_record
from cvid.keyfiles import write_signer
from cvid.tlog.note import Signer

Progress = Callable[[int, int], None]
Loader = Callable[[Path, Path | None], list[dict[str, Any]]]


def _new_start(package: Path, data: Path | None) -> list[dict[str, Any]]:
    csv = (package / "data" if data is None else data) / "aggregates.csv"
    try:
        table = csv.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {csv}: {exc.strerror} (give --data)") from None
    mapping = load_mapping(package / "mapping.yaml")
    now = datetime.now(UTC)
    return [obj for _, obj in table_records(mapping, read_csv(table, str(csv)), now)]


def _singapore(package: Path, data: Path | None) -> list[dict[str, Any]]:
    path = package / "evidence.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    out = []
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                out.append(parse_json(line))
            except ValueError as exc:
                raise InputError(f"{path} line {n}: not valid JSON: {exc}") from None
    return out


@dataclass(frozen=True)
class Example:
    """A shipped example: where its records come from, the date to judge it at, and which
    record gets a receipt (``proves``: the first record it accepts, else the last)."""

    name: str
    as_of: str
    records_from: str
    load: Loader
    proves: Callable[[Mapping[str, Any]], bool]


EXAMPLES: tuple[Example, ...] = (
    Example(
        "new-start",
        "2018-02-05",
        "the rows of examples/new-start/data/aggregates.csv through examples/new-start/"
        "mapping.yaml, each signed by its party's key",
        _new_start,
        lambda r: r.get("party") == "RU" and str(r.get("observed_at", "")).startswith("2017-09-01"),
    ),
    Example(
        "singapore-2018",
        "2019-12-31",
        "examples/singapore-2018/evidence.jsonl, each record signed by its submitter's key",
        _singapore,
        lambda r: (
            r.get("subject") == "sohae"
            and r.get("values", {}).get("structures_taken_down") is False
        ),
    ),
)


@dataclass(frozen=True)
class Built:
    """A ledger built from an example; ``keys`` maps each party to (vkey, key file)."""

    example: Example
    agreement: str
    ledger: Path
    package: Path
    keys: dict[str, tuple[str, Path]]
    records: int
    proved: int
    shipped_sha256: str
    ledger_sha256: str
    log_vkey: str


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


def make_keys(agreement: str, parties: Sequence[str], directory: Path) -> dict[str, Signer]:
    """A new key per party, written to ``directory/<party>.key`` (mode 0600) and ``.vkey``."""
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for party in parties:
        signer = Signer.generate(f"{agreement}-{party.lower()}-demo")
        write_signer(signer, directory / f"{party}.key")
        (directory / f"{party}.vkey").write_text(signer.verifier.vkey + "\n")
        out[party] = signer
    return out


def build(
    example: Example,
    examples: Path,
    data: Path | None,
    directory: Path,
    progress: Progress | None = None,
) -> Built:
    """Build ``example``'s ledger in ``directory`` (``keys/``, ``package/``, ``ledger/``).

    ``data`` is a folder to read the example's data files from instead of its own ``data/``
    (``None``: the package's). ``progress(done, total)`` is called as records are signed.
    Raises :class:`InputError` for a missing example or data file, or a record the ledger
    refuses (nothing is logged).
    """
    shipped = examples / example.name
    if not (shipped / "agreement.yaml").is_file():
        raise InputError(f"{shipped}: no agreement package there (give --examples)")
    records = example.load(shipped, data)
    parties = load_parties(shipped)
    order = [p.id for p in parties.parties]
    submitters = {str(r.get("submitter")) for r in records}
    unknown = submitters - set(order)
    if unknown:
        raise InputError(f"{shipped}: records submitted by {sorted(unknown)}, not parties")
    keys = make_keys(parties.id, [p for p in order if p in submitters], directory / "keys")
    shipped_keys = yaml.safe_load((shipped / "agreement.yaml").read_text("utf-8")).get("keys")
    entries = grants(records, shipped_keys or [], keys)
    package = directory / "package"
    shutil.copytree(shipped, package, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    comment = [
        f"Keys made on the spot by `cvid demo` for {', '.join(keys)} (private keys in ../keys/,",
        "mode 0600). They replace the shipped keys: this copy's package hash differs from the",
        "shipped package's in this block only.",
    ]
    text = (package / "agreement.yaml").read_text("utf-8")
    (package / "agreement.yaml").write_text(with_keys(text, entries, comment), "utf-8")
    signed = []
    for n, r in enumerate(records, 1):
        signed.append(sign_record(r, keys[str(r["submitter"])]))
        if progress is not None:
            progress(n, len(records))
    with Ledger.create(directory / "ledger", package, clock_mode="reported") as ledger:
        ledger.submit(signed)
        vkey = ledger.log.verifier.vkey
        digest = str(ledger.meta["package_sha256"])
    proved = next((i for i, r in enumerate(records) if example.proves(r)), len(records) - 1)
    return Built(
        example=example,
        agreement=parties.id,
        ledger=directory / "ledger",
        package=package,
        keys={p: (s.verifier.vkey, directory / "keys" / f"{p}.key") for p, s in keys.items()},
        records=len(records),
        proved=proved,
        shipped_sha256=package_sha256(shipped),
        ledger_sha256=digest,
        log_vkey=vkey,
    )
