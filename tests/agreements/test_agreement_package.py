"""Loading a package: the schema, CEL compiled at load, and contradictions refused."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from agreements_kit import LATTICE, ROOT, write

from cvid.agreements import Package, PackageError, agreement_schema, load_package, parse_package
from cvid.evidence.parties import load_parties, package_sha256

HEAD = """\
id: t
title: Test
parties:
  - {id: A, name: Party A, roles: [inspected_party]}
  - {id: B, name: Party B, roles: [inspected_party, counterparty]}
defaults: {freshness_days: 200}
parameters:
  cap:
    description: A cap
    unit: warhead
    values:
      2020-01-01: {value: 10, reference: "Art. 1"}
  cap2:
    description: Another cap
    unit: warhead
    values:
      2020-01-01: {value: 12, reference: "Art. 9"}
terms:
"""

LIMIT = """\
  - id: {id}
    kind: limit
    title: Cap
    clause: {{ref: "{ref}", quote: "No more than the cap."}}
    parameter: {param}
    evidence: {{quantity: {quantity}}}
"""


def limit(
    id: str, param: str = "cap", quantity: str = "w", ref: str = "Art. 1", extra: str = ""
) -> str:
    return LIMIT.format(id=id, param=param, quantity=quantity, ref=ref) + extra


def test_the_published_schema_is_the_models_schema() -> None:
    published = json.loads((ROOT / "docs" / "agreement.schema.json").read_text())
    fix = "run: cvid agreement schema > docs/agreement.schema.json"
    assert published == agreement_schema(), fix


def test_a_valid_package_compiles_every_term() -> None:
    pkg = parse_package(HEAD + limit("cap-a") + limit("other", quantity="v"))
    assert [t.id for t in pkg.terms] == ["cap-a", "other"]
    assert pkg.terms[0].parties == ("A", "B")
    assert pkg.terms[0].condition.source == "value <= limit"
    assert pkg.parameters["cap"].at(0) is None


def test_an_undeclared_name_in_a_condition_names_file_term_and_position() -> None:
    text = HEAD + limit("cap-a", extra='    condition: "value <= limt"\n')
    with pytest.raises(PackageError) as err:
        parse_package(text, "pkg/agreement.yaml")
    msg = err.value.diagnostics()
    assert "pkg/agreement.yaml:25:" in msg
    assert "term 'cap-a' condition" in msg
    assert "expression line 1 column 10" in msg
    assert "undeclared reference to 'limt'" in msg
    assert "value <= limt\n" in msg and "         ^" in msg


def test_a_type_error_in_a_condition_is_refused_at_load() -> None:
    with pytest.raises(PackageError, match=r"column 7: .*'_\+_'.*\(double, string\)"):
        parse_package(HEAD + limit("x", extra="    condition: 'value + \"a\" > 1.0'\n"))
    with pytest.raises(PackageError, match=r"write 1550\.0, not 1550"):
        parse_package(HEAD + limit("x", extra='    condition: "value <= 10"\n'))
    with pytest.raises(PackageError, match="gives double, not bool"):
        parse_package(HEAD + limit("x", extra='    condition: "value + limit"\n'))
    with pytest.raises(PackageError, match="Syntax error"):
        parse_package(HEAD + limit("x", extra='    condition: "value <= ("\n'))


def test_a_step_condition_is_type_checked_too() -> None:
    text = (
        HEAD
        + limit("x")
        + textwrap.dedent("""\
        steps:
          - id: relief
            title: Relief
            clause: {ref: "Art. 3", quote: "Relief."}
            by: B
            condition: 'status["x/A"] == 1.0'
            delivered_by: {subject: relief}
        """)
    )
    with pytest.raises(PackageError, match=r"step 'relief' condition.*\(string, double\)"):
        parse_package(text)


def test_two_limits_on_the_same_quantity_that_disagree_are_an_error() -> None:
    text = HEAD + limit("first", ref="Art. 1") + limit("second", param="cap2", ref="Art. 9")
    with pytest.raises(PackageError) as err:
        parse_package(text, "agreement.yaml")
    msg = err.value.diagnostics()
    assert "term 'first' (Art. 1) and term 'second'" in msg
    assert "(Art. 9)" in msg and "2020-01-01" in msg and "at 10" in msg and "12" in msg
    assert "two rules that apply at once disagree" in msg


def test_limits_that_agree_or_never_overlap_are_fine() -> None:
    parse_package(HEAD + limit("first") + limit("restated"))
    apart = limit("second", param="cap2", extra="    in_force: {until: 2019-01-01}\n")
    parse_package(HEAD + limit("first") + apart)
    other_party = limit("second", param="cap2", extra="    parties: [B]\n")
    parse_package(HEAD + limit("first", extra="    parties: [A]\n") + other_party)


def test_limits_in_different_units_are_compared_after_conversion() -> None:
    text = """\
id: t
title: Test
parties: [{id: A, name: A, roles: [inspected_party]}]
defaults: {freshness_days: 200}
parameters:
  u: {description: U, unit: kg U, values: {2020-01-01: {value: 202.854, reference: R}}}
  uf6: {description: UF6, unit: kg UF6, values: {2020-01-01: {value: 300, reference: R}}}
  uf6b: {description: UF6, unit: kg UF6, values: {2020-01-01: {value: 310, reference: R}}}
terms:
"""
    same = limit("a", param="u", quantity="s") + limit("b", param="uf6", quantity="s")
    parse_package(text + same)
    differ = limit("a", param="u", quantity="s") + limit("b", param="uf6b", quantity="s")
    with pytest.raises(PackageError, match="disagree"):
        parse_package(text + differ)


def test_two_values_of_a_parameter_for_the_same_date_are_an_error() -> None:
    text = HEAD.replace(
        '      2020-01-01: {value: 10, reference: "Art. 1"}\n',
        '      2020-01-01: {value: 10, reference: "Art. 1"}\n'
        '      "2020-01-01T00:00:00Z": {value: 11, reference: "Art. 2"}\n',
    )
    twice = r"agreement.yaml:13: .*written twice \(first at line 12\)"
    with pytest.raises(PackageError, match=twice):
        parse_package(text + limit("x"))


def test_a_key_written_twice_is_an_error_not_a_silent_winner() -> None:
    text = HEAD + limit("x", extra="    parameter: cap2\n")
    with pytest.raises(PackageError, match="key parameter is written twice"):
        parse_package(text)


def test_schema_errors_name_the_line_and_the_term() -> None:
    text = HEAD + limit("x").replace('quote: "No more than the cap."', 'quote: ""')
    where = r"agreement.yaml:\d+:\d+: term 'x': terms.0.clause.quote"
    with pytest.raises(PackageError, match=where):
        parse_package(text)
    with pytest.raises(PackageError, match=r"term 'y': terms.0: Input tag 'limitt'"):
        parse_package(HEAD + limit("y").replace("kind: limit", "kind: limitt"))
    with pytest.raises(PackageError, match="Extra inputs are not permitted"):
        parse_package(HEAD + limit("z", extra="    paramter: cap\n"))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    parties: [C]\n", "unknown party 'C'"),
        ("", "no parameter 'nope'"),
    ],
)
def test_references_to_nothing_are_errors(extra: str, message: str) -> None:
    param = "nope" if not extra else "cap"
    with pytest.raises(PackageError, match=message):
        parse_package(HEAD + limit("x", param=param, extra=extra))


def test_steps_must_name_existing_terms_and_say_what_unlocks_them() -> None:
    step = textwrap.dedent("""\
        steps:
          - id: s
            title: S
            clause: {{ref: R, quote: Q}}
            by: B
            {rule}
            delivered_by: {{subject: s}}
        """)
    with pytest.raises(PackageError, match="step 's': no term 'missing'"):
        parse_package(HEAD + limit("x") + step.format(rule="requires: [{term: missing}]"))
    with pytest.raises(PackageError, match="requires, condition or owed_from"):
        parse_package(HEAD + limit("x") + step.format(rule="to: [A]"))
    pkg = parse_package(HEAD + limit("x") + step.format(rule="requires: [{term: x}]"))
    assert pkg.steps[0].requires == (("x", "A"), ("x", "B"))


def test_an_ill_formed_unit_is_refused() -> None:
    with pytest.raises(PackageError, match="unknown unit 'warheads'"):
        parse_package(HEAD.replace("unit: warhead\n", "unit: warheads\n", 1) + limit("x"))


def test_the_ledger_reads_the_same_file(tmp_path: Path) -> None:
    """The ledger's loader accepts an agreement.yaml with terms; ours accepts its keys."""
    pkg = load_package(LATTICE)
    parties = load_parties(LATTICE)
    assert [p.id for p in parties.parties] == list(pkg.roles)
    assert pkg.sha256 == package_sha256(LATTICE)
    keyed = HEAD.replace(
        "parameters:",
        "keys:\n  - {party: A, vkey: 'a+12345678+AQ==', kinds: [declaration]}\nparameters:",
    )
    assert isinstance(parse_package(keyed + limit("x")), Package)


def test_the_package_hash_covers_every_file(tmp_path: Path) -> None:
    pkg_dir = tmp_path / "p"
    write(pkg_dir / "agreement.yaml", HEAD + limit("x"))
    first = load_package(pkg_dir).sha256
    write(pkg_dir / "scenarios" / "a.yaml", "scenarios: []\n")
    second = load_package(pkg_dir).sha256
    write(pkg_dir / ".hidden", "ignored")
    assert first != second == load_package(pkg_dir).sha256


STEP = """\
steps:
  - id: relief
    title: Relief
    clause: {{ref: "Art. 3", quote: "Relief."}}
    by: B
    condition: '{condition}'
    delivered_by: {{subject: relief}}
"""


def step(condition: str) -> str:
    return STEP.format(condition=condition)


def test_a_step_condition_naming_a_term_party_or_status_that_does_not_exist_is_refused() -> None:
    base = HEAD + limit("cap-a")
    pkg = parse_package(base + step('status["cap-a/A"] == "met_verified"'))
    assert pkg.steps[0].cites == (("cap-a", "A"),)
    with pytest.raises(PackageError) as err:
        parse_package(base + step('status["cap-b/A"] == "met_verified"'), "p/agreement.yaml")
    msg = err.value.diagnostics()
    assert "p/agreement.yaml:" in msg and "step 'relief' condition" in msg
    assert "expression line 1 column 8" in msg
    assert "status['cap-b/A'] names no term and party" in msg and "cap-a/A, cap-a/B" in msg
    with pytest.raises(PackageError, match=r"status\['cap-a/C'\] names no term"):
        parse_package(base + step('status["cap-a/C"] == "met_verified"'))
    with pytest.raises(PackageError, match=r"column 22: 'met_verifed' is not a status"):
        parse_package(base + step('status["cap-a/A"] == "met_verifed"'))
    with pytest.raises(PackageError, match="'met' is not a status"):
        parse_package(base + step('status["cap-a/A"] in ["met_claimed", "met"]'))
    # A computed key or an iteration hides which terms the step depends on.
    with pytest.raises(PackageError, match="only with a literal key"):
        parse_package(base + step('status["cap-a/" + "A"] == "met_verified"'))
    with pytest.raises(PackageError, match="only with a literal key"):
        parse_package(base + step('status.exists(k, status[k] == "violated")'))


def test_a_condition_naming_a_parameter_that_does_not_exist_is_refused() -> None:
    ok = limit("x", extra="    condition: 'value <= params[\"cap2\"]'\n")
    assert parse_package(HEAD + ok).terms[0].condition.uses == {"value", "params"}
    for cond in (
        'value <= params["stock_limt"]',
        "has(params.stock_limt)",
        '"stock_limt" in params',
    ):
        text = HEAD + limit("x", extra=f"    condition: '{cond}'\n")
        with pytest.raises(
            PackageError, match=r"no parameter 'stock_limt' \(parameters: cap, cap2\)"
        ):
            parse_package(text)
    with pytest.raises(PackageError, match=r"step 'relief' condition.*no parameter 'nope'"):
        parse_package(HEAD + limit("x") + step('params["nope"] > 0.0'))
    # A comprehension variable of the same name is not the parameters.
    parse_package(HEAD + limit("x", extra="    condition: '[1.0].all(params, params > 0.0)'\n"))


def test_as_of_in_a_condition_is_refused_because_no_timeline_could_place_it() -> None:
    cond = "    condition: 'observed_at < as_of'\n"
    with pytest.raises(PackageError, match="term 'x' condition: as_of is not available"):
        parse_package(HEAD + limit("x", extra=cond))
    with pytest.raises(PackageError, match="step 'relief' condition: as_of is not available"):
        parse_package(HEAD + limit("x") + step('as_of > timestamp("2020-01-01T00:00:00Z")'))
    # A value of a record named as_of is not the evaluation instant.
    parse_package(HEAD + limit("x", extra="    condition: 'values[\"as_of\"] == 1.0'\n"))


def test_a_parameter_date_without_a_time_zone_is_refused_like_in_force() -> None:
    naive = HEAD.replace("      2020-01-01: {value: 10,", "      2020-01-01T00:00:00: {value: 10,")
    with pytest.raises(
        PackageError, match="date 2020-01-01T00:00:00: an instant must carry a time zone"
    ):
        parse_package(naive + limit("x"))
    quoted = HEAD.replace(
        "      2020-01-01: {value: 10,", '      "2020-01-01T12:00:00": {value: 10,'
    )
    with pytest.raises(PackageError, match="must carry a time zone"):
        parse_package(quoted + limit("x"))
    with pytest.raises(PackageError, match="must carry a time zone"):
        parse_package(HEAD + limit("x", extra="    in_force: {from: 2020-01-01T00:00:00}\n"))
    # A plain date is 00:00Z; an instant with its zone is that instant.
    aware = HEAD.replace(
        "      2020-01-01: {value: 10,", "      2020-01-01T01:00:00+01:00: {value: 10,"
    )
    assert (
        parse_package(aware + limit("x")).parameters["cap"].starts
        == parse_package(HEAD + limit("x")).parameters["cap"].starts
    )


def test_limits_and_prohibitions_need_a_freshness_window() -> None:
    bare = HEAD.replace("defaults: {freshness_days: 200}\n", "")
    with pytest.raises(PackageError, match=r"term 'x': a limit needs freshness_days"):
        parse_package(bare + limit("x"))
    assert parse_package(bare + limit("x", extra="    freshness_days: 30\n")).terms[0].freshness
    prohibition = """\
  - id: p
    kind: prohibition
    title: P
    clause: {ref: R, quote: Q}
    evidence: {quantity: reprocessing}
"""
    with pytest.raises(PackageError, match=r"term 'p': a prohibition needs freshness_days"):
        parse_package(bare + prohibition)
    # A term's own window wins over the default, and a window of 0 days is refused, not
    # silently replaced by the default.
    own = parse_package(HEAD + limit("x", extra="    freshness_days: 30\n"))
    assert own.terms[0].freshness == 30 * 86_400_000_000
    with pytest.raises(PackageError, match=r"freshness_days: Input should be greater than 0"):
        parse_package(HEAD + limit("x", extra="    freshness_days: 0\n"))


KINDS = """\
id: t
title: Test
parties: [{id: A, name: A, roles: [inspected_party]}]
defaults: {freshness_days: 200}
parameters:
  high: {description: H, unit: item, values: {2020-01-01: {value: 100, reference: R}}}
  low: {description: L, unit: item, values: {2020-01-01: {value: 50, reference: R}}}
  other: {description: O, unit: item, values: {2020-01-01: {value: 80, reference: R}}}
terms:
"""


def _limit(id: str, param: str, extra: str = "") -> str:
    return (
        f"  - {{id: {id}, kind: limit, title: T, clause: {{ref: 'Art. {id}', quote: Q}},"
        f" parameter: {param}, {extra}}}\n"
    )


def test_a_maximum_below_a_minimum_on_the_same_quantity_is_a_conflict() -> None:
    ev = "evidence: {quantity: s}"
    with pytest.raises(PackageError) as err:
        parse_package(KINDS + _limit("a", "low", ev) + _limit("b", "high", f"bound: min, {ev}"))
    msg = err.value.diagnostics()
    assert "term 'a' (Art. a) and term 'b'" in msg and "(max and min)" in msg
    assert "the maximum is below the minimum" in msg
    parse_package(KINDS + _limit("a", "high", ev) + _limit("b", "low", f"bound: min, {ev}"))


def test_an_all_sites_limit_and_a_site_limit_that_differ_are_a_conflict() -> None:
    every = "evidence: {quantity: s}"
    site = "evidence: {quantity: s, subject: x}"
    with pytest.raises(PackageError, match="one reads every subject, the other only 'x'"):
        parse_package(KINDS + _limit("all", "high", every) + _limit("at-x", "other", site))
    parse_package(KINDS + _limit("all", "high", every) + _limit("at-x", "high", site))
    # Two sites never judge the same record.
    other_site = "evidence: {quantity: s, subject: y}"
    parse_package(KINDS + _limit("at-y", "high", other_site) + _limit("at-x", "other", site))


def test_limits_reading_disjoint_record_kinds_are_not_compared() -> None:
    declared = "evidence: {quantity: s, kinds: [declaration]}"
    measured = "evidence: {quantity: s, kinds: [measurement, inspection_finding]}"
    parse_package(KINDS + _limit("a", "high", declared) + _limit("b", "other", measured))
    both = "evidence: {quantity: s, kinds: [declaration, measurement]}"
    with pytest.raises(PackageError, match="disagree"):
        parse_package(KINDS + _limit("a", "high", declared) + _limit("b", "other", both))
