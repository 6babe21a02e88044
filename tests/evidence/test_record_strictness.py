"""The record model accepts exactly what the published JSON Schema accepts (both directions).

Generated valid records are accepted by the model and by ``docs/evidence.schema.json`` (checked
with the ``jsonschema`` package); generated records with one member replaced by a value of
another type or shape (text for a number, a bool, an integer for a time, a missing or extra
member, ...) are accepted by both or refused by both. The kind-specific rules (``key`` only in
``key_registration``, ``revokes`` only in ``key_revocation``) are the model's alone, as the
schema's description says; generated records keep them. So are ``knowledge_lost`` only in a
notice and a ``period`` whose start is not after its end.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cvid.evidence.record import Kind, Period, Record
from kit import ROOT

SCHEMA = json.loads((ROOT / "docs" / "evidence.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

text = st.text(min_size=1, max_size=12)
instants = st.builds(
    lambda y, mo, d, h, mi, s, frac, zone: (
        f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{frac}{zone}"
    ),
    st.integers(1970, 2100),
    st.integers(1, 12),
    st.integers(1, 28),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
    st.sampled_from(["", ".5", ".123456"]),
    st.sampled_from(["Z", "+00:00", "-05:00", "+09:30"]),
)
numbers = st.one_of(
    st.integers(-(2**53) + 1, 2**53 - 1), st.floats(allow_nan=False, allow_infinity=False)
)
quantities = st.fixed_dictionaries(
    {"value": numbers, "unit": st.text(min_size=1, max_size=8)},
    optional={
        "uncertainty": st.floats(0, 1e6),
        "bound": st.sampled_from(["<", "<=", ">=", ">"]),
    },
)
values = st.dictionaries(
    text, st.one_of(quantities, st.booleans(), st.text(max_size=20)), max_size=3
)
sources = st.fixed_dictionaries(
    {"title": text}, optional={"url": text, "quote": text, "speaker": text}
)
attachments = st.lists(
    st.fixed_dictionaries(
        {"sha256": st.text("0123456789abcdef", min_size=64, max_size=64), "size": st.integers(0)},
        optional={"name": text},
    ),
    max_size=2,
)


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """A record the model and the schema must both accept."""
    kind = draw(st.sampled_from(list(Kind)))
    obj: dict[str, Any] = {
        "agreement": draw(text),
        "kind": kind.value,
        "subject": draw(text),
        "observed_at": draw(instants),
        "reported_at": draw(instants),
        "submitter": draw(text),
        "signer": draw(text),
    }
    optional = {
        "v": st.just(1),
        "party": text,
        "values": values,
        "summary": text,
        "source": sources,
        "attachments": attachments,
        "supersedes": st.integers(0, 10**6),
        "disputes": st.integers(0, 10**6),
        "period": st.just({"start": obj["observed_at"], "end": obj["observed_at"]}),
        "signature": text,
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            obj[name] = draw(strategy)
    if "disputes" in obj and draw(st.booleans()):
        obj["disputed_values"] = draw(st.lists(text, min_size=1, max_size=3))
    if kind is Kind.NOTICE and "party" in obj and draw(st.booleans()):
        obj["knowledge_lost"] = draw(
            st.fixed_dictionaries({}, optional={"quantities": st.lists(text, max_size=2)})
        )
    if kind is Kind.KEY_REGISTRATION:
        obj["key"] = {
            "vkey": draw(text),
            "party": draw(text),
            "kinds": draw(st.lists(st.sampled_from([k.value for k in Kind]), min_size=1)),
        }
    if kind is Kind.KEY_REVOCATION:
        obj["revokes"] = draw(text)
    return obj


#: Values of the wrong type or shape, and a few right ones: coercions a lax model would make.
WRONG = [
    "nan",
    " 1700 ",
    "1700",
    "1e3",
    "Infinity",
    "true",
    True,
    False,
    0,
    1,
    -1,
    1.0,
    1.5,
    1504224000,
    "1504224000",
    "2017-09-01",
    "2017-09-01T00:00:00",
    "2017-09-01 00:00:00Z",
    "2017-09-01T00:00:00Z",
    None,
    [],
    ["declaration"],
    {},
    {"value": "1", "unit": "warhead"},
    {"value": True, "unit": "warhead"},
    {"value": 1, "unit": "warhead", "uncertainty": "0.1"},
    {"value": 1, "unit": "warhead", "extra": 1},
    "",
    "declaration",
]


def paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every member and item path in ``obj``."""
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.append((*prefix, k))
            out.extend(paths(v, (*prefix, k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.append((*prefix, i))
            out.extend(paths(v, (*prefix, i)))
    return out


def _period_out_of_order(period: Any) -> bool:
    if not isinstance(period, dict) or not {"start", "end"} <= set(period):
        return False
    try:
        p = Period.model_validate({"start": period["start"], "end": period["end"]})
    except ValidationError:
        return False  # a malformed instant: both refuse it
    return p.start > p.end


def model_accepts(obj: dict[str, Any]) -> bool:
    try:
        Record.model_validate(obj)
    except ValidationError as exc:
        # Kind-specific rules are beyond the schema; a mutation never trips them alone.
        assert all(
            e["type"] != "value_error" or "belongs only" not in e["msg"] for e in exc.errors()
        )
        return False
    return True


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_valid_records_are_accepted_by_the_model_and_the_schema(obj: dict[str, Any]) -> None:
    assert VALIDATOR.is_valid(obj), list(VALIDATOR.iter_errors(obj))[:1]
    Record.model_validate(obj)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(records(), st.data())
def test_mutated_records_are_judged_alike(obj: dict[str, Any], data: st.DataObject) -> None:
    mutated = copy.deepcopy(obj)
    how = data.draw(st.sampled_from(["replace", "drop", "add"]))
    spots = paths(mutated)
    path = data.draw(st.sampled_from(spots))
    *parents, last = path
    holder: Any = mutated
    for p in parents:
        holder = holder[p]
    if how == "replace":
        holder[last] = data.draw(st.sampled_from(WRONG))
    elif how == "drop":
        del holder[last]
    elif isinstance(holder, dict):
        holder["unexpected_member"] = 1
    else:
        holder.append(data.draw(st.sampled_from(WRONG)))
    # A mutation that breaks a kind-specific rule (the model's alone) tells nothing here.
    kind = mutated.get("kind")
    has_key, has_revokes = mutated.get("key") is not None, mutated.get("revokes") is not None
    if has_key != (kind == "key_registration") or has_revokes != (kind == "key_revocation"):
        return
    if "knowledge_lost" in mutated and kind != "notice":
        return
    if _period_out_of_order(mutated.get("period")):
        return  # start after end: the model's rule alone
    assert model_accepts(mutated) == VALIDATOR.is_valid(mutated), mutated


BASE = {
    "agreement": "a",
    "kind": "notice",
    "subject": "s",
    "observed_at": "2017-09-01T00:00:00Z",
    "reported_at": "2017-09-01T00:00:00Z",
    "submitter": "B",
    "signer": "k",
}


@pytest.mark.parametrize(
    ("extra", "ok"),
    [
        ({"disputes": 3, "disputed_values": ["x"]}, True),
        ({"disputes": None, "disputed_values": ["x"]}, False),  # null is absent
        ({"disputed_values": ["x"]}, False),
        ({"disputed_values": None}, True),  # a null list names nothing: no dispute needed
        ({"party": "A", "knowledge_lost": {"quantities": ["x"]}}, True),
        ({"party": None, "knowledge_lost": {"quantities": ["x"]}}, False),
        ({"knowledge_lost": None}, True),
    ],
)
def test_a_member_set_to_null_is_judged_as_absent_by_both(extra: dict[str, Any], ok: bool) -> None:
    """The model reads a null member as absent; the schema must too (a property test found
    ``"disputes": null`` beside ``disputed_values`` accepted by the schema alone)."""
    obj = {**BASE, **extra}
    assert VALIDATOR.is_valid(obj) is ok, list(VALIDATOR.iter_errors(obj))[:1]
    assert model_accepts(obj) is ok
