"""Evidence: signed records, canonical bytes, the key registry and the ledger.

A record is a JSON object signed with Ed25519 over its RFC 8785 canonical form without the
signature; a ledger admits batches of records, all or nothing, into an agreement's log::

    from pathlib import Path
    from cvid.evidence import Ledger, sign_record
    from cvid.keyfiles import read_signer

    key = read_signer(Path("us.key"))
    with Ledger.open(Path("ledger")) as ledger:
        [index] = ledger.submit([sign_record(obj, key)])
        receipt = ledger.receipt(index).encode()
        for logged in ledger.records():
            print(logged.index, logged.record.kind, logged.superseded_by)
"""

from typing import TYPE_CHECKING

from cvid import _lazy

if TYPE_CHECKING:
    from cvid.evidence.admission import Candidate, read_files, read_records
    from cvid.evidence.ledger import Ledger, LoggedRecord
    from cvid.evidence.parties import AgreementParties, Party, Role, load_parties, package_sha256
    from cvid.evidence.record import (
        Attachment,
        KeyGrant,
        Kind,
        Quantity,
        Record,
        Source,
        format_utc,
        record_schema,
    )
    from cvid.evidence.registry import KeyRegistry, KeyState
    from cvid.evidence.signing import (
        RecordError,
        canonical,
        sign_record,
        signing_bytes,
        verify_record,
    )
    from cvid.evidence.units import convert, mass_fraction, parse_unit

_lazy.install(
    __name__,
    {
        "cvid.evidence.admission": ["Candidate", "read_files", "read_records"],
        "cvid.evidence.ledger": ["Ledger", "LoggedRecord"],
        "cvid.evidence.parties": [
            "AgreementParties",
            "Party",
            "Role",
            "load_parties",
            "package_sha256",
        ],
        "cvid.evidence.record": [
            "Attachment",
            "KeyGrant",
            "Kind",
            "Quantity",
            "Record",
            "Source",
            "format_utc",
            "record_schema",
        ],
        "cvid.evidence.registry": ["KeyRegistry", "KeyState"],
        "cvid.evidence.signing": [
            "RecordError",
            "canonical",
            "sign_record",
            "signing_bytes",
            "verify_record",
        ],
        "cvid.evidence.units": ["convert", "mass_fraction", "parse_unit"],
    },
)

__all__ = [
    "AgreementParties",
    "Attachment",
    "Candidate",
    "KeyGrant",
    "KeyRegistry",
    "KeyState",
    "Kind",
    "Ledger",
    "LoggedRecord",
    "Party",
    "Quantity",
    "Record",
    "RecordError",
    "Role",
    "Source",
    "canonical",
    "convert",
    "format_utc",
    "load_parties",
    "mass_fraction",
    "package_sha256",
    "parse_unit",
    "read_files",
    "read_records",
    "record_schema",
    "sign_record",
    "signing_bytes",
    "verify_record",
]
