"""Scenario tests an analyst writes in the package: given records, as of a date, expect statuses.

``scenarios/*.yaml`` (format in docs/agreements.md). Records are given inline (unsigned) and/or
imported from a CSV with a ``cvid import csv`` mapping of the package; each expectation
evaluates the package at an instant in a view and compares statuses, cited log indices and
words of the explanation; a ``timeline`` expectation compares the sequence of statuses.

A scenario file is validated whole before anything runs: an unknown key, a status or state that
does not exist, a term, party or step the package lacks, or a record time without a time zone
make it invalid (:class:`PackageError`, exit 2, naming the file and line), never a failure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cvid.agreements.engine import Evaluation, evaluate
from cvid.agreements.errors import PackageError
from cvid.agreements.evidence_index import Evidence, View
from cvid.agreements.instants import rfc3339, show, to_us
from cvid.agreements.model import Instant, to_instant
from cvid.agreements.package import Package
from cvid.agreements.terms import Status, StepState
from cvid.agreements.timeline import statuses_between, timeline
from cvid.agreements.yamlsrc import (
    Located,
    load_yaml,
    package_file,
    read_package_bytes,
    read_package_text,
)
from cvid.errors import InputError
from cvid.evidence import Record, flatten_errors, load_mapping, read_csv, table_records

SCENARIO_DIR = "scenarios"


@dataclass
class ScenarioResult:
    """One scenario's outcome: how many checks ran and what failed (empty: it passed)."""

    file: str
    name: str
    checks: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every check held."""
        return not self.failures


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ImportSpec(_Strict):
    """Records from a CSV through a ``cvid import csv`` mapping (paths in the package)."""

    mapping: str = Field(min_length=1)
    csv: str = Field(min_length=1)


class TermExpectation(_Strict):
    """What one term's status for one party must be."""

    term: str
    party: str
    status: Status | None = None
    evidence: list[int] | None = None
    explains: str | None = None


class StepExpectation(_Strict):
    """What one step's state must be."""

    step: str
    state: StepState | None = None
    evidence: list[int] | None = None
    explains: str | None = None


class Expectation(_Strict):
    """Statuses expected as of one instant, in one view."""

    as_of: Instant
    view: View = View.NOW
    terms: list[TermExpectation] = []
    steps: list[StepExpectation] = []


class TimelineExpectation(_Strict):
    """The sequence of statuses of one term/party (or one step) between two instants."""

    from_: Instant = Field(alias="from")
    to: Instant
    view: View = View.NOW
    term: str | None = None
    party: str | None = None
    step: str | None = None
    statuses: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_subject(self) -> TimelineExpectation:
        if (self.term is None) == (self.step is None):
            raise ValueError("name a term (with its party) or a step, not both")
        if self.term is not None and self.party is None:
            raise ValueError("a term's timeline needs its party")
        if self.step is not None and self.party is not None:
            raise ValueError("a step has no party")
        allowed = {s.value for s in (Status if self.term is not None else StepState)}
        wrong = [s for s in self.statuses if s not in allowed]
        if wrong:
            raise ValueError(f"not a status: {', '.join(wrong)} ({', '.join(sorted(allowed))})")
        if self.to < self.from_:
            raise ValueError("to is before from")
        return self


class Scenario(_Strict):
    """One scenario: records (imported and/or given), expectations and timelines."""

    name: str | None = None
    import_: ImportSpec | None = Field(default=None, alias="import")
    given: list[Any] = []
    expect: list[Expectation] = []
    timeline: list[TimelineExpectation] = []


class ScenarioFile(_Strict):
    """``scenarios/*.yaml``."""

    scenarios: list[Scenario]


def _times(obj: dict[str, Any]) -> dict[str, Any]:
    out = dict(obj)
    for key in ("observed_at", "reported_at"):
        if key in out and isinstance(out[key], dt.date | str):
            try:
                out[key] = to_instant(out[key])
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
    return out


def scenario_record(obj: Any, agreement: str, where: str) -> tuple[int | None, Record]:
    """An inline scenario record (defaults filled in) and its explicit ``index``, if any."""
    if not isinstance(obj, dict):
        raise PackageError(f"{where}: a given record must be a mapping")
    try:
        data = _times(obj)
        index = data.pop("index", None)
        if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
            raise ValueError(f"index must be a whole number, not {index!r}")
        data.setdefault("agreement", agreement)
        data.setdefault("signer", "scenario")
        if "party" in data:
            data.setdefault("submitter", data["party"])
        if "observed_at" in data:
            data.setdefault("reported_at", data["observed_at"])
        return index, Record.model_validate(data)
    except (ValidationError, ValueError) as exc:
        why = flatten_errors(exc) if isinstance(exc, ValidationError) else str(exc)
        raise PackageError(f"{where}: not a valid record: {why}") from None


def imported_records(
    package_dir: Path, spec: Any, where: str, data_dir: Path | None
) -> list[Record]:
    """Records from ``import: {mapping, csv}`` (paths relative to the package folder).

    ``data_dir``, when given, is where the CSV is looked for instead (by its file name).
    """
    if not isinstance(spec, dict) or not {"mapping", "csv"} <= spec.keys():
        raise PackageError(f"{where}: import needs mapping and csv (paths in the package)")
    csv_path = package_file(package_dir, str(spec["csv"]), f"{where}: import.csv")
    if data_dir is not None:
        csv_path = data_dir / csv_path.name
    mapping_path = package_file(package_dir, str(spec["mapping"]), f"{where}: import.mapping")
    if mapping_path.is_symlink() or not mapping_path.is_file():
        raise PackageError(f"{where}: import.mapping: {mapping_path} is not a file of the package")
    data = read_package_bytes(csv_path)
    mapping = load_mapping(mapping_path)
    rows = read_csv(data, str(csv_path))
    out = []
    for row_where, obj in table_records(mapping, rows, dt.datetime.now(dt.UTC)):
        obj.setdefault("signer", "scenario")
        try:
            out.append(Record.model_validate(obj))
        except ValidationError as exc:
            raise InputError(f"{row_where}: {flatten_errors(exc)}") from None
    return out


def _some(names: list[str], most: int = 20) -> str:
    shown = ", ".join(names[:most]) + (", ..." if len(names) > most else "")
    return shown or "none"


def _validation_message(exc: ValidationError, doc: Located) -> str:
    out = []
    for err in exc.errors()[:8]:
        path = tuple(p for p in err["loc"] if isinstance(p, str | int))
        dotted = ".".join(str(p) for p in path) or "(top)"
        out.append(f"{doc.where(path)}: invalid: {dotted}: {err['msg']}")
    more = len(exc.errors()) - len(out)
    return "\n".join(out) + (f"\n... and {more} more" if more > 0 else "")


class _Runner:
    def __init__(self, package: Package, doc: Located, data_dir: Path | None) -> None:
        self.package = package
        self.doc = doc
        self.data_dir = data_dir
        self.terms = {t.id: t for t in package.terms}
        self.steps = {s.id for s in package.steps}

    def check_names(self, sc: Scenario, n: int) -> None:
        """Refuse an expectation naming a term, party or step the package does not have."""

        def fail(path: tuple[str | int, ...], message: str) -> PackageError:
            return PackageError(f"{self.doc.where(('scenarios', n, *path))}: invalid: {message}")

        def term(path: tuple[str | int, ...], term_id: str, party: str | None) -> None:
            t = self.terms.get(term_id)
            if t is None:
                known = _some(list(self.terms))
                raise fail((*path, "term"), f"no term {term_id!r} (terms: {known})")
            if party is not None and party not in t.parties:
                raise fail(
                    (*path, "party"),
                    f"term {term_id!r} is not {party}'s (parties: {', '.join(t.parties)})",
                )

        def step(path: tuple[str | int, ...], step_id: str) -> None:
            if step_id not in self.steps:
                known = _some(sorted(self.steps))
                raise fail((*path, "step"), f"no step {step_id!r} (steps: {known})")

        for k, exp in enumerate(sc.expect):
            for m, want in enumerate(exp.terms):
                term(("expect", k, "terms", m), want.term, want.party)
            for m, swant in enumerate(exp.steps):
                step(("expect", k, "steps", m), swant.step)
        for k, tl in enumerate(sc.timeline):
            if tl.term is not None:
                term(("timeline", k), tl.term, tl.party)
            elif tl.step is not None:
                step(("timeline", k), tl.step)

    def evidence(self, sc: Scenario, n: int) -> Evidence:
        records: list[tuple[int, Record]] = []
        if sc.import_ is not None:
            if self.package.directory is None:
                raise PackageError(f"{self.doc.file}: import needs a package folder")
            where = self.doc.where(("scenarios", n, "import"))
            spec = {"mapping": sc.import_.mapping, "csv": sc.import_.csv}
            got = imported_records(self.package.directory, spec, where, self.data_dir)
            records.extend(enumerate(got))
        for k, obj in enumerate(sc.given):
            where = self.doc.where(("scenarios", n, "given", k))
            index, rec = scenario_record(obj, self.package.id, where)
            records.append((len(records) if index is None else index, rec))
        try:
            return Evidence(records)
        except ValueError as exc:
            raise PackageError(f"{self.doc.where(('scenarios', n))}: {exc}") from None

    def run(self, sc: Scenario, n: int) -> ScenarioResult:
        name = sc.name or f"#{n + 1}"
        result = ScenarioResult(self.doc.file, name)
        ev = self.evidence(sc, n)
        for k, exp in enumerate(sc.expect):
            where = self.doc.where(("scenarios", n, "expect", k))
            at = to_us(exp.as_of)
            got = evaluate(self.package, ev, at, exp.view)
            self.compare(result, got, exp, f"{where}: as of {show(at)} ({exp.view.value})")
        for k, tl in enumerate(sc.timeline):
            where = self.doc.where(("scenarios", n, "timeline", k))
            self.check_timeline(result, ev, tl, where)
        return result

    def compare(
        self, result: ScenarioResult, got: Evaluation, exp: Expectation, where: str
    ) -> None:
        terms = {(t.term, t.party): t for t in got.terms}
        for want in exp.terms:
            result.checks += 1
            t = terms[(want.term, want.party)]
            label = f"{where}: term {want.term} {want.party}"
            status = None if want.status is None else want.status.value
            self.same(result, label, status, want, t.status.value, t.evidence, t.explanation)
        steps = {s.step: s for s in got.steps}
        for swant in exp.steps:
            result.checks += 1
            s = steps[swant.step]
            label = f"{where}: step {swant.step}"
            state = None if swant.state is None else swant.state.value
            self.same(result, label, state, swant, s.state.value, s.evidence, s.explanation)

    @staticmethod
    def same(
        result: ScenarioResult,
        label: str,
        expected: str | None,
        want: TermExpectation | StepExpectation,
        status: str,
        evidence: tuple[int, ...],
        explanation: str,
    ) -> None:
        if expected is not None and expected != status:
            result.failures.append(f"{label}: expected {expected}, got {status} ({explanation})")
        if want.evidence is not None and list(want.evidence) != list(evidence):
            result.failures.append(
                f"{label}: expected evidence {want.evidence}, got {list(evidence)}"
            )
        if want.explains is not None and want.explains not in explanation:
            result.failures.append(f"{label}: explanation lacks {want.explains!r}: {explanation!r}")

    def check_timeline(
        self, result: ScenarioResult, ev: Evidence, tl: TimelineExpectation, where: str
    ) -> None:
        result.checks += 1
        ident = tl.term if tl.term is not None else tl.step
        assert ident is not None
        party = tl.party if tl.term is not None else None
        changes = timeline(self.package, ev, to_us(tl.from_), to_us(tl.to), tl.view)
        got = statuses_between(changes, ident, party)
        if got != tl.statuses:
            steps = [
                f"{rfc3339(c.at)} {c.after}" for c in changes if c.id == ident and c.party == party
            ]
            result.failures.append(
                f"{where}: timeline of {ident} {party or ''}: expected {tl.statuses}, got {got} "
                f"({'; '.join(steps)})"
            )


def run_scenario_text(
    package: Package, text: str, file: str, data_dir: Path | None = None
) -> list[ScenarioResult]:
    """Run the scenarios in ``text`` (a scenario file named ``file``) against ``package``."""
    doc = load_yaml(text, file)
    if not isinstance(doc.data, dict):
        raise PackageError(f"{file}: must be a mapping with a list 'scenarios'")
    try:
        model = ScenarioFile.model_validate(doc.data)
    except ValidationError as exc:
        raise PackageError(_validation_message(exc, doc)) from None
    runner = _Runner(package, doc, data_dir)
    for n, sc in enumerate(model.scenarios):
        runner.check_names(sc, n)
    return [runner.run(sc, n) for n, sc in enumerate(model.scenarios)]


def run_scenarios(package: Package, data_dir: Path | None = None) -> list[ScenarioResult]:
    """Run every ``scenarios/*.yaml`` of the package's folder, in file-name order.

    Raises :class:`PackageError` for a malformed scenario file; failing expectations are in
    the results.
    """
    if package.directory is None:
        return []
    out: list[ScenarioResult] = []
    folder = package.directory / SCENARIO_DIR
    if folder.is_symlink():
        raise PackageError(f"{folder}: a symbolic link; a package's files must be in its folder")
    for path in sorted(folder.glob("*.yaml")):
        text = read_package_text(path)
        out.extend(run_scenario_text(package, text, str(path), data_dir))
    return out
