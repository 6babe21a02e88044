"""Load an agreement package: validate ``agreement.yaml``, compile it, refuse contradictions.

A package that loads is internally consistent: every name it uses exists, every condition
type-checks, and no two rules that apply at the same time disagree (Catala's rule: a conflict
is an error, never a silent winner). Errors name the file, the line and the term or step.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cvid.agreements.cel import compile_condition
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
from cvid.agreements.terms import CompiledStep, CompiledTerm, ParamSeries, Schedule
from cvid.agreements.yamlsrc import Located, load_yaml
from cvid.errors import InputError
from cvid.evidence.parties import Role, package_sha256
from cvid.evidence.record import Kind, Quantity
from cvid.evidence.units import convert, parse_unit

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
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PackageError(f"cannot read agreement package {path}: {exc.strerror}") from None
    pkg = parse_package(text, str(path))
    return _with(pkg, directory, package_sha256(directory))


def _with(pkg: Package, directory: Path, sha256: str) -> Package:
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
        fresh = getattr(t, "freshness_days", None) or self.model.defaults.freshness_days
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
            noun=t.noun or t.evidence.quantity.replace("_", " "),
            line=self.located.line(path),
            parameter=param,
            bound=t.bound.value if isinstance(t, LimitTerm) else "max",
            freshness=round(fresh * DAY) if fresh and t.kind in ("limit", "prohibition") else None,
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
        for n, r in enumerate(s.requires):
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
            cites.extend(
                (t.id, p)
                for t in terms
                for p in t.parties
                if f"{t.id}/{p}" in s.condition and (t.id, p) not in cites
            )
        elif not requires:
            raise self.fail(path, f"{label}: say what it requires (requires or condition)")
        sel = s.delivered_by
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
        )

    def check_limit_conflicts(self, terms: tuple[CompiledTerm, ...]) -> None:
        same: dict[tuple[str, str | None, str], list[CompiledTerm]] = {}
        for term in terms:
            if term.kind == "limit":
                same.setdefault((term.quantity, term.subject, term.bound), []).append(term)
        pairs = (pair for group in same.values() for pair in itertools.combinations(group, 2))
        for a, b in pairs:
            common = [p for p in a.parties if p in b.parties]
            if not common:
                continue
            for t in sorted(set(a.fixed_instants() + b.fixed_instants())):
                if not (a.in_force_window(t) and b.in_force_window(t)):
                    continue
                assert a.parameter is not None and b.parameter is not None
                va, vb = a.parameter.at(t), b.parameter.at(t)
                if va is None or vb is None:
                    continue
                vb_a, tol = vb, 1e-9
                if a.unit and b.unit and a.unit != b.unit:
                    # Converted limits agree to the precision treaties round them to.
                    vb_a = float(convert(Quantity(value=vb, unit=b.unit), a.unit).value)
                    tol = 1e-4
                if not math.isclose(va, vb_a, rel_tol=tol):
                    raise PackageError(
                        f"{self.file}:{a.line}: term {a.id!r} ({a.clause_ref}) and term {b.id!r} "
                        f"at line {b.line} ({b.clause_ref}) both bound {a.quantity} "
                        f"({a.bound}) for {', '.join(common)} on {show(t)}, at {va:g} "
                        f"{a.unit or ''} and {vb:g} {b.unit or ''}: two rules that apply at "
                        "once disagree"
                    )


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
