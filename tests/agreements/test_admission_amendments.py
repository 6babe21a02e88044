"""Admission refuses malformed amendment parts and notices of effect (issue 10).

Each malformed record is refused by ``cvid submit`` (exit 2) and by ``POST /v1/records`` (a
422 problem), naming the record and the value; the ledger is unchanged; ``cvid ledger verify``
refuses the same record when it is in a log (written behind admission's back). Well-formed
ones are still admitted, and nothing admitted breaks status, timeline or report.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_amendments import package_doc, write_package

from cvid.agreements import AMENDMENT_SUBJECT, amendment_values, load_package
from cvid.evidence import Ledger, sign_record
from cvid.evidence.parties import read_package_files
from cvid.tlog.note import Signer
from kit import cvid, ok

EFFECTIVE = int(1733011200 * 1e6)  # 2024-12-01


class World:
    """A ledger of a two-state pact (version 1) with an inspectorate, and version 2 on disk."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.signers = {p: Signer.generate(p.lower()) for p in ("A", "B", "INS")}
        vkeys = {p: s.verifier.vkey for p, s in self.signers.items()}
        v1 = package_doc(vkeys, until="2025-01-01", extra_term=False)
        v2 = package_doc(vkeys, until="2030-01-01", extra_term=True)
        for doc in (v1, v2):
            for grant in doc["keys"]:
                grant["kinds"].append("notice")
        self.v1 = write_package(tmp / "v1", v1)
        self.v2 = write_package(tmp / "v2", v2)
        self.ledger = tmp / "ledger"
        ok(cvid("ledger", "init", self.ledger, "--agreement", self.v1, "--json"))
        self.first = load_package(self.v1)
        self.n = 0
        self.submit_ok(self.declaration())

    def declaration(self) -> dict[str, Any]:
        return {
            "v": 1,
            "agreement": "pact",
            "kind": "declaration",
            "subject": "stock",
            "party": "A",
            "observed_at": "2024-06-01T00:00:00Z",
            "reported_at": "2024-06-02T00:00:00Z",
            "values": {"stock": {"value": 50, "unit": "kg"}},
            "submitter": "A",
        }

    def amendment(self, values: dict[str, Any], by: str = "A", **extra: Any) -> dict[str, Any]:
        return {
            "v": 1,
            "agreement": "pact",
            "kind": "statement",
            "subject": AMENDMENT_SUBJECT,
            "observed_at": "2024-12-01T00:00:00Z",
            "reported_at": "2024-12-01T00:00:00Z",
            "values": values,
            "submitter": by,
            **extra,
        }

    def notice(self, values: dict[str, Any], by: str = "A", **extra: Any) -> dict[str, Any]:
        return {
            "v": 1,
            "agreement": "pact",
            "kind": "notice",
            "subject": "pact",
            "party": by,
            "observed_at": "2025-03-01T00:00:00Z",
            "reported_at": "2025-03-01T00:00:00Z",
            "values": values,
            "submitter": by,
            **extra,
        }

    def v2_values(self, previous: str | None = None) -> dict[str, str]:
        files = read_package_files(self.v2)
        (values,) = amendment_values(files, previous or str(self.first.sha256), EFFECTIVE)
        return values

    def file(self, record: dict[str, Any]) -> Path:
        self.n += 1
        path = self.tmp / f"r{self.n}.json"
        path.write_text(json.dumps(sign_record(record, self.signers[record["submitter"]])))
        return path

    def submit(self, record: dict[str, Any]) -> Any:
        return cvid("submit", self.ledger, self.file(record))

    def submit_ok(self, record: dict[str, Any]) -> None:
        ok(self.submit(record))

    def size(self) -> int:
        with Ledger.open(self.ledger, readonly=True) as opened:
            return opened.size


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def _replace_file(values: dict[str, str], data: bytes) -> dict[str, str]:
    name = next(k for k in values if k.startswith("amendment_file:"))
    return {**values, name: base64.b64encode(data).decode()}


def _manifest_sha(values: dict[str, str], manifest: str) -> dict[str, str]:
    digest = hashlib.sha256(manifest.encode()).hexdigest()
    return {**values, "amendment_manifest": manifest, "amendment_sha256": digest}


# (name, how to make the record from a world, the check, words the refusal must carry)
Case = tuple[str, Callable[[World], dict[str, Any]], str, str]
CASES: list[Case] = [
    (
        "manifest-missing",
        lambda w: w.amendment(
            {k: v for k, v in w.v2_values().items() if k != "amendment_manifest"}
        ),
        "schema",
        "values.amendment_manifest: missing",
    ),
    (
        "sha-not-hex",
        lambda w: w.amendment({**w.v2_values(), "amendment_sha256": "XYZ"}),
        "schema",
        "values.amendment_sha256",
    ),
    (
        "previous-not-hex",
        lambda w: w.amendment({**w.v2_values(), "amendment_previous": "ab" * 31}),
        "schema",
        "values.amendment_previous",
    ),
    (
        "effective-not-a-date",
        lambda w: w.amendment({**w.v2_values(), "amendment_effective": "2024-02-30"}),
        "schema",
        "values.amendment_effective",
    ),
    (
        "effective-out-of-range",
        lambda w: w.amendment({**w.v2_values(), "amendment_effective": "0001-01-01"}),
        "schema",
        "values.amendment_effective",
    ),
    (
        "file-not-base64",
        lambda w: w.amendment(
            {**w.v2_values(), "amendment_file:agreement.yaml": "not base64 at all!"}
        ),
        "schema",
        "values.amendment_file:agreement.yaml: not base64",
    ),
    (
        "file-not-canonical-base64",
        lambda w: w.amendment(
            {**w.v2_values(), "amendment_file:agreement.yaml": "QR=="}  # 'A' with stray bits
        ),
        "schema",
        "not canonical base64",
    ),
    (
        "file-not-the-manifests",
        lambda w: w.amendment(_replace_file(w.v2_values(), b"other bytes")),
        "schema",
        "not the file its amendment_manifest lists",
    ),
    (
        "file-not-in-manifest",
        lambda w: w.amendment({**w.v2_values(), "amendment_file:extra.txt": "eA=="}),
        "schema",
        "'extra.txt' is not a file its amendment_manifest lists",
    ),
    (
        "part-over-the-size-limit",
        lambda w: w.amendment(
            _manifest_sha(
                {
                    "amendment_previous": str(w.first.sha256),
                    "amendment_effective": "2024-12-01T00:00:00Z",
                    "amendment_file:big.txt": base64.b64encode(b"x" * 36_001).decode(),
                },
                f"{hashlib.sha256(b'x' * 36_001).hexdigest()}  big.txt\n",
            )
        ),
        "schema",
        "over 36,000 bytes of files",
    ),
    (
        "manifest-not-the-sha",
        lambda w: w.amendment({**w.v2_values(), "amendment_sha256": "0" * 64}),
        "schema",
        "does not hash to values.amendment_sha256",
    ),
    (
        "manifest-malformed",
        lambda w: w.amendment(_manifest_sha(w.v2_values(), "not a manifest\n")),
        "schema",
        "values.amendment_manifest: line 1",
    ),
    (
        "manifest-path-outside-the-package",
        lambda w: w.amendment(_manifest_sha(w.v2_values(), f"{'0' * 64}  ../outside.yaml\n")),
        "schema",
        "'../outside.yaml' is not a relative path of a package's file",
    ),
    (
        "value-not-text",
        lambda w: w.amendment({**w.v2_values(), "amendment_effective": True}),
        "schema",
        "values.amendment_effective: must be text",
    ),
    (
        "unknown-value",
        lambda w: w.amendment({**w.v2_values(), "note": "hello"}),
        "schema",
        "values.note: an amendment part carries only",
    ),
    (
        "with-a-party",
        lambda w: w.amendment(w.v2_values(), party="A"),
        "schema",
        "party: an amendment part concerns the agreement",
    ),
    (
        "not-a-statement",
        lambda w: {**w.amendment(w.v2_values()), "kind": "declaration"},
        "schema",
        "an amendment part is a statement",
    ),
    (
        "previous-not-in-force",
        lambda w: w.amendment(w.v2_values(previous="0" * 64)),
        "agreement",
        "is not the version in force",
    ),
    (
        "submitter-not-consenting",
        lambda w: w.amendment(w.v2_values(), by="INS"),
        "agreement",
        "INS is not a party whose consent amends it",
    ),
    (
        "notice-unknown-kind",
        lambda w: w.notice({"notice": "surrender"}),
        "schema",
        "values.notice: 'surrender' is not one of withdrawal",
    ),
    (
        "notice-not-text",
        lambda w: w.notice({"notice": {"value": 1, "unit": "kg"}}),
        "schema",
        "values.notice",
    ),
    (
        "notice-effective-not-a-date",
        lambda w: w.notice({"notice": "withdrawal", "effective": "soon"}),
        "schema",
        "values.effective: not a date or instant: 'soon'",
    ),
    (
        "notice-effective-out-of-range",
        lambda w: w.notice({"notice": "suspension", "effective": "9999-12-31"}),
        "schema",
        "values.effective",
    ),
    (
        "notice-scope-empty",
        lambda w: w.notice({"notice": "suspension", "scope": " , "}),
        "schema",
        "values.scope: names no term or step",
    ),
    (
        "notice-scope-no-such-term",
        lambda w: w.notice({"notice": "suspension", "scope": "stock-limit, no-such-term"}),
        "agreement",
        "values.scope: no-such-term: no term or step",
    ),
    (
        "notice-of-another-party",
        lambda w: w.notice({"notice": "withdrawal"}, by="B", party="A"),
        "schema",
        "party: a notice of withdrawal is its party's own",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_a_malformed_record_is_refused_by_submit_and_nothing_is_written(
    world: World, case: Case
) -> None:
    _, make, check, words = case
    n = world.size()
    out = world.submit(make(world))
    assert out.exit_code == 2, out.output
    assert f"record 1 of 1 ({world.tmp / f'r{world.n}.json'}): {check}: " in out.output
    assert words in out.output
    assert "nothing was written" in out.output
    assert world.size() == n


def test_the_service_refuses_each_malformed_record_with_a_422_problem(world: World) -> None:
    import warnings

    pytest.importorskip("fastapi")
    from cvid.web import create_app

    with warnings.catch_warnings():
        # Starlette's TestClient says it prefers httpx2; httpx is what this project pins.
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    n = world.size()
    with TestClient(create_app(world.ledger)) as client:
        for name, make, check, words in CASES:
            record = sign_record(make(world), world.signers[make(world)["submitter"]])
            resp = client.post(
                "/v1/records",
                content=json.dumps(record),
                headers={"content-type": "application/json"},
            )
            assert resp.status_code == 422, (name, resp.text)
            assert resp.headers["content-type"] == "application/problem+json"
            doc = resp.json()
            assert doc["check"] == check, (name, doc)
            assert words in doc["reason"], (name, doc)
            assert doc["record"].startswith("record 1 of 1"), (name, doc)
        assert int(client.get("/v1/ledger").json()["size"]) == n
    assert world.size() == n


def test_well_formed_amendment_parts_and_notices_are_still_admitted(world: World) -> None:
    v2 = world.v2_values()
    world.submit_ok(world.amendment(v2, by="A"))
    world.submit_ok(world.amendment(v2, by="B"))  # completes the consent: version 2
    # A notice may name a term only version 2 has, once version 2 is in the chain.
    world.submit_ok(
        world.notice({"notice": "suspension", "scope": "no-tests", "effective": "2025-03-01"})
    )
    world.submit_ok(world.notice({"notice": "resumption", "effective": "2025-06-01T00:00:00Z"}))
    world.submit_ok(world.notice({"notice": "withdrawal", "effective": "2026-01-01"}, by="B"))
    status = json.loads(
        cvid("status", world.ledger, "--as-of", "2025-04-01", "--json").stdout or "{}"
    )
    assert len(status["package_versions"]) == 2
    rows = {(t["term"], t["party"]): t["status"] for t in status["terms"]}
    assert rows[("no-tests", "A")] == "suspended"
    # Nothing admitted breaks a later command.
    for args in (
        ("status", world.ledger, "--as-of", "2026-06-01"),
        ("timeline", world.ledger, "--from", "2024-01-01", "--to", "2026-06-01"),
        ("report", world.ledger, "--as-of", "2026-06-01", "--out", world.tmp / "r.html"),
        ("view", world.ledger, "--at", "2026-06-01", "--json"),
    ):
        result = cvid(*args)
        assert result.exit_code in (0, 1), (args, result.output)
    ok(cvid("ledger", "verify", world.ledger))
    # A further part of version 2, once it is in the chain, adds nothing and is admitted.
    world.submit_ok(world.amendment(v2, by="A", reported_at="2024-12-02T00:00:00Z"))
    again = json.loads(cvid("status", world.ledger, "--as-of", "2025-04-01", "--json").stdout)
    assert again["package_versions"] == status["package_versions"]


def test_a_part_completing_a_package_that_does_not_compile_is_refused(world: World) -> None:
    broken = {"agreement.yaml": b"format: cvid-agreement/1\nid: pact\n"}
    (values,) = amendment_values(broken, str(world.first.sha256), EFFECTIVE)
    world.submit_ok(world.amendment(values, by="A"))  # one consent: pending, not compiled
    n = world.size()
    out = world.submit(world.amendment(values, by="B"))
    assert out.exit_code == 2, out.output
    assert "agreement: amendment part: its package does not compile" in out.output
    assert world.size() == n


def test_an_amendment_effective_before_the_version_it_replaces_is_refused(
    world: World,
) -> None:
    v2 = world.v2_values()
    world.submit_ok(world.amendment(v2, by="A"))
    world.submit_ok(world.amendment(v2, by="B"))
    doc = yaml_of(world.v2)
    files = {"agreement.yaml": json.dumps({**doc, "title": "v3"}).encode()}
    (v3,) = amendment_values(files, v2["amendment_sha256"], EFFECTIVE - 86_400_000_000)
    n = world.size()
    out = world.submit(world.amendment(v3, by="A"))
    assert out.exit_code == 2 and "before the version it replaces" in out.output
    assert world.size() == n


def yaml_of(folder: Path) -> dict[str, Any]:
    import yaml

    doc: dict[str, Any] = yaml.safe_load((folder / "agreement.yaml").read_text())
    return doc


def _append_behind_admissions_back(world: World, record: dict[str, Any]) -> int:
    """Log ``record`` with admission's checks switched off (a writer that skipped them, as
    an older cvid or a tampered one would): its index."""
    from cvid.evidence.admission import Prepared

    signed = sign_record(record, world.signers[record["submitter"]])
    with Ledger.open(world.ledger) as ledger:
        real = ledger._check_batch

        def lax(tx: Any, state: Any, prepared: Any, *a: Any, **k: Any) -> list[Prepared]:
            return [p for p in prepared if isinstance(p, Prepared)]

        ledger._check_batch = lax  # type: ignore[method-assign]
        try:
            from cvid.evidence import admission

            original = admission.check_reserved
            admission.check_reserved = lambda record, where: None
            try:
                (index,) = ledger.submit([signed])
            finally:
                admission.check_reserved = original
        finally:
            ledger._check_batch = real  # type: ignore[method-assign]
    return index


@pytest.mark.parametrize(
    "name", ["manifest-not-the-sha", "notice-unknown-kind", "previous-not-in-force"]
)
def test_ledger_verify_refuses_what_admission_refuses(world: World, name: str) -> None:
    _, make, check, words = next(c for c in CASES if c[0] == name)
    index = _append_behind_admissions_back(world, make(world))
    out = cvid("ledger", "verify", world.ledger, "--json")
    assert out.exit_code == 1, out.output
    findings = json.loads(out.stdout)["findings"]
    # The refusal, and (the entry being no evidence) its index rows are a finding too.
    assert [(f["index"], f["check"]) for f in findings] == [(index, check), (index, "index")]
    assert words in findings[0]["detail"]
    # And nothing it holds breaks the reading commands.
    result = cvid("status", world.ledger, "--as-of", "2026-01-01")
    assert result.exit_code in (0, 1), result.output


def test_a_part_after_the_one_that_completed_its_version_is_admitted(world: World) -> None:
    """Both parties' parts in one batch (as cvid demo records New START's extension): the
    second party's first part completes the version, its second part adds nothing and is
    admitted, not refused as naming another version than the one in force."""
    from cvid.agreements import ledger_chain

    files = {**read_package_files(world.v2), "annex.txt": b"annex " * 200}
    parts = amendment_values(files, str(world.first.sha256), EFFECTIVE, part_bytes=1500)
    assert len(parts) == 2
    batch = [
        sign_record(world.amendment(values, by=party), world.signers[party])
        for party in ("A", "B")
        for values in parts
    ]
    with Ledger.open(world.ledger) as ledger:
        indexes = ledger.submit(batch)
        chain = ledger_chain(ledger)
    assert len(chain.versions) == 2 and not chain.ignored
    assert chain.head.index == indexes[2] and chain.head.signed_by == tuple(indexes[:3])
    assert chain.head.files == files
    ok(cvid("ledger", "verify", world.ledger))
    # A part of it by a party whose consent is not needed is still refused.
    late = world.submit(world.amendment(parts[1], by="INS"))
    assert late.exit_code == 2 and "INS is not a party whose consent amends it" in late.output


def test_a_postgresql_ledger_refuses_and_admits_the_same(tmp_path: Path, postgres_url: str) -> None:
    """The index query that finds earlier amendment parts and notices is the store's SQL: the
    same refusals and admissions on PostgreSQL."""
    world = World(tmp_path)
    url = postgres_url
    ok(cvid("ledger", "init", url, "--agreement", world.v1, "--json"))
    world.ledger = url  # type: ignore[assignment]
    world.submit_ok(world.declaration())
    v2 = world.v2_values()
    for party in ("A", "B"):
        world.submit_ok(world.amendment(v2, by=party))
    world.submit_ok(world.notice({"notice": "suspension", "scope": "no-tests"}))
    n = world.size()
    for name in ("previous-not-in-force", "notice-scope-no-such-term", "file-not-base64"):
        _, make, check, words = next(c for c in CASES if c[0] == name)
        out = world.submit(make(world))
        assert out.exit_code == 2 and f": {check}: " in out.output and words in out.output
    assert world.size() == n
    verified = json.loads(ok(cvid("ledger", "verify", url, "--json")).stdout)
    assert verified["ok"] and verified["admitted"] == n


def test_a_refused_batch_leaves_no_amendment_behind_for_the_batches_after_it(
    world: World,
) -> None:
    """In one group commit, a batch refused after its amendment parts were checked leaves
    the chain as it was for the batches after it; one that passes counts for those after."""
    from cvid.agreements import ledger_chain

    v2 = world.v2_values()
    signed = {p: sign_record(world.amendment(v2, by=p), world.signers[p]) for p in ("A", "B")}
    scoped = world.notice({"notice": "suspension", "scope": "no-tests", "effective": "2025-03-01"})
    notice = sign_record(scoped, world.signers["A"])
    replay = sign_record(world.declaration(), world.signers["A"])  # logged already
    with Ledger.open(world.ledger) as ledger:
        n = ledger.size
        results = ledger.submit_many(
            [
                [signed["A"], signed["B"], replay],  # completes version 2, then refused
                [notice],  # no-tests is a term of version 2 only: refused
                [signed["A"], signed["B"]],  # version 2
                [notice],  # now admitted
            ]
        )
        chain = ledger_chain(ledger)
        size = ledger.size
    assert [type(r).__name__ for r in results] == ["RecordError", "RecordError", "list", "list"]
    assert "no term or step" in str(results[1]) and "no-tests" in str(results[1])
    assert results[2] == [n, n + 1] and results[3] == [n + 2]
    assert len(chain.versions) == 2 and chain.head.signed_by == (n, n + 1)
    assert size == n + 3
    ok(cvid("ledger", "verify", world.ledger))
