"""The schema of ``agreement.yaml``: what an analyst writes, as pydantic models.

These models only say what is well-formed; :mod:`cvid.agreements.package` turns a validated
file into a :class:`~cvid.agreements.package.Package` (conditions compiled, references and
conflicts checked). :func:`agreement_schema` is the published JSON Schema
(``docs/agreement.schema.json``; a test keeps the two equal).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from cvid.agreements.yamlsrc import normalize_key
from cvid.evidence import KeyGrant, Kind, Role, Witnessing
from cvid.limits import check_instant

FORMAT = "cvid-agreement/1"
SCHEMA_ID = "https://cvid.example/schemas/agreement-v1.json"


def to_instant(value: Any) -> Any:
    """A date (00:00Z that day) or an aware date-time, as an aware UTC :class:`datetime`."""
    if isinstance(value, str):
        try:
            if len(value.strip()) == 10:
                value = dt.date.fromisoformat(value.strip())
            else:
                value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value!r} is not a date (2018-02-05) or an instant") from None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("an instant must carry a time zone (2018-02-05T00:00:00Z)")
        return check_instant(value)
    if isinstance(value, dt.date):
        return check_instant(dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC), "date")
    return value


_DATE_SCHEMA = {
    "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
    "description": "A date (00:00:00Z that day) or an RFC 3339 instant with a time zone.",
}

#: A date or an instant in a package, always read as an aware UTC datetime.
Instant = Annotated[dt.datetime, BeforeValidator(to_instant), WithJsonSchema(_DATE_SCHEMA)]

Slug = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Reference(_Strict):
    """Where a text comes from: a title and, where there is one, its address."""

    title: str = Field(min_length=1, max_length=500)
    url: str | None = Field(default=None, max_length=2000)
    note: str | None = Field(default=None, max_length=2000)


class Clause(_Strict):
    """The clause a term or step implements, quoted."""

    ref: str = Field(min_length=1, max_length=300, description="Article II, paragraph 1(b)")
    quote: str = Field(min_length=1, max_length=8000, description="The clause's own words.")
    url: str | None = Field(default=None, max_length=2000)


class PartyDecl(_Strict):
    """A party (or a body with a role, such as an inspectorate)."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    name: str = Field(min_length=1, max_length=200)
    roles: tuple[Role, ...] = Field(min_length=1)


class ParameterValue(_Strict):
    """One value of a parameter, from a date, with its legal reference; null ends it."""

    value: float | int | None
    reference: str = Field(min_length=1, max_length=1000)


def _date_keys(value: Any) -> Any:
    if isinstance(value, dict):
        out = {normalize_key(k): v for k, v in value.items()}
        if len(out) != len(value):
            raise ValueError("two values take effect on the same date")
        return out
    return value


class Parameter(_Strict):
    """A dated parameter: values keyed by the date each takes effect (OpenFisca-style)."""

    description: str = Field(min_length=1, max_length=1000)
    unit: str | None = Field(default=None, max_length=64)
    values: Annotated[dict[str, ParameterValue], BeforeValidator(_date_keys)] = Field(
        min_length=1, description="Keyed by the date the value takes effect."
    )

    @field_validator("values")
    @classmethod
    def _keys_are_dates(cls, values: dict[str, ParameterValue]) -> dict[str, ParameterValue]:
        for key in values:
            try:
                to_instant(key)
            except ValueError as exc:
                raise ValueError(f"date {key}: {exc}") from None
        return values


class InForce(_Strict):
    """The period a term applies: ``[from, until)``."""

    from_: Instant | None = Field(default=None, alias="from")
    until: Instant | None = None


class EvidenceSelector(_Strict):
    """Which records bear on a term: a value name, and optionally kinds and a subject."""

    quantity: str = Field(min_length=1, max_length=100, description="A key of records' values.")
    kinds: tuple[Kind, ...] | None = Field(default=None, min_length=1)
    subject: str | None = Field(default=None, max_length=200)


class Defaults(_Strict):
    """Defaults for every term that does not say otherwise."""

    verified_by: tuple[Role, ...] | None = None
    freshness_days: float | None = Field(default=None, gt=0)


class _TermBase(_Strict):
    id: Slug
    title: str = Field(min_length=1, max_length=300)
    clause: Clause
    parties: tuple[str, ...] | None = Field(
        default=None, description="Whose obligation it is (default: every inspected party)."
    )
    in_force: InForce | None = None
    evidence: EvidenceSelector
    verified_by: tuple[Role, ...] | None = None
    condition: str | None = Field(default=None, max_length=4000, description="CEL, bool.")
    noun: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=4000)


class Bound(StrEnum):
    """Whether a limit is a maximum or a minimum."""

    MAX = "max"
    MIN = "min"


class ValueType(StrEnum):
    """The type of a term's value in conditions, when it has no unit."""

    BOOL = "bool"
    NUMBER = "number"
    STRING = "string"


class LimitTerm(_TermBase):
    """A quantity at most (or at least) a dated parameter, while in force."""

    kind: Literal["limit"]
    parameter: str = Field(min_length=1, max_length=100)
    bound: Bound = Bound.MAX
    unit: str | None = Field(default=None, max_length=64)
    material: str | None = Field(default=None, max_length=32)
    enrichment: float | None = Field(
        default=None,
        ge=0,
        le=100,
        description="U-235 mass percent at which uranium compounds convert (3.67 for the JCPOA).",
    )
    freshness_days: float | None = Field(default=None, gt=0)


class ProhibitionTerm(_TermBase):
    """An activity (at a site) that must not happen."""

    kind: Literal["prohibition"]
    unit: str | None = Field(default=None, max_length=64)
    material: str | None = Field(default=None, max_length=32)
    enrichment: float | None = Field(
        default=None,
        ge=0,
        le=100,
        description="U-235 mass percent at which uranium compounds convert (3.67 for the JCPOA).",
    )
    value_type: ValueType | None = None
    freshness_days: float | None = Field(default=None, gt=0)


class ActionTerm(_TermBase):
    """A one-time action, by an inclusive deadline."""

    kind: Literal["action"]
    deadline: Instant | None = None
    unit: str | None = Field(default=None, max_length=64)
    material: str | None = Field(default=None, max_length=32)
    enrichment: float | None = Field(
        default=None,
        ge=0,
        le=100,
        description="U-235 mass percent at which uranium compounds convert (3.67 for the JCPOA).",
    )
    value_type: ValueType | None = None


class Schedule(_Strict):
    """When a periodic obligation recurs."""

    dates: tuple[Annotated[str, Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")], ...]
    from_: Instant = Field(alias="from")
    until: Instant | None = None
    grace_days: int = Field(default=0, ge=0)
    window_days: int = Field(default=1, ge=1)


class PeriodicTerm(_TermBase):
    """An obligation that recurs on a schedule and can be missed."""

    kind: Literal["periodic"]
    schedule: Schedule
    unit: str | None = Field(default=None, max_length=64)
    value_type: ValueType | None = None


Term = Annotated[
    LimitTerm | ProhibitionTerm | ActionTerm | PeriodicTerm, Field(discriminator="kind")
]


class Requirement(_Strict):
    """What a step waits on: a term (for one party, or for all its parties) met_verified, or
    another step (listed earlier in the package) delivered."""

    term: str | None = None
    party: str | None = None
    step: str | None = Field(default=None, description="A step that must be delivered first.")

    @model_validator(mode="after")
    def _one_of(self) -> Requirement:
        if (self.term is None) == (self.step is None):
            raise ValueError("a requirement names either a term or a step")
        if self.step is not None and self.party is not None:
            raise ValueError("'party' belongs to a term requirement, not a step one")
        return self


class DeliverySelector(_Strict):
    """Which records of the owing party say whether a step is delivered, and what they say."""

    kinds: tuple[Kind, ...] | None = Field(default=None, min_length=1)
    subject: str = Field(min_length=1, max_length=200)
    condition: str | None = Field(
        default=None,
        max_length=4000,
        description="CEL, bool, over the record (values, kind, subject, submitter, "
        "observed_at): true when the record says the step is delivered. Default: it does "
        "unless its value 'delivered' is false.",
    )


class StepPart(_Strict):
    """One part of a step delivered in parts (a tranche of relief); records name it in their
    value ``part``."""

    id: Slug
    title: str = Field(min_length=1, max_length=300)


class Step(_Strict):
    """A reciprocal step: relief or assurances owed once what it requires holds."""

    id: Slug
    title: str = Field(min_length=1, max_length=300)
    clause: Clause
    by: str = Field(description="The party that owes the step.")
    to: tuple[str, ...] = ()
    requires: tuple[Requirement, ...] = ()
    condition: str | None = Field(default=None, max_length=4000)
    owed_from: Instant | None = Field(
        default=None, description="Not owed before this date, whatever else holds."
    )
    parts: tuple[StepPart, ...] = Field(default=(), max_length=100)
    delivered_by: DeliverySelector
    description: str | None = Field(default=None, max_length=4000)


class AgreementFile(_Strict):
    """``agreement.yaml``."""

    format: Literal["cvid-agreement/1"] = "cvid-agreement/1"
    id: str = Field(min_length=1, max_length=100)
    title: str = Field(min_length=1, max_length=500)
    source: Reference | None = None
    description: str | None = Field(default=None, max_length=8000)
    parties: tuple[PartyDecl, ...] = Field(min_length=1)
    keys: tuple[KeyGrant, ...] = ()
    witnesses: Witnessing | None = None
    defaults: Defaults = Defaults()
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    terms: tuple[Term, ...] = ()
    steps: tuple[Step, ...] = ()


def agreement_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``agreement.yaml``."""
    schema = AgreementFile.model_json_schema(mode="validation", by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
