"""Benchmark the compliance engine at scale, and CEL with cel-expr-python against cel-python.

The agreement (generated, loaded through the real loader from YAML text): 100 parties, each
with 8 limits (a dated parameter each), one one-time action and one six-monthly obligation:
1,000 terms, one party each. The evidence: 1,000,000 records, 1,000 per (party, quantity),
spread over 2010-2020, 10% of them inspection findings by the inspectorate, some corrected and
some disputed (half of the disputes naming the one figure they contest), reported 0-30 days
after they are observed. With what verification reports say beyond a figure: a fifth of the
findings state a bound ("did not exceed"), 2% of declarations speak for a 30-day period, every
party has a notice of lost continuity of knowledge, and every tenth party suspends its reports
for 2018 and owes a reciprocal step (relief, not granted in 2016, granted in 2017) that waits
on its first cap being verified.

What is measured:

- load: parsing, validating and compiling the 1,000 terms (every condition type-checked);
- index: building the evidence index from the 1,000,000 records (one pass);
- as-of: one evaluation of every term and party at one instant, each view (target <= 2 s);
- timeline: every change of every term over the whole period, "now" view (target <= 20 s);
- CEL: evaluations per second of ``value <= limit`` and of a richer condition, Google's
  ``cel-expr-python`` against the pure-Python ``cel-python`` (celpy), same inputs, one run
  (target >= 20x).

Run: ``.venv/bin/python benchmarks/bench_engine.py [--records N] [--quick] [--json]``;
``--parties N`` and ``--seed N`` make other data (``--parties 30 --records 300000``: the
1,000 records per series of the full run, at less than a third of its size). The JSON gives
the SHA-256 of the ``repr`` of the whole timeline (every change and its explanation), to
compare two versions of the engine on the same data.
cel-python is used here only as a peer to measure against; cvid never imports it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import json
import platform
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from cvid.agreements import Evidence, evaluate, parse_package, timeline
from cvid.agreements.cel import compile_condition
from cvid.evidence.record import Kind, KnowledgeLoss, Period, Quantity, Record

SEED = 20110205  # New START enters into force
PARTIES = 100
LIMITS = 8
START = dt.datetime(2010, 1, 1, tzinfo=dt.UTC)
SPAN = dt.timedelta(days=3650)


def package_text() -> str:
    """An agreement.yaml with 1,000 terms: per party 8 limits, an action, a periodic term."""
    out = [
        "id: bench",
        "title: Engine benchmark",
        "parties:",
        *(
            f"  - {{id: P{p:03d}, name: Party {p}, roles: [inspected_party]}}"
            for p in range(PARTIES)
        ),
        "  - {id: INSP, name: Inspectorate, roles: [inspectorate]}",
        "parameters:",
    ]
    for q in range(LIMITS):
        out += [
            f"  cap{q}:",
            f"    description: Cap on q{q}",
            "    unit: item",
            "    values:",
            f"      2012-01-01: {{value: {1200 + 50 * q}, reference: 'Art. {q}'}}",
            f"      2016-01-01: {{value: {1000 + 50 * q}, reference: 'Art. {q} bis'}}",
        ]
    out.append("terms:")
    for p in range(PARTIES):
        party = f"P{p:03d}"
        for q in range(LIMITS):
            out += [
                f"  - id: cap{q}-{party}",
                "    kind: limit",
                f"    title: Cap {q}",
                f"    clause: {{ref: 'Art. {q}', quote: 'At most the cap.'}}",
                f"    parties: [{party}]",
                f"    parameter: cap{q}",
                f"    evidence: {{quantity: q{q}}}",
                "    freshness_days: 30",
            ]
        out += [
            f"  - id: act-{party}",
            "    kind: action",
            "    title: Eliminate",
            "    clause: {ref: 'Art. 9', quote: 'Eliminate by 2015.'}",
            f"    parties: [{party}]",
            "    in_force: {from: 2010-01-01}",
            "    deadline: 2015-06-30",
            "    unit: item",
            "    condition: 'value == 0.0 || value < baseline / 10.0'",
            "    evidence: {quantity: q8}",
            f"  - id: report-{party}",
            "    kind: periodic",
            "    title: Report",
            "    clause: {ref: 'Art. 10', quote: 'Report every six months.'}",
            f"    parties: [{party}]",
            "    schedule: {dates: ['03-01', '09-01'], from: 2010-03-01, grace_days: 30,"
            " window_days: 20}",
            "    unit: item",
            "    evidence: {quantity: q9}",
        ]
    out.append("steps:")
    for p in range(0, PARTIES, 10):
        party = f"P{p:03d}"
        out += [
            f"  - id: relief-{party}",
            "    title: Relief",
            "    clause: {ref: 'Art. 11', quote: 'Relief once the first cap is verified.'}",
            f"    by: {party}",
            f"    requires: [{{term: cap0-{party}, party: {party}}}]",
            "    delivered_by: {kinds: [statement], subject: relief}",
        ]
    return "\n".join(out) + "\n"


def make_records(n: int, rng: random.Random) -> list[tuple[int, Record]]:
    """``n`` records, ``n / 1000`` per (party, quantity), as ``(index, record)``."""
    per = max(1, n // (PARTIES * (LIMITS + 2)))
    step = SPAN / per
    out: list[tuple[int, Record]] = []
    construct = Record.model_construct
    quantity = Quantity.model_construct
    for p in range(PARTIES):
        party = f"P{p:03d}"
        for q in range(LIMITS + 2):
            name = f"q{q}"
            for k in range(per):
                index = len(out)
                observed = START + step * k + dt.timedelta(hours=rng.randrange(24))
                inspect = rng.random() < 0.1
                level = 1000 + 50 * min(q, LIMITS - 1)
                value = rng.randint(level - 300, level + 60) if q != 8 else max(0, 50 - k)
                extra: dict[str, Any] = {}
                if k and rng.random() < 0.01:
                    target = "supersedes" if rng.random() < 0.5 else "disputes"
                    extra[target] = index - 1
                    if target == "disputes" and rng.random() < 0.5:
                        extra["disputed_values"] = [name]  # a dispute of this one figure
                bound = None
                if inspect and q < LIMITS and rng.random() < 0.2:
                    bound, value = "<=", value + 20  # "did not exceed": a bound, not a figure
                if not inspect and q < LIMITS and rng.random() < 0.02:
                    extra["period"] = Period.model_construct(
                        start=observed - dt.timedelta(days=30), end=observed
                    )
                out.append(
                    (
                        index,
                        construct(
                            agreement="bench",
                            kind=Kind.INSPECTION_FINDING if inspect else Kind.DECLARATION,
                            subject="stocks",
                            party=party,
                            observed_at=observed,
                            reported_at=observed + dt.timedelta(days=rng.randrange(31)),
                            values={
                                name: quantity(
                                    value=value, unit="item", uncertainty=None, bound=bound
                                )
                            },
                            submitter="INSP" if inspect else party,
                            signer="bench",
                            **extra,
                        ),
                    )
                )
        out += _notices(len(out), party, p)
    return out


def _notices(index: int, party: str, p: int) -> list[tuple[int, Record]]:
    """A loss of continuity of knowledge of ``q0`` for every party in 2017 and, for every tenth
    party, a suspension of its reports in 2018 and their resumption in 2019; and a statement on
    the party's relief (for the steps), not granted in 2016, granted in 2017."""
    construct = Record.model_construct

    def notice(at: dt.datetime, submitter: str, **fields: Any) -> Record:
        return construct(
            agreement="bench",
            kind=Kind.NOTICE,
            subject="notice",
            party=party,
            observed_at=at,
            reported_at=at,
            submitter=submitter,
            signer="bench",
            **fields,
        )

    lost = KnowledgeLoss.model_construct(quantities=["q0"], subjects=[])
    out = [notice(dt.datetime(2017, 6, 1, tzinfo=dt.UTC), "INSP", values={}, knowledge_lost=lost)]
    if p % 10 == 0:
        for year, effect in ((2018, "suspension"), (2019, "resumption")):
            values = {"notice": effect, "scope": f"report-{party}"}
            out.append(notice(dt.datetime(year, 1, 1, tzinfo=dt.UTC), party, values=values))
        for year, granted in ((2016, False), (2017, True)):
            out.append(
                construct(
                    agreement="bench",
                    kind=Kind.STATEMENT,
                    subject="relief",
                    party=party,
                    observed_at=dt.datetime(year, 7, 1, tzinfo=dt.UTC),
                    reported_at=dt.datetime(year, 7, 1, tzinfo=dt.UTC),
                    values={"delivered": granted},
                    submitter=party,
                    signer="bench",
                )
            )
    return [(index + k, r) for k, r in enumerate(out)]


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    t = time.perf_counter()
    out = func()
    return time.perf_counter() - t, out


def cel_rates(n: int) -> dict[str, dict[str, float]]:
    """Evaluations per second of the same conditions in cel-expr-python and cel-python."""
    import celpy
    from celpy import celtypes

    rng = random.Random(SEED)
    inputs = [
        (float(rng.randint(1000, 2000)), 1550.0, float(rng.randint(0, 3000))) for _ in range(1000)
    ]
    cases = {
        "value <= limit": {"value": "double", "limit": "double"},
        "value <= limit && (baseline == 0.0 || value < baseline * 0.9)": {
            "value": "double",
            "limit": "double",
            "baseline": "double",
        },
    }
    out: dict[str, dict[str, float]] = {}
    for source, variables in cases.items():
        ours = compile_condition(source, variables, "bench")
        env = celpy.Environment(annotations={k: celtypes.DoubleType for k in variables})
        prog = env.program(env.compile(source))
        peer_n = max(200, n // 40)
        t = time.perf_counter()
        for i in range(n):
            v, lim, base = inputs[i % 1000]
            ours({"value": v, "limit": lim, "baseline": base})
        fast = n / (time.perf_counter() - t)
        t = time.perf_counter()
        for i in range(peer_n):
            v, lim, base = inputs[i % 1000]
            prog.evaluate(
                {
                    "value": celtypes.DoubleType(v),
                    "limit": celtypes.DoubleType(lim),
                    "baseline": celtypes.DoubleType(base),
                }
            )
        slow = peer_n / (time.perf_counter() - t)
        for i in range(1000):  # both must agree before any figure counts
            v, lim, base = inputs[i]
            data = {"value": v, "limit": lim, "baseline": base}
            peer = prog.evaluate({k: celtypes.DoubleType(x) for k, x in data.items()})
            assert ours(data) == bool(peer), (source, data)
        out[source] = {
            "cel_expr_python_per_s": fast,
            "cel_python_per_s": slow,
            "ratio": fast / slow,
        }
    return out


def main() -> None:
    global PARTIES
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="100,000 records, fewer CEL runs")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--parties", type=int, default=100, help="inspected parties (100)")
    ap.add_argument("--seed", type=int, default=SEED, help="seed of the generated records")
    args = ap.parse_args()
    if args.parties < 1:
        ap.error("--parties must be at least 1")
    PARTIES = args.parties
    n = 100_000 if args.quick else args.records
    rng = random.Random(args.seed)
    res: dict[str, Any] = {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "records": n,
        "parties": PARTIES,
        "seed": args.seed,
    }
    text = package_text()
    res["load_s"], pkg = timed(lambda: parse_package(text, "bench/agreement.yaml"))
    res["terms"] = len(pkg.terms)
    res["build_records_s"], records = timed(lambda: make_records(n, rng))
    res["index_s"], ev = timed(lambda: Evidence(records))
    # A million records are millions of long-lived objects: move them out of the collector's
    # way, as a long evaluation should (the cvid CLI does the same after loading a ledger).
    gc.freeze()
    at = "2016-07-15"
    for view in ("now", "then"):
        res[f"as_of_{view}_s"], got = timed(lambda v=view: evaluate(pkg, ev, at, v))  # type: ignore[misc]
        res[f"as_of_{view}_statuses"] = got.to_json()["summary"]
    res["timeline_s"], changes = timed(lambda: timeline(pkg, ev, "2010-01-01", "2020-01-01", "now"))
    res["timeline_changes"] = len(changes)
    res["timeline_sha256"] = hashlib.sha256(repr(changes).encode()).hexdigest()
    res["cel"] = cel_rates(20_000 if args.quick else 200_000)
    if args.json:
        print(json.dumps(res, indent=2))
        return
    print(
        f"engine benchmark: {res['terms']:,} terms, {n:,} records "
        f"(Python {res['python']}, {res['processor']})"
    )
    print(f"  load package (YAML, validate, compile CEL)  {res['load_s']:8.2f} s")
    print(f"  index evidence (one pass)                  {res['index_s']:8.2f} s")
    print(f"  one as-of evaluation, now view             {res['as_of_now_s']:8.3f} s  (target 2)")
    print(f"  one as-of evaluation, then view            {res['as_of_then_s']:8.3f} s  (target 2)")
    print(
        f"  full timeline 2010-2020, now view          {res['timeline_s']:8.2f} s  (target 20)"
        f"  {res['timeline_changes']:,} changes"
    )
    print(f"  timeline SHA-256 (repr)                    {res['timeline_sha256'][:16]}")
    for source, r in res["cel"].items():
        print(
            f"  CEL {source!r}: cel-expr-python {r['cel_expr_python_per_s']:,.0f}/s, "
            f"cel-python {r['cel_python_per_s']:,.0f}/s: {r['ratio']:.1f}x  (target 20x)"
        )


if __name__ == "__main__":
    main()
