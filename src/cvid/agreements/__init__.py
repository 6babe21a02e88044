"""Agreements as code: packages, the compliance engine, timelines and verdicts.

An agreement package (a folder with ``agreement.yaml`` and ``scenarios/``) states each term
with the clause it implements; the engine gives each term's status per party and each
reciprocal step's state at an instant, citing the log indices it rests on::

    from pathlib import Path
    from cvid.agreements import evaluate, load_package, timeline

    package = load_package(Path("examples/new-start"))
    result = evaluate(package, records, "2018-02-05", view="now")   # records: (index, Record)
    for t in result.terms:
        print(t.term, t.party, t.status, t.evidence, t.explanation)
    changes = timeline(package, records, "2011-02-05", "2018-03-01")

Everything here is pure except :func:`load_package` (reads the folder); :mod:`cvid.sources`
reads ledgers and tiles. :mod:`cvid.agreements.versions` chooses the package version in force
at an instant from the amendments a ledger's log records (docs/amendments.md).
"""

from typing import TYPE_CHECKING

from cvid import _lazy

if TYPE_CHECKING:
    from cvid.agreements.engine import Evaluation, Instant, StepResult, TermResult, evaluate
    from cvid.agreements.errors import PackageError
    from cvid.agreements.evidence_index import ClockMode, Evidence, LedgerRecords, View
    from cvid.agreements.instants import (
        DAY,
        from_us,
        parse_as_of,
        parse_instant,
        rfc3339,
        show,
        to_us,
    )
    from cvid.agreements.model import AgreementFile, agreement_schema
    from cvid.agreements.package import Package, load_package, package_from_files, parse_package
    from cvid.agreements.ranges import check_package_ranges
    from cvid.agreements.scenarios import ScenarioResult, run_scenarios
    from cvid.agreements.terms import CompiledTerm, Status, StepState
    from cvid.agreements.timeline import Change, timeline
    from cvid.agreements.verdict import (
        check_chain,
        checkpoint_json,
        compare,
        make_verdict,
        read_verdict,
        verdict_bytes,
    )
    from cvid.agreements.versions import (
        AMENDMENT_SUBJECT,
        MAX_AMENDMENT_BYTES,
        Amendment,
        Chain,
        PackageRecordCheck,
        PackageVersion,
        amendment_values,
        check_follows,
        consenting_parties,
        describe_parts,
        ledger_chain,
        opened_ledger,
        status_under_versions,
        timeline_under_versions,
        version_chain,
        versioned_timeline,
    )
    from cvid.agreements.yamlsrc import safe_load
    from cvid.agreements.yamlsrc import safe_load as safe_load_yaml

_lazy.install(
    __name__,
    {
        "cvid.agreements.engine": ["Evaluation", "Instant", "StepResult", "TermResult", "evaluate"],
        "cvid.agreements.errors": ["PackageError"],
        "cvid.agreements.evidence_index": ["ClockMode", "Evidence", "LedgerRecords", "View"],
        "cvid.agreements.instants": [
            "DAY",
            "from_us",
            "parse_as_of",
            "parse_instant",
            "rfc3339",
            "show",
            "to_us",
        ],
        "cvid.agreements.model": ["AgreementFile", "agreement_schema"],
        "cvid.agreements.package": [
            "Package",
            "load_package",
            "package_from_files",
            "parse_package",
        ],
        "cvid.agreements.ranges": ["check_package_ranges"],
        "cvid.agreements.scenarios": ["ScenarioResult", "run_scenarios"],
        "cvid.agreements.terms": ["CompiledTerm", "Status", "StepState"],
        "cvid.agreements.timeline": ["Change", "timeline"],
        "cvid.agreements.verdict": [
            "check_chain",
            "checkpoint_json",
            "compare",
            "make_verdict",
            "read_verdict",
            "verdict_bytes",
        ],
        "cvid.agreements.versions": [
            "AMENDMENT_SUBJECT",
            "MAX_AMENDMENT_BYTES",
            "Amendment",
            "Chain",
            "PackageRecordCheck",
            "PackageVersion",
            "amendment_values",
            "check_follows",
            "consenting_parties",
            "describe_parts",
            "ledger_chain",
            "opened_ledger",
            "status_under_versions",
            "timeline_under_versions",
            "version_chain",
            "versioned_timeline",
        ],
        "cvid.agreements.yamlsrc": ["safe_load", ("safe_load_yaml", "safe_load")],
    },
)

__all__ = [
    "AMENDMENT_SUBJECT",
    "DAY",
    "MAX_AMENDMENT_BYTES",
    "AgreementFile",
    "Amendment",
    "Chain",
    "Change",
    "ClockMode",
    "CompiledTerm",
    "Evaluation",
    "Evidence",
    "Instant",
    "LedgerRecords",
    "Package",
    "PackageError",
    "PackageRecordCheck",
    "PackageVersion",
    "ScenarioResult",
    "Status",
    "StepResult",
    "StepState",
    "TermResult",
    "View",
    "agreement_schema",
    "amendment_values",
    "check_chain",
    "check_follows",
    "check_package_ranges",
    "checkpoint_json",
    "compare",
    "consenting_parties",
    "describe_parts",
    "evaluate",
    "from_us",
    "ledger_chain",
    "load_package",
    "make_verdict",
    "opened_ledger",
    "package_from_files",
    "parse_as_of",
    "parse_instant",
    "parse_package",
    "read_verdict",
    "rfc3339",
    "run_scenarios",
    "safe_load",
    "safe_load_yaml",
    "show",
    "status_under_versions",
    "timeline",
    "timeline_under_versions",
    "to_us",
    "verdict_bytes",
    "version_chain",
    "versioned_timeline",
]
