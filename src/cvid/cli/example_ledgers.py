"""The shipped examples as ledgers on disk: the reading and writing half of ``cvid demo``.

What the records are and how the package copy registers the new keys is decided by the pure
:mod:`cvid.report.examples`; this module reads each example package (and ``--data``), makes
the keys (``keys/<party>.key``, mode 0600, and ``.vkey``), writes the package copy
(``package/``) and creates the ledger (``ledger/``), admitting every record in one batch, all
or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from cvid.errors import InputError
from cvid.evidence import (
    AGREEMENT_FILE,
    Ledger,
    Witnessing,
    files_sha256,
    parties_from_files,
    read_package_files,
    sign_record,
)
from cvid.keyfiles import write_signer
from cvid.report import (
    Example,
    Files,
    grants,
    ledger_package,
    proved_index,
    shipped_keys,
)
from cvid.tlog import Signer

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Amended:
    """An example whose ledger starts from an earlier version of its package (``original``, a
    folder inside it) and records the shipped package as an amendment in force from
    ``effective``, signed by each consenting party (docs/amendments.md)."""

    original: str
    effective: str
    summary: str
    #: Each consenting party's public source, by party.
    sources: Mapping[str, Mapping[str, str]]


#: The examples whose shipped package amends an earlier one.
AMENDED: dict[str, Amended] = {
    "new-start": Amended(
        "original",
        "2021-02-03T00:00:00Z",
        "The Parties extended the Treaty by five years, to 5 February 2026, by an exchange of "
        "diplomatic notes on 3 February 2021.",
        {
            "US": {
                "title": "On the Extension of the New START Treaty with the Russian Federation "
                "(U.S. Department of State, press statement)",
                "url": "https://www.state.gov/on-the-extension-of-the-new-start-treaty-with-the-"
                "russian-federation/",
                "speaker": "Antony J. Blinken, Secretary of State",
                "published": "2021-02-03",
            },
            "RU": {
                "title": "Statement of the Ministry of Foreign Affairs of the Russian Federation "
                "on the extension of the New START Treaty by an exchange of diplomatic notes",
                "published": "2021-02-03",
            },
        },
    ),
}


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


def read_example(example: Example, examples: Path, data: Path | None) -> tuple[Files, Files]:
    """The files of the package ``examples/<name>`` as shipped, and the files its records are
    read from: the same, each of the example's data files replaced by the file of that name
    in ``data`` when given.

    :class:`InputError` naming the folder or file that is missing or unreadable.
    """
    folder = examples / example.name
    if not (folder / "agreement.yaml").is_file():
        raise InputError(f"{folder}: no agreement package there (give --examples)")
    shipped = read_package_files(folder)
    inputs = dict(shipped)
    if data is not None:
        for name in example.data:
            path = data / Path(name).name
            try:
                inputs[name] = path.read_bytes()
            except OSError as exc:
                raise InputError(f"cannot read {path}: {exc.strerror} (give --data)") from None
    return shipped, inputs


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


def write_files(files: Mapping[str, bytes], directory: Path) -> None:
    """Write ``files`` (relative POSIX path -> bytes) under ``directory``."""
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def with_witnesses(agreement_yaml: bytes, witnesses: Witnessing) -> bytes:
    """``agreement.yaml`` with a ``witnesses:`` block appended (it must have none)."""
    block = yaml.safe_dump(
        {"witnesses": witnesses.model_dump(mode="json", exclude_none=True)}, sort_keys=False
    )
    text = agreement_yaml.decode("utf-8")
    comment = "# Witnesses started on 127.0.0.1 by `cvid demo` for this copy of the package.\n"
    return (text + ("" if text.endswith("\n") else "\n") + comment + block).encode("utf-8")


def build(
    example: Example,
    examples: Path,
    data: Path | None,
    directory: Path,
    progress: Progress | None = None,
    witnesses: Witnessing | None = None,
) -> Built:
    """Build ``example``'s ledger in ``directory`` (``keys/``, ``package/``, ``ledger/``).

    ``data`` is a folder to read the example's data files from instead of its own ``data/``
    (``None``: the package's). ``progress(done, total)`` is called as records are signed.
    ``witnesses`` are written into the package copy's ``agreement.yaml`` (its ``witnesses:``).
    Raises :class:`InputError` for a missing example or data file, or a record the ledger
    refuses (nothing is logged).
    """
    where = str(examples / example.name)
    shipped, inputs = read_example(example, examples, data)
    records = example.records(inputs, where, datetime.now(UTC))
    parties = parties_from_files(shipped, where)
    order = [p.id for p in parties.parties]
    submitters = {str(r.get("submitter")) for r in records}
    unknown = submitters - set(order)
    if unknown:
        raise InputError(f"{where}: records submitted by {sorted(unknown)}, not parties")
    keys = make_keys(parties.id, [p for p in order if p in submitters], directory / "keys")
    entries = grants(records, shipped_keys(shipped, where), keys)
    package = directory / "package"
    files = ledger_package(shipped, entries, where)
    if witnesses is not None:
        files[AGREEMENT_FILE] = with_witnesses(files[AGREEMENT_FILE], witnesses)
    amended = AMENDED.get(example.name)
    if amended is not None:
        # The ledger starts from the earlier version (its copy with the same keys and
        # witnesses); the shipped package's copy is the amendment it records.
        prefix = amended.original + "/"
        earlier = {n[len(prefix) :]: d for n, d in shipped.items() if n.startswith(prefix)}
        if AGREEMENT_FILE not in earlier:
            raise InputError(f"{where}: no {prefix}{AGREEMENT_FILE} to start the ledger from")
        amendment = files
        files = ledger_package(earlier, entries, where)
        if witnesses is not None:
            files[AGREEMENT_FILE] = with_witnesses(files[AGREEMENT_FILE], witnesses)
    write_files(files, package)
    signed = []
    for n, r in enumerate(records, 1):
        signed.append(sign_record(r, keys[str(r["submitter"])]))
        if progress is not None:
            progress(n, len(records))
    with Ledger.create(directory / "ledger", package, clock_mode="reported") as ledger:
        if amended is not None:  # in the same batch: one checkpoint, as without
            signed += _amendment(amendment, files, amended, parties.id, keys)
        ledger.submit(signed)
        vkey = ledger.log.verifier.vkey
        digest = str(ledger.meta["package_sha256"])
    return Built(
        example=example,
        agreement=parties.id,
        ledger=directory / "ledger",
        package=package,
        keys={p: (s.verifier.vkey, directory / "keys" / f"{p}.key") for p, s in keys.items()},
        records=len(records),
        proved=proved_index(example, records),
        shipped_sha256=files_sha256(shipped),
        ledger_sha256=digest,
        log_vkey=vkey,
    )


def _amendment(
    new: Mapping[str, bytes],
    previous: Mapping[str, bytes],
    amended: Amended,
    agreement: str,
    keys: Mapping[str, Signer],
) -> list[dict[str, object]]:
    """The amendment records (one per party with a key) recording ``new`` over ``previous``."""
    from cvid.agreements import (
        AMENDMENT_SUBJECT,
        amendment_values,
        package_from_files,
        parse_instant,
    )

    package_from_files(new, "the amended package")  # it must compile
    parts = amendment_values(new, files_sha256(previous), parse_instant(amended.effective))
    out: list[dict[str, object]] = []
    for (party, signer), values in ((k, v) for k in keys.items() for v in parts):
        unsigned = {
            "v": 1,
            "agreement": agreement,
            "kind": "statement",
            "subject": AMENDMENT_SUBJECT,
            "observed_at": amended.effective,
            "reported_at": amended.effective,
            "values": values,
            "summary": amended.summary,
            **({"source": dict(amended.sources[party])} if party in amended.sources else {}),
            "submitter": party,
        }
        out.append(sign_record(unsigned, signer))
    return out
