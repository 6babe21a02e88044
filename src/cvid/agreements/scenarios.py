"""Scenario tests an analyst writes in the package: given records, as of a date, expect statuses.

``scenarios/*.yaml`` (format in docs/agreements.md). Records are given inline (unsigned) and/or
imported from a CSV with a ``cvid import csv`` mapping of the package; each expectation
evaluates the package at an instant in a view and compares statuses, cited log indices and
words of the explanation; a ``timeline`` expectation compares the sequence of statuses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cvid.agreements.engine import Evaluation, evaluate
from cvid.agreements.errors import PackageError
from cvid.agreements.index import Evidence, View
from cvid.agreements.instants import parse_instant, rfc3339, show, to_us
from cvid.agreements.model import to_instant
from cvid.agreements.package import Package
from cvid.agreements.timeline import statuses_between, timeline
from cvid.agreements.yamlsrc import Located, load_yaml
from cvid.errors import InputError
from cvid.evidence.importer import load_mapping, read_csv, table_records
from cvid.evidence.record import Record
from cvid.evidence.signing import flatten_errors

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


def _times(obj: dict[str, Any]) -> dict[str, Any]:
    out = dict(obj)
    for key in ("observed_at", "reported_at"):
        if key in out and isinstance(out[key], dt.date | str):
            out[key] = to_instant(out[key])
    return out


def scenario_record(obj: Any, agreement: str, where: str) -> tuple[int | None, Record]:
    """An inline scenario record (defaults filled in) and its explicit ``index``, if any."""
    if not isinstance(obj, dict):
        raise PackageError(f"{where}: a given record must be a mapping")
    data = _times(obj)
    index = data.pop("index", None)
    data.setdefault("agreement", agreement)
    data.setdefault("signer", "scenario")
    if "party" in data:
        data.setdefault("submitter", data["party"])
    if "observed_at" in data:
        data.setdefault("reported_at", data["observed_at"])
    try:
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
    csv_path = package_dir / str(spec["csv"])
    if data_dir is not None:
        csv_path = data_dir / csv_path.name
    try:
        data = csv_path.read_bytes()
    except OSError as exc:
        raise PackageError(f"{where}: cannot read {csv_path}: {exc.strerror}") from None
    mapping = load_mapping(package_dir / str(spec["mapping"]))
    rows = read_csv(data, str(csv_path))
    out = []
    for row_where, obj in table_records(mapping, rows, dt.datetime.now(dt.UTC)):
        obj.setdefault("signer", "scenario")
        try:
            out.append(Record.model_validate(obj))
        except ValidationError as exc:
            raise InputError(f"{row_where}: {flatten_errors(exc)}") from None
    return out


def _expect_list(x: Any, where: str) -> list[dict[str, Any]]:
    if x is None:
        return []
    if not isinstance(x, list) or not all(isinstance(i, dict) for i in x):
        raise PackageError(f"{where}: must be a list of mappings")
    return x


class _Runner:
    def __init__(self, package: Package, doc: Located, data_dir: Path | None) -> None:
        self.package = package
        self.doc = doc
        self.data_dir = data_dir

    def evidence(self, sc: dict[str, Any], n: int) -> Evidence:
        records: list[tuple[int, Record]] = []
        if "import" in sc:
            if self.package.directory is None:
                raise PackageError(f"{self.doc.file}: import needs a package folder")
            where = self.doc.where(("scenarios", n, "import"))
            got = imported_records(self.package.directory, sc["import"], where, self.data_dir)
            records.extend(enumerate(got))
        for k, obj in enumerate(_expect_list(sc.get("given"), self.doc.where(("scenarios", n)))):
            where = self.doc.where(("scenarios", n, "given", k))
            index, rec = scenario_record(obj, self.package.id, where)
            records.append((len(records) if index is None else int(index), rec))
        try:
            return Evidence(records)
        except ValueError as exc:
            raise PackageError(f"{self.doc.where(('scenarios', n))}: {exc}") from None

    def run(self, sc: dict[str, Any], n: int) -> ScenarioResult:
        name = str(sc.get("name", f"#{n + 1}"))
        result = ScenarioResult(self.doc.file, name)
        ev = self.evidence(sc, n)
        for k, exp in enumerate(_expect_list(sc.get("expect"), self.doc.where(("scenarios", n)))):
            where = self.doc.where(("scenarios", n, "expect", k))
            at, view = self.when(exp, where)
            got = evaluate(self.package, ev, at, view)
            self.compare(result, got, exp, f"{where}: as of {show(at)} ({view.value})")
        for k, exp in enumerate(_expect_list(sc.get("timeline"), self.doc.where(("scenarios", n)))):
            where = self.doc.where(("scenarios", n, "timeline", k))
            self.check_timeline(result, ev, exp, where)
        return result

    def when(self, exp: dict[str, Any], where: str) -> tuple[int, View]:
        try:
            at = to_us(to_instant(exp["as_of"]))
            view = View(exp.get("view", "now"))
        except (KeyError, ValueError) as exc:
            raise PackageError(f"{where}: needs as_of (a date) and view then|now: {exc}") from None
        return at, view

    def compare(
        self, result: ScenarioResult, got: Evaluation, exp: dict[str, Any], where: str
    ) -> None:
        terms = {(t.term, t.party): t for t in got.terms}
        for want in _expect_list(exp.get("terms"), where):
            result.checks += 1
            key = (str(want.get("term")), str(want.get("party")))
            t = terms.get(key)
            label = f"{where}: term {key[0]} {key[1]}"
            if t is None:
                result.failures.append(f"{label}: no such term and party")
                continue
            self.same(result, label, want, t.status.value, t.evidence, t.explanation, "status")
        steps = {s.step: s for s in got.steps}
        for want in _expect_list(exp.get("steps"), where):
            result.checks += 1
            s = steps.get(str(want.get("step")))
            label = f"{where}: step {want.get('step')}"
            if s is None:
                result.failures.append(f"{label}: no such step")
                continue
            self.same(result, label, want, s.state.value, s.evidence, s.explanation, "state")

    @staticmethod
    def same(
        result: ScenarioResult,
        label: str,
        want: dict[str, Any],
        status: str,
        evidence: tuple[int, ...],
        explanation: str,
        key: str,
    ) -> None:
        if key in want and want[key] != status:
            result.failures.append(f"{label}: expected {want[key]}, got {status} ({explanation})")
        if "evidence" in want and list(want["evidence"]) != list(evidence):
            result.failures.append(
                f"{label}: expected evidence {want['evidence']}, got {list(evidence)}"
            )
        if "explains" in want and str(want["explains"]) not in explanation:
            result.failures.append(
                f"{label}: explanation lacks {want['explains']!r}: {explanation!r}"
            )

    def check_timeline(
        self, result: ScenarioResult, ev: Evidence, exp: dict[str, Any], where: str
    ) -> None:
        result.checks += 1
        try:
            lo = to_us(to_instant(exp["from"]))
            hi = to_us(to_instant(exp["to"]))
            view = View(exp.get("view", "now"))
            want = [str(s) for s in exp["statuses"]]
            ident = str(exp.get("term") or exp["step"])
        except (KeyError, ValueError) as exc:
            raise PackageError(
                f"{where}: timeline needs from, to, term or step, statuses: {exc}"
            ) from None
        party = exp.get("party") if "term" in exp else None
        changes = timeline(self.package, ev, lo, hi, view)
        got = statuses_between(changes, ident, None if party is None else str(party))
        if got != want:
            steps = [
                f"{rfc3339(c.at)} {c.after}" for c in changes if c.id == ident and c.party == party
            ]
            result.failures.append(
                f"{where}: timeline of {ident} {party or ''}: expected {want}, got {got} "
                f"({'; '.join(steps)})"
            )


def run_scenario_text(
    package: Package, text: str, file: str, data_dir: Path | None = None
) -> list[ScenarioResult]:
    """Run the scenarios in ``text`` (a scenario file named ``file``) against ``package``."""
    doc = load_yaml(text, file)
    if not isinstance(doc.data, dict) or not isinstance(doc.data.get("scenarios"), list):
        raise PackageError(f"{file}: must be a mapping with a list 'scenarios'")
    runner = _Runner(package, doc, data_dir)
    out = []
    for n, sc in enumerate(doc.data["scenarios"]):
        if not isinstance(sc, dict):
            raise PackageError(f"{doc.where(('scenarios', n))}: a scenario must be a mapping")
        out.append(runner.run(sc, n))
    return out


def run_scenarios(package: Package, data_dir: Path | None = None) -> list[ScenarioResult]:
    """Run every ``scenarios/*.yaml`` of the package's folder, in file-name order.

    Raises :class:`PackageError` for a malformed scenario file; failing expectations are in
    the results.
    """
    if package.directory is None:
        return []
    out: list[ScenarioResult] = []
    for path in sorted((package.directory / SCENARIO_DIR).glob("*.yaml")):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PackageError(f"cannot read {path}: {exc.strerror}") from None
        out.extend(run_scenario_text(package, text, str(path), data_dir))
    return out


def parse_as_of(text: str) -> int:
    """A command-line date or instant; :class:`InputError` if it is neither."""
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise InputError(f"not a date or instant: {text!r} ({exc})") from None
