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
    from cvid.evidence import ledgerdb, reserved
    from cvid.evidence.admission import (
        Candidate,
        Prepared,
        describe,
        prepare,
        read_files,
        read_records,
    )
    from cvid.evidence.importer import (
        Row,
        TableMapping,
        load_mapping,
        parse_mapping,
        read_csv,
        split_logged,
        table_records,
    )
    from cvid.evidence.ledger import ClockMode, Ledger, LoggedRecord, is_ledger, is_url
    from cvid.evidence.ledgerdb import MAX_LIMIT, RecordQuery
    from cvid.evidence.listing import (
        format_values,
        iter_listed,
        observed_bounds,
        parse_instant,
        select_listed,
        summary,
    )
    from cvid.evidence.parties import (
        AGREEMENT_FILE,
        AgreementParties,
        Party,
        Role,
        WitnessDecl,
        Witnessing,
        files_sha256,
        load_parties,
        package_sha256,
        parse_parties,
        parties_from_files,
        read_package_files,
        witness_policy_text,
    )
    from cvid.evidence.record import (
        Attachment,
        KeyGrant,
        Kind,
        Quantity,
        Record,
        Source,
        Value,
        format_utc,
        record_schema,
    )
    from cvid.evidence.registry import KeyRegistry, KeyState
    from cvid.evidence.replay import Replay
    from cvid.evidence.reserved import AMENDMENT_SUBJECT, MAX_AMENDMENT_BYTES
    from cvid.evidence.signing import (
        RecordError,
        canonical,
        flatten_errors,
        parse_json,
        sign_record,
        signing_bytes,
        verify_record,
    )
    from cvid.evidence.templates import template
    from cvid.evidence.units import convert, mass_fraction, parse_unit
    from cvid.evidence.verify import verify_ledger
    from cvid.evidence.xlsx_import import read_xlsx

_lazy.install(
    __name__,
    {
        "cvid.evidence.ledgerdb": [("ledgerdb", ""), "MAX_LIMIT", "RecordQuery"],
        "cvid.evidence.admission": [
            "Candidate",
            "Prepared",
            "describe",
            "prepare",
            "read_files",
            "read_records",
        ],
        "cvid.evidence.importer": [
            "Row",
            "TableMapping",
            "load_mapping",
            "parse_mapping",
            "read_csv",
            "split_logged",
            "table_records",
        ],
        "cvid.evidence.ledger": ["ClockMode", "Ledger", "LoggedRecord", "is_ledger", "is_url"],
        "cvid.evidence.listing": [
            "format_values",
            "iter_listed",
            "observed_bounds",
            "parse_instant",
            "select_listed",
            "summary",
        ],
        "cvid.evidence.parties": [
            "AGREEMENT_FILE",
            "AgreementParties",
            "Party",
            "Role",
            "WitnessDecl",
            "Witnessing",
            "files_sha256",
            "load_parties",
            "package_sha256",
            "parse_parties",
            "parties_from_files",
            "read_package_files",
            "witness_policy_text",
        ],
        "cvid.evidence.record": [
            "Attachment",
            "KeyGrant",
            "Kind",
            "Quantity",
            "Record",
            "Source",
            "Value",
            "format_utc",
            "record_schema",
        ],
        "cvid.evidence.registry": ["KeyRegistry", "KeyState"],
        "cvid.evidence.replay": ["Replay"],
        "cvid.evidence.reserved": [("reserved", ""), "AMENDMENT_SUBJECT", "MAX_AMENDMENT_BYTES"],
        "cvid.evidence.signing": [
            "RecordError",
            "canonical",
            "flatten_errors",
            "parse_json",
            "sign_record",
            "signing_bytes",
            "verify_record",
        ],
        "cvid.evidence.templates": ["template"],
        "cvid.evidence.units": ["convert", "mass_fraction", "parse_unit"],
        "cvid.evidence.verify": ["verify_ledger"],
        "cvid.evidence.xlsx_import": ["read_xlsx"],
    },
)

__all__ = [
    "AGREEMENT_FILE",
    "AMENDMENT_SUBJECT",
    "MAX_AMENDMENT_BYTES",
    "MAX_LIMIT",
    "AgreementParties",
    "Attachment",
    "Candidate",
    "ClockMode",
    "KeyGrant",
    "KeyRegistry",
    "KeyState",
    "Kind",
    "Ledger",
    "LoggedRecord",
    "Party",
    "Prepared",
    "Quantity",
    "Record",
    "RecordError",
    "RecordQuery",
    "Replay",
    "Role",
    "Row",
    "Source",
    "TableMapping",
    "Value",
    "WitnessDecl",
    "Witnessing",
    "canonical",
    "convert",
    "describe",
    "files_sha256",
    "flatten_errors",
    "format_utc",
    "format_values",
    "is_ledger",
    "is_url",
    "iter_listed",
    "ledgerdb",
    "load_mapping",
    "load_parties",
    "mass_fraction",
    "observed_bounds",
    "package_sha256",
    "parse_instant",
    "parse_json",
    "parse_mapping",
    "parse_parties",
    "parse_unit",
    "parties_from_files",
    "prepare",
    "read_csv",
    "read_files",
    "read_package_files",
    "read_records",
    "read_xlsx",
    "record_schema",
    "reserved",
    "select_listed",
    "sign_record",
    "signing_bytes",
    "split_logged",
    "summary",
    "table_records",
    "template",
    "verify_ledger",
    "verify_record",
    "witness_policy_text",
]
