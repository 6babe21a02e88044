"""The evidence record: what a submitter vouches for, signed and logged.

A record is a JSON object. Its canonical form is RFC 8785 (JSON Canonicalization Scheme); the
signature is Ed25519 over the canonical bytes of the record without its ``signature`` member,
and the logged entry is the canonical bytes of the signed record.

Three instants matter, all UTC:

- ``observed_at``: the moment the record describes (the "as of" date of a data exchange);
- ``reported_at``: when the submitter made it known (a fact sheet's publication date, or now);
  the ledger refuses a ``reported_at`` in the future;
- the log index: the order in which the ledger admitted it.

"As known then" at T uses records with ``reported_at`` ≤ T; "as known now" uses every record
with ``observed_at`` ≤ T. A quantity may carry its own ``as_of`` (:class:`Quantity`): that
figure then stands for its own instant in place of ``observed_at`` (or the record's period).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_serializer,
    model_validator,
)

from cvid.limits import check_instant

SCHEMA_VERSION: Literal[1] = 1


class Kind(StrEnum):
    """What kind of evidence a record is."""

    DECLARATION = "declaration"
    INSPECTION_FINDING = "inspection_finding"
    MEASUREMENT = "measurement"
    OBSERVATION = "observation"
    STATEMENT = "statement"
    MATERIAL_BALANCE_REPORT = "material_balance_report"
    NOTICE = "notice"
    KEY_REGISTRATION = "key_registration"
    KEY_REVOCATION = "key_revocation"


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must carry a time zone (UTC, e.g. 2018-02-05T00:00:00Z)")
    # Within the range every later command can compute with (an InstantRangeError is a
    # ValueError: pydantic reports it as the field's problem), never an OverflowError.
    return check_instant(value, "instant")


#: An RFC 3339 instant with seconds, at most microseconds, and a zone: the only text a time
#: may be (the published schema says the same pattern, so the two cannot disagree).
RFC3339_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)
_RFC3339 = re.compile(RFC3339_PATTERN)


def _rfc3339_text(value: object) -> object:
    # Pydantic would otherwise read a number, a numeric string or a date alone as an instant.
    if isinstance(value, datetime):
        return value  # a model built in Python (sign_record's callers, tests)
    if isinstance(value, str) and _RFC3339.match(value + "Z"):
        raise ValueError("must carry a time zone (UTC, e.g. 2018-02-05T00:00:00Z)")
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError(
            "must be an RFC 3339 instant as text, with seconds and a zone "
            "(e.g. 2018-02-05T00:00:00Z)"
        )
    return value


UTCDateTime = Annotated[
    datetime,
    Field(strict=False),
    BeforeValidator(_rfc3339_text),
    AfterValidator(_utc),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": RFC3339_PATTERN}),
]


def format_utc(value: datetime) -> str:
    """An instant as RFC 3339 UTC with a ``Z`` (seconds, or microseconds when present)."""
    value = value.astimezone(UTC)
    # The year always with four digits: strftime writes year 744 as "744" on Linux, which no
    # RFC 3339 reader (datetime.fromisoformat among them) accepts.
    text = f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value:%H:%M:%S}"
    return f"{text}.{value.microsecond:06d}Z" if value.microsecond else f"{text}Z"


def _json_integer(value: object) -> object:
    # JSON has one number type: 1.0 is the integer 1 (the JSON Schema says so, and JCS writes
    # both as "1"), so the canonical bytes, and what was signed, are the same.
    if type(value) is float and value.is_integer():
        return int(value)
    if type(value) is bool:  # True == 1 in Python; in JSON it is no number
        raise ValueError("must be an integer, not true or false")
    return value


#: A non-negative JSON integer (a log index, a size in bytes).
Index = Annotated[int, Field(ge=0), BeforeValidator(_json_integer)]


class _Strict(BaseModel):
    # Strict: what docs/evidence.schema.json accepts and nothing more. No text read as a
    # number (" 1700 ", "nan"), no bool as a number, no NaN or infinity (1e400 parses to one).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


#: How a bound relates the true quantity to ``value``: below, at most, at least, above it.
BOUNDS = ("<", "<=", ">=", ">")


class Quantity(_Strict):
    """A number with its unit, e.g. ``{"value": 1550, "unit": "warhead"}``.

    ``bound`` makes it a bound rather than a figure: ``{"value": 500, "unit": "kg",
    "bound": "<="}`` is "did not exceed 500 kg". ``uncertainty`` makes it an interval:
    the true value lies within ``value ± uncertainty`` (with a bound, the bound moves out by
    it). A limit judges a bound or an interval soundly (docs/agreements.md).

    ``as_of`` dates the figure apart from its record: ``{"value": 1, "unit": "t", "as_of":
    "2026-07-01T00:00:00Z"}`` in a record observed on 1 January speaks for 1 July. The engine
    reads it at that instant, as if a record of its own observed then (cited by the record's
    log index); the ledger refuses an ``as_of`` after the record's ``reported_at``.
    """

    value: float | int
    unit: str = Field(min_length=1, max_length=64)
    uncertainty: float | None = Field(
        default=None,
        ge=0,
        description="Half-width of the interval the true value lies in (value ± uncertainty).",
    )
    bound: Literal["<", "<=", ">=", ">"] | None = Field(
        default=None,
        description="The true value is below (<), at most (<=), at least (>=) or above (>) value.",
    )
    as_of: UTCDateTime | None = Field(
        default=None,
        description="The instant this figure is as of, when it differs from the record's "
        "observed_at (or period): one report can carry figures as of several dates. At most "
        "the record's reported_at.",
    )

    @field_serializer("as_of")
    def _ser_as_of(self, value: datetime | None) -> str | None:
        return None if value is None else format_utc(value)

    def interval(self) -> tuple[float, bool, float, bool] | None:
        """``(low, low_included, high, high_included)`` the true value lies in; None for a figure.

        An unbounded side is ``±inf``. A figure without bound or uncertainty is a point: None.
        """
        u = float(self.uncertainty or 0.0)
        v = float(self.value)
        if self.bound is None:
            return None if u == 0.0 else (v - u, True, v + u, True)
        inf = float("inf")
        if self.bound in ("<", "<="):
            return (-inf, False, v + u, self.bound == "<=" or u > 0)
        return (v - u, self.bound == ">=" or u > 0, inf, False)


class Period(_Strict):
    """The span a record speaks for, both ends included (``start`` ≤ ``end``)."""

    start: UTCDateTime
    end: UTCDateTime

    @field_serializer("start", "end")
    def _ser_time(self, value: datetime) -> str:
        return format_utc(value)


class KnowledgeLoss(_Strict):
    """What a notice says the inspectorate lost access to or continuity of knowledge of.

    Names values (``quantities``, keys of records' values) and ``subjects``; a term of the
    record's party that reads one of them becomes ``unknown`` from the notice's
    ``observed_at`` until newer evidence is observed.
    """

    quantities: list[str] = Field(default_factory=list, max_length=100)
    subjects: list[str] = Field(default_factory=list, max_length=100)


#: A value in a record: a quantity with a unit, a yes/no fact, or a short text.
Value = Quantity | bool | str


class Source(_Strict):
    """Where the evidence comes from: enough for a reader to find and check it."""

    title: str = Field(min_length=1, max_length=500)
    url: str | None = Field(default=None, max_length=2000)
    quote: str | None = Field(default=None, max_length=8000, description="The quoted words.")
    speaker: str | None = Field(default=None, max_length=200)
    venue: str | None = Field(default=None, max_length=300, description="Where it was said.")
    published: str | None = Field(default=None, max_length=40, description="Publication date.")


class Attachment(_Strict):
    """A document kept outside the log, named by its SHA-256 and size."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: Index
    name: str | None = Field(default=None, max_length=300)
    media_type: str | None = Field(default=None, max_length=100)


class KeyGrant(_Strict):
    """The key a ``key_registration`` record registers, and what it may sign."""

    vkey: str = Field(description="Verifier key text: name+hexid+base64(0x01‖key).")
    party: str = Field(min_length=1, max_length=64)
    kinds: list[Annotated[Kind, Field(strict=False)]] = Field(
        min_length=1, description="Record kinds the key may sign."
    )
    may_manage_keys: bool = Field(
        default=False, description="Whether the key may register and revoke keys of its party."
    )


class Record(_Strict):
    """An evidence record (unsigned when ``signature`` is None)."""

    v: Annotated[Literal[1], BeforeValidator(_json_integer)] = SCHEMA_VERSION
    agreement: str = Field(min_length=1, max_length=100, description="The agreement's id.")
    kind: Annotated[Kind, Field(strict=False)]  # a kind is its text in JSON
    subject: str = Field(
        min_length=1,
        max_length=200,
        description="What it is about: a party, a site, a stockpile, a weapon category.",
    )
    party: str | None = Field(
        default=None, max_length=64, description="The party whose obligation it concerns."
    )
    observed_at: UTCDateTime
    reported_at: UTCDateTime
    values: dict[str, Value] = Field(default_factory=dict)
    summary: str | None = Field(default=None, max_length=4000)
    source: Source | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    supersedes: Index | None = Field(default=None, description="Log index corrected.")
    disputes: Index | None = Field(default=None, description="Log index contested.")
    disputed_values: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="With disputes: the names of the contested record's values it contests "
        "(absent: the whole record).",
    )
    period: Period | None = Field(
        default=None, description="The span the record speaks for, at every instant of it."
    )
    knowledge_lost: KnowledgeLoss | None = Field(
        default=None,
        description="For a notice about a party: the values and subjects whose continuity of "
        "knowledge was lost as of observed_at.",
    )
    key: KeyGrant | None = Field(default=None, description="For key_registration.")
    revokes: str | None = Field(default=None, description="For key_revocation: a vkey.")
    submitter: str = Field(min_length=1, max_length=64, description="Submitting party or body.")
    signer: str = Field(description="The signing key's verifier key text.")
    signature: str | None = Field(default=None, description="base64 Ed25519 signature.")

    @field_serializer("observed_at", "reported_at")
    def _ser_time(self, value: datetime) -> str:
        return format_utc(value)

    # A member set to null is as good as absent (the model's rule): "disputed_values" needs a
    # non-null "disputes", "knowledge_lost" a non-null "party" (dependentRequired would take
    # a null for present).
    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {
                    "if": {
                        "required": [member],
                        "properties": {member: {"not": {"type": "null"}}},
                    },
                    "then": {
                        "required": [needs],
                        "properties": {needs: {"not": {"type": "null"}}},
                    },
                }
                for member, needs in (("disputed_values", "disputes"), ("knowledge_lost", "party"))
            ]
        }
    )

    @model_validator(mode="after")
    def _kind_fields(self) -> Record:
        if self.disputed_values is not None and self.disputes is None:
            raise ValueError("'disputed_values' needs 'disputes' (the log index contested)")
        if self.knowledge_lost is not None:
            if self.party is None:
                raise ValueError("'knowledge_lost' needs 'party' (whose terms it concerns)")
            if self.kind is not Kind.NOTICE:
                raise ValueError("'knowledge_lost' belongs only in a notice record")
        if self.period is not None and self.period.start > self.period.end:
            raise ValueError("'period': 'start' must not be after 'end'")
        # A key record says exactly which key it registers or revokes, and nothing else does.
        if self.kind is Kind.KEY_REGISTRATION and self.key is None:
            raise ValueError("a key_registration record needs 'key' (the key it registers)")
        if self.kind is not Kind.KEY_REGISTRATION and self.key is not None:
            raise ValueError("'key' belongs only in a key_registration record")
        if self.kind is Kind.KEY_REVOCATION and self.revokes is None:
            raise ValueError("a key_revocation record needs 'revokes' (the vkey it revokes)")
        if self.kind is not Kind.KEY_REVOCATION and self.revokes is not None:
            raise ValueError("'revokes' belongs only in a key_revocation record")
        return self

    def unsigned(self) -> Record:
        """This record without its signature."""
        return self.model_copy(update={"signature": None})

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON object; absent optional members are left out."""
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=False)


SCHEMA_ID = "https://cvid.example/schemas/evidence-record-v1.json"


def record_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a signed or unsigned :class:`Record`.

    Generated from the model, so ``docs/evidence.schema.json`` cannot drift from it (a test
    compares them). Kind-specific rules (``key`` only in ``key_registration``, ``revokes`` only
    in ``key_revocation``) and the ledger's admission checks are beyond what the schema says.
    """
    schema = Record.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }
