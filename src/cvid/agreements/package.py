"""Load an agreement package: validate ``agreement.yaml``, compile it, refuse contradictions.

A package that loads is internally consistent: every name it uses exists, every condition
type-checks, and no two rules that apply at the same time disagree (Catala's rule: a conflict
is an error, never a silent winner). Errors name the file, the line and the term or step.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cvid.agreements.cel import Condition, Ref, compile_condition
from cvid.agreements.errors import PackageError
from cvid.agreements.instants import DAY, show, to_us
from cvid.agreements.model import (
    ActionTerm,
    AgreementFile,
    LimitTerm,
    Parameter,
    PeriodicTerm,
    ProhibitionTerm,
    Step,
    ValueType,
    to_instant,
)
from cvid.agreements.ranges import check_ranges
from cvid.agreements.terms import CompiledStep, CompiledTerm, ParamSeries, Schedule, Status
from cvid.agreements.yamlsrc import Located, load_yaml, read_package_text
from cvid.errors import InputError
from cvid.evidence import Kind, Quantity, Role, convert, files_sha256, package_sha256, parse_unit

AGREEMENT_FILE = "agreement.yaml"
#: Record kinds a term or step reads unless it names others: everything but key records.
EVIDENCE_KINDS = frozenset(Kind) - {Kind.KEY_REGISTRATION, Kind.KEY_REVOCATION}
_KIND_TAGS = {"limit", "prohibition", "action", "periodic"}

_TERM_VARS = {
    "values": "map(string, dyn)",
    "params": "map(string, double)",
    "party": "string",
    "submitter": "string",
    "kind": "string",
    "subject": "string",
    "observed_at": "timestamp",
    "as_of": "timestamp",
}
#: What a step's ``delivered_by.condition`` reads: the delivery record.
_DELIVERY_VARS = {
    "values": "map(string, dyn)",
    "kind": "string",
    "subject": "string",
    "submitter": "string",
    "observed_at": "timestamp",
}
_STEP_VARS = {
    "status": "map(string, string)",
    "params": "map(string, double)",
    "as_of": "timestamp",
}

AnyTerm = LimitTerm | ProhibitionTerm | ActionTerm | PeriodicTerm


@dataclass(frozen=True)
class Package:
    """A loaded agreement package: its model, roles, parameters, compiled terms and steps.

    ``sha256`` is :func:`cvid.evidence.package_sha256` of the folder (None when parsed from
    text); ``directory`` is where it was read from.
    """

    id: str
    title: str
    model: AgreementFile
    roles: Mapping[str, frozenset[Role]]
    parameters: Mapping[str, ParamSeries]
    terms: tuple[CompiledTerm, ...]
    steps: tuple[CompiledStep, ...]
    file: str = AGREEMENT_FILE
    directory: Path | None = None
    sha256: str | None = None

    def term(self, term_id: str) -> CompiledTerm:
        """The term with id ``term_id``; KeyError if none."""
        for t in self.terms:
            if t.id == term_id:
                return t
        raise KeyError(term_id)


def load_package(directory: Path) -> Package:
    """Read, validate and compile ``directory/agreement.yaml``; hash the folder.

    Raises :class:`PackageError` (exit 2) naming the file, line and term for anything wrong.
    """
    path = directory / AGREEMENT_FILE
    text = read_package_text(path)  # no symbolic link, UTF-8, within the YAML size limit
    pkg = parse_package(text, str(path))
    return _with(pkg, directory, package_sha256(directory))


def package_from_files(files: Mapping[str, bytes], where: str) -> Package:
    """Validate and compile a package given as its files (a ledger's copy); pure.

    ``where`` names the package in messages; the package's hash is that of the files.
    """
    data = files.get(AGREEMENT_FILE)
    if data is None:
        raise PackageError(f"{where}: the package has no {AGREEMENT_FILE}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PackageError(f"{where}/{AGREEMENT_FILE}: not UTF-8 (byte {exc.start})") from None
    pkg = parse_package(text, f"{where}/{AGREEMENT_FILE}")
    return _with(pkg, None, files_sha256(files))


def _with(pkg: Package, directory: Path | None, sha256: str) -> Package:
    return Package(
        pkg.id,
        pkg.title,
        pkg.model,
        pkg.roles,
        pkg.parameters,
        pkg.terms,
        pkg.steps,
        pkg.file,
        directory,
        sha256,
    )


def parse_package(text: str, file: str = AGREEMENT_FILE) -> Package:
    """Validate and compile the text of an ``agreement.yaml`` named ``file`` in messages."""
    located = load_yaml(text, file)
    if not isinstance(located.data, dict):
        raise PackageError(f"{file}: must be a mapping with id, title, parties and terms")
    check_ranges(located)  # values every later command can compute with (issue 12)
    try:
        model = AgreementFile.model_validate(located.data)
    except ValidationError as exc:
        raise PackageError(_validation_message(exc, located)) from None
    return _Compiler(model, located).package()


def _validation_message(exc: ValidationError, located: Located) -> str:
    out = []
    for err in exc.errors()[:8]:
        loc = list(err["loc"])
        path: list[str | int] = [
            p
            for i, p in enumerate(loc)
            if not (p in _KIND_TAGS and i >= 2 and loc[i - 2] == "terms")
        ]
        label = _label(located.data, path)
        dotted = ".".join(str(p) for p in path) or "(top)"
        out.append(f"{located.where(tuple(path))}: {label}{dotted}: {err['msg']}")
    more = len(exc.errors()) - len(out)
    return "\n".join(out) + (f"\n... and {more} more" if more > 0 else "")


def _label(data: Any, path: list[str | int]) -> str:
    if len(path) >= 2 and path[0] in ("terms", "steps") and isinstance(path[1], int):
        try:
            item = data[path[0]][path[1]]
            what = "term" if path[0] == "terms" else "step"
            return f"{what} {item.get('id', path[1])!r}: "
        except (LookupError, TypeError, AttributeError):
            return ""
    return ""


class _Compiler:
    def __init__(self, model: AgreementFile, located: Located) -> None:
        self.model = model
        self.located = located
        self.file = located.file
        self.party_ids = [p.id for p in model.parties]

    def fail(self, path: tuple[str | int, ...], message: str) -> PackageError:
        return PackageError(f"{self.located.where(path)}: {message}")

    def package(self) -> Package:
        m = self.model
        dup = sorted({p for p in self.party_ids if self.party_ids.count(p) > 1})
        if dup:
            raise self.fail(("parties",), f"party ids appear twice: {', '.join(dup)}")
        for n, key in enumerate(m.keys):
            if key.party not in self.party_ids:
                raise self.fail(("keys", n), f"key for unknown party {key.party!r}")
        roles = {p.id: frozenset(p.roles) for p in m.parties}
        params = {name: self.parameter(name, p) for name, p in m.parameters.items()}
        terms = tuple(self.term(i, t, params, roles) for i, t in enumerate(m.terms))
        self.unique([t.id for t in terms], "terms", "term")
        steps = tuple(self.step(i, s, params, terms) for i, s in enumerate(m.steps))
        self.unique([s.id for s in steps], "steps", "step")
        self.check_limit_conflicts(terms)
        return Package(m.id, m.title, m, roles, params, terms, steps, self.file)

    def unique(self, ids: list[str], where: str, what: str) -> None:
        for n, i in enumerate(ids):
            if i in ids[:n]:
                raise self.fail((where, n), f"{what} id {i!r} is used twice")

    def unit(self, unit: str | None, path: tuple[str | int, ...]) -> None:
        if unit is not None:
            try:
                parse_unit(unit)
            except InputError as exc:
                raise self.fail(path, str(exc)) from None

    def parameter(self, name: str, p: Parameter) -> ParamSeries:
        self.unit(p.unit, ("parameters", name, "unit"))
        items = sorted((to_us(to_instant(k)), v) for k, v in p.values.items())
        return ParamSeries(
            name,
            p.description,
            p.unit,
            tuple(t for t, _ in items),
            tuple(None if v.value is None else float(v.value) for _, v in items),
            tuple(v.reference for _, v in items),
        )

    def term(
        self,
        i: int,
        t: AnyTerm,
        params: Mapping[str, ParamSeries],
        roles: Mapping[str, frozenset[Role]],
    ) -> CompiledTerm:
        path: tuple[str | int, ...] = ("terms", i)
        label = f"term {t.id!r}"
        inspected = [p for p, r in roles.items() if Role.INSPECTED_PARTY in r]
        parties = t.parties if t.parties is not None else tuple(inspected or self.party_ids)
        for p in parties:
            if p not in roles:
                raise self.fail((*path, "parties"), f"{label}: unknown party {p!r}")
        verified_by = t.verified_by or self.model.defaults.verified_by or (Role.INSPECTORATE,)
        unit = getattr(t, "unit", None)
        param: ParamSeries | None = None
        if isinstance(t, LimitTerm):
            param = params.get(t.parameter)
            if param is None:
                raise self.fail((*path, "parameter"), f"{label}: no parameter {t.parameter!r}")
            unit = unit or param.unit
        self.unit(unit, (*path, "unit"))
        vtype = _value_type(t, unit)
        variables = {**_TERM_VARS, "value": vtype}
        if vtype == "double":
            variables["baseline"] = "double"
        if isinstance(t, LimitTerm):
            variables["limit"] = "double"
        source = t.condition or _default_condition(t, vtype)
        if source is None:
            raise self.fail(path, f"{label}: a {t.kind} on a {vtype} value needs a condition")
        cpath = (*path, "condition") if t.condition else path
        where = f"{self.located.where(cpath)}: {label} condition"
        cond = compile_condition(source, variables, where)
        self.check_refs(cond, where, params, None)
        fresh = getattr(t, "freshness_days", None)
        if fresh is None:
            fresh = self.model.defaults.freshness_days
        if fresh is None and t.kind in ("limit", "prohibition"):
            raise self.fail(
                path,
                f"{label}: a {t.kind} needs freshness_days (or defaults.freshness_days): "
                "without it evidence would never go stale and one old record would keep the "
                "term met forever",
            )
        inf = t.in_force
        return CompiledTerm(
            id=t.id,
            kind=t.kind,
            title=t.title,
            clause_ref=t.clause.ref,
            parties=tuple(parties),
            start=to_us(inf.from_) if inf and inf.from_ else None,
            end=to_us(inf.until) if inf and inf.until else None,
            quantity=t.evidence.quantity,
            kinds=frozenset(t.evidence.kinds) if t.evidence.kinds else EVIDENCE_KINDS,
            subject=t.evidence.subject,
            verified_by=frozenset(verified_by),
            condition=cond,
            value_type=vtype,
            unit=unit,
            material=getattr(t, "material", None),
            enrichment=getattr(t, "enrichment", None),
            noun=t.noun or t.evidence.quantity.replace("_", " "),
            line=self.located.line(path),
            parameter=param,
            bound=t.bound.value if isinstance(t, LimitTerm) else "max",
            freshness=(
                round(fresh * DAY)
                if fresh is not None and t.kind in ("limit", "prohibition")
                else None
            ),
            overdue_from=(
                to_us(t.deadline) + DAY if isinstance(t, ActionTerm) and t.deadline else None
            ),
            schedule=self.schedule(path, t) if isinstance(t, PeriodicTerm) else None,
        )

    def schedule(self, path: tuple[str | int, ...], t: PeriodicTerm) -> Schedule:
        s = t.schedule
        month_days = []
        for n, md in enumerate(s.dates):
            month, day = int(md[:2]), int(md[3:])
            try:
                dt.date(2000, month, day)
            except ValueError:
                raise self.fail((*path, "schedule", "dates", n), f"no such day {md!r}") from None
            month_days.append((month, day))
        return Schedule(
            tuple(sorted(set(month_days))),
            to_us(s.from_),
            to_us(s.until) if s.until else None,
            s.grace_days,
            s.window_days * DAY,
        )

    def step(
        self, i: int, s: Step, params: Mapping[str, ParamSeries], terms: tuple[CompiledTerm, ...]
    ) -> CompiledStep:
        path: tuple[str | int, ...] = ("steps", i)
        label = f"step {s.id!r}"
        for p in (s.by, *s.to):
            if p not in self.party_ids:
                raise self.fail(path, f"{label}: unknown party {p!r}")
        by_id = {t.id: t for t in terms}
        requires: list[tuple[str, str]] = []
        after: list[str] = []
        earlier = [x.id for x in self.model.steps[:i]]
        for n, r in enumerate(s.requires):
            if r.step is not None:
                if r.step not in earlier:
                    later = r.step in (x.id for x in self.model.steps)
                    raise self.fail(
                        (*path, "requires", n),
                        f"{label}: step {r.step!r} "
                        + (
                            "comes at or after it; a step waits only on steps listed before it"
                            if later
                            else "does not exist"
                        ),
                    )
                after.append(r.step)
                continue
            assert r.term is not None
            term = by_id.get(r.term)
            if term is None:
                raise self.fail((*path, "requires", n), f"{label}: no term {r.term!r}")
            if r.party is not None and r.party not in term.parties:
                raise self.fail(
                    (*path, "requires", n), f"{label}: term {r.term!r} is not {r.party}'s"
                )
            requires.extend((r.term, p) for p in ([r.party] if r.party else term.parties))
        cond = None
        cites = list(requires)
        if s.condition is not None:
            where = f"{self.located.where((*path, 'condition'))}: {label} condition"
            cond = compile_condition(s.condition, _STEP_VARS, where)
            for key in self.check_refs(cond, where, params, by_id):
                if key not in cites:
                    cites.append(key)
        elif not requires and not after and s.owed_from is None:
            raise self.fail(
                path, f"{label}: say what it requires (requires, condition or owed_from)"
            )
        sel = s.delivered_by
        delivers = None
        if sel.condition is not None:
            where = f"{self.located.where((*path, 'delivered_by', 'condition'))}: {label} delivery"
            delivers = compile_condition(sel.condition, _DELIVERY_VARS, where)
        parts = [p.id for p in s.parts]
        for n, part in enumerate(parts):
            if part in parts[:n]:
                raise self.fail((*path, "parts", n), f"{label}: part id {part!r} is used twice")
        return CompiledStep(
            id=s.id,
            title=s.title,
            clause_ref=s.clause.ref,
            by=s.by,
            to=s.to,
            requires=tuple(requires),
            condition=cond,
            kinds=frozenset(sel.kinds) if sel.kinds else EVIDENCE_KINDS,
            subject=sel.subject,
            line=self.located.line(path),
            cites=tuple(cites),
            after=tuple(after),
            owed_from=to_us(s.owed_from) if s.owed_from is not None else None,
            delivers=delivers,
            parts=tuple(parts),
        )

    def check_refs(
        self,
        cond: Condition,
        where: str,
        params: Mapping[str, ParamSeries],
        terms: Mapping[str, CompiledTerm] | None,
    ) -> list[tuple[str, str]]:
        """Check the names a condition reads; return the (term, party) keys of ``status``.

        ``params["x"]``, ``params.x``, ``has(params.x)`` and ``"x" in params`` must name a
        parameter; ``status["t/P"]`` must name a term ``t`` of party ``P`` and be read with a
        literal key (else the timeline could not know which terms a step depends on); a text
        compared with a status must be a status. ``as_of`` is refused: a condition that changes
        with the clock alone has no instant at which its status changes.
        """

        def fail(ref: Ref | None, message: str) -> PackageError:
            at = f", expression line {ref.line} column {ref.column}" if ref else ""
            return PackageError(f"{where}{at}: {message}")

        if "as_of" in cond.uses:
            raise fail(
                None,
                "as_of is not available in conditions: a status that changes with the clock "
                "alone has no instant at which it changes; use in_force, a deadline or a dated "
                "parameter",
            )
        keys: list[tuple[str, str]] = []
        statuses = {s.value for s in Status}
        for ref in cond.refs:
            if ref.variable == "params":
                if ref.how == "key" and ref.text not in params:
                    known = _some(sorted(params))
                    raise fail(ref, f"no parameter {ref.text!r} (parameters: {known})")
                continue
            if terms is None:  # pragma: no cover - status is not declared for terms
                continue
            if ref.how == "other":
                raise fail(
                    ref,
                    'read status only with a literal key, status["<term>/<party>"]: the '
                    "timeline must know which terms a step depends on",
                )
            text = ref.text or ""
            if ref.how == "compare":
                if text not in statuses:
                    raise fail(
                        ref, f"{text!r} is not a status ({', '.join(s.value for s in Status)})"
                    )
                continue
            term_id, _, party = text.rpartition("/")
            term = terms.get(term_id)
            if term is None or party not in term.parties:
                known = _some(f"{t.id}/{p}" for t in terms.values() for p in t.parties)
                raise fail(ref, f"status[{text!r}] names no term and party (keys: {known})")
            keys.append((term_id, party))
        return keys

    def check_limit_conflicts(self, terms: tuple[CompiledTerm, ...]) -> None:
        """Refuse two limits that can judge the same record for the same party differently.

        Two limits *overlap* when they read the same quantity for a common party, some record
        kind both read, and subjects that can be the same record (equal, or one of them reads
        every subject); and both are in force with a value at some instant. Overlapping limits
        conflict when, at such an instant, two maxima (or two minima) differ, or a maximum is
        below a minimum (no value meets both). Limits reading disjoint kinds or different
        subjects never judge the same record and are not compared.
        """
        limits = [t for t in terms if t.kind == "limit"]
        by_quantity: dict[str, list[CompiledTerm]] = {}
        for term in limits:
            by_quantity.setdefault(term.quantity, []).append(term)
        for group in by_quantity.values():
            for a, b in itertools.combinations(group, 2):
                self.check_pair(a, b)

    def check_pair(self, a: CompiledTerm, b: CompiledTerm) -> None:
        common = [p for p in a.parties if p in b.parties]
        if not common or not (a.kinds & b.kinds):
            return
        if a.subject is not None and b.subject is not None and a.subject != b.subject:
            return
        assert a.parameter is not None and b.parameter is not None
        for t in sorted(set(a.fixed_instants() + b.fixed_instants())):
            if not (a.in_force_window(t) and b.in_force_window(t)):
                continue
            va, vb = a.parameter.at(t), b.parameter.at(t)
            if va is None or vb is None:
                continue
            vb_a, tol = vb, 1e-9
            if a.unit and b.unit and a.unit != b.unit:
                try:
                    vb_a = float(convert(Quantity(value=vb, unit=b.unit), a.unit).value)
                except InputError as exc:
                    why = f"units that do not convert ({exc})"
                    raise self.conflict(a, b, common, t, why) from None
                # Converted limits agree to the precision treaties round them to.
                tol = 1e-4
            where = f"at {va:g}{_unit(a.unit)} and {vb:g}{_unit(b.unit)}"
            if a.bound == b.bound:
                if not math.isclose(va, vb_a, rel_tol=tol):
                    scope = ""
                    if a.subject != b.subject:
                        scope = (
                            f" (one reads every subject, the other only {a.subject or b.subject!r}"
                            ": give the aggregate limit its own subject or quantity)"
                        )
                    raise self.conflict(a, b, common, t, f"{where}{scope}")
                continue
            high, low = (va, vb_a) if a.bound == "max" else (vb_a, va)
            if high < low and not math.isclose(high, low, rel_tol=tol):
                why = f"{where}: the maximum is below the minimum, no value meets both"
                raise self.conflict(a, b, common, t, why)

    def conflict(
        self, a: CompiledTerm, b: CompiledTerm, common: list[str], t: int, detail: str
    ) -> PackageError:
        bounds = a.bound if a.bound == b.bound else f"{a.bound} and {b.bound}"
        return PackageError(
            f"{self.file}:{a.line}: term {a.id!r} ({a.clause_ref}) and term {b.id!r} "
            f"at line {b.line} ({b.clause_ref}) both bound {a.quantity} "
            f"({bounds}) for {', '.join(common)} on {show(t)}, {detail}: two rules that apply "
            "at once disagree"
        )


def _some(names: Iterable[str], most: int = 20) -> str:
    """``a, b, c`` (at most ``most`` names, then ``...``), or ``none``."""
    items = list(names)
    shown = ", ".join(items[:most]) + (", ..." if len(items) > most else "")
    return shown or "none"


def _unit(unit: str | None) -> str:
    return f" {unit}" if unit else ""


def _value_type(t: AnyTerm, unit: str | None) -> str:
    if isinstance(t, LimitTerm) or unit is not None:
        return "double"
    declared = getattr(t, "value_type", None)
    if declared is None:
        return "double" if isinstance(t, PeriodicTerm) else "bool"
    return {ValueType.BOOL: "bool", ValueType.NUMBER: "double", ValueType.STRING: "string"}[
        declared
    ]


def _default_condition(t: AnyTerm, vtype: str) -> str | None:
    if isinstance(t, LimitTerm):
        return "value <= limit" if t.bound.value == "max" else "value >= limit"
    if isinstance(t, ProhibitionTerm):
        return {"bool": "!value", "double": "value == 0.0"}.get(vtype)
    if isinstance(t, ActionTerm):
        return "value" if vtype == "bool" else "true"
    return "true"
