"""Amendments: a new package version recorded in the log, the version in force at T, and the
package hash chain in every verdict (docs/amendments.md)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from cvid.agreements import AMENDMENT_SUBJECT, MAX_AMENDMENT_BYTES, amendment_values
from cvid.evidence import Ledger
from cvid.evidence.parties import files_sha256 as package_sha256_of
from cvid.evidence.parties import package_sha256, read_package_files
from kit import cvid, ok


def package_doc(keys: dict[str, str], *, until: str, extra_term: bool) -> dict[str, Any]:
    """A two-state pact with an inspectorate; its stock limit ends ``until``."""
    terms: list[dict[str, Any]] = [
        {
            "id": "stock-limit",
            "kind": "limit",
            "title": "Stock of at most 100 kg",
            "clause": {"ref": "Article 1", "quote": "The stock shall not exceed 100 kg."},
            "parameter": "stock_limit",
            "evidence": {"quantity": "stock"},
            "freshness_days": 3000,
            "noun": "stock",
        }
    ]
    if extra_term:
        terms.append(
            {
                "id": "no-tests",
                "kind": "prohibition",
                "title": "No tests",
                "clause": {"ref": "Protocol, Article 1", "quote": "There shall be no tests."},
                "in_force": {"from": "2020-01-01"},
                "evidence": {"quantity": "tests", "subject": "site"},
                "freshness_days": 3000,
                "noun": "tests",
            }
        )
    return {
        "format": "cvid-agreement/1",
        "id": "pact",
        "title": "A pact",
        "parties": [
            {"id": "A", "name": "State A", "roles": ["inspected_party"]},
            {"id": "B", "name": "State B", "roles": ["counterparty"]},
            {"id": "INS", "name": "Inspectorate", "roles": ["inspectorate"]},
        ],
        "keys": [
            {
                "party": p,
                "vkey": keys[p],
                "kinds": ["declaration", "statement", "inspection_finding"],
                "may_manage_keys": True,
            }
            for p in ("A", "B", "INS")
        ],
        "defaults": {"verified_by": ["inspectorate"]},
        "parameters": {
            "stock_limit": {
                "description": "Stock",
                "unit": "kg",
                "values": {
                    "2020-01-01": {"value": 100, "reference": "Article 1"},
                    until: {"value": None, "reference": "Article 9 (expiry)"},
                },
            }
        },
        "terms": terms,
    }


def write_package(folder: Path, doc: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "agreement.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Any]:
    """A ledger of version 1 (limit until 2025), one declaration, and version 2 on disk
    (limit until 2030, and a term of its own)."""
    keys: dict[str, tuple[Path, str]] = {}
    for name in ("A", "B", "INS", "stranger"):
        path = tmp_path / f"{name}.key"
        keys[name] = (path, ok(cvid("key", "new", name.lower(), "--out", path)).stdout.strip())
    vkeys = {p: v for p, (_, v) in keys.items()}
    v1 = write_package(tmp_path / "v1", package_doc(vkeys, until="2025-01-01", extra_term=False))
    v2 = write_package(tmp_path / "v2", package_doc(vkeys, until="2030-01-01", extra_term=True))
    ledger = tmp_path / "ledger"
    ok(cvid("ledger", "init", ledger, "--agreement", v1, "--json"))
    declaration = {
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
    (tmp_path / "d.json").write_text(json.dumps(declaration))
    signed = ok(cvid("evidence", "sign", tmp_path / "d.json", "--key", keys["A"][0])).stdout
    (tmp_path / "d.signed.json").write_text(signed)
    ok(cvid("submit", ledger, tmp_path / "d.signed.json"))
    return {"tmp": tmp_path, "ledger": ledger, "keys": keys, "v1": v1, "v2": v2}


def amend(world: dict[str, Any], *extra: object, keys: tuple[str, ...] = ("A", "B")) -> Any:
    args: list[object] = ["ledger", "amend", world["ledger"], world["v2"], "--json"]
    args += ["--effective", "2024-12-01"]
    for k in keys:
        args += ["--key", world["keys"][k][0]]
    return cvid(*args, *extra)


def size(ledger: Path) -> int:
    with Ledger.open(ledger, readonly=True) as opened:
        return opened.size


def status(world: dict[str, Any], as_of: str) -> dict[str, Any]:
    out = cvid("status", world["ledger"], "--as-of", as_of, "--json")
    assert out.exit_code in (0, 1), out.output
    return json.loads(out.stdout)


def term(doc: dict[str, Any], term_id: str, party: str = "A") -> str | None:
    for t in doc["terms"]:
        if t["term"] == term_id and t["party"] == party:
            return str(t["status"])
    return None


def test_an_amendment_is_in_force_from_its_date_once_both_states_consent(
    world: dict[str, Any],
) -> None:
    v1, v2 = package_sha256(world["v1"]), package_sha256(world["v2"])
    # One state alone: recorded, awaiting the other; nothing changes in the evaluation.
    one = json.loads(ok(amend(world, keys=("A",))).stdout)
    assert one["in_chain"] is False and one["awaiting"] == ["B"]
    assert one["previous"] == v1 and one["sha256"] == v2
    assert term(status(world, "2026-01-01"), "stock-limit") == "not_in_force"
    # The second consent completes it.
    two = json.loads(ok(amend(world, keys=("B",))).stdout)
    assert two["in_chain"] is True and two["awaiting"] == []
    before, after = status(world, "2024-11-30"), status(world, "2026-01-01")
    assert before["package_sha256"] == v1 and after["package_sha256"] == v2
    assert term(before, "stock-limit") == "met_claimed"
    assert term(after, "stock-limit") == "met_claimed"  # v1 ended in 2025; v2 runs to 2030
    assert term(before, "no-tests") is None and term(after, "no-tests") is not None
    chain = after["package_versions"]
    assert [v["sha256"] for v in chain] == [v1, v2]
    assert chain[1]["previous"] == v1 and chain[1]["effective"] == "2024-12-01T00:00:00Z"
    assert chain[1]["index"] == two["indexes"][0]
    assert chain[1]["signed_by"] == [one["indexes"][0], two["indexes"][0]]
    assert [v["sha256"] for v in before["package_versions"]] == [v1]
    # The log alone holds the new version's exact bytes.
    with Ledger.open(world["ledger"], readonly=True) as ledger:
        rec = ledger.record(two["indexes"][0]).record
    assert rec.subject == AMENDMENT_SUBJECT and rec.kind.value == "statement"
    assert [rec.values] == amendment_values(
        read_package_files(world["v2"]), v1, int(1733011200 * 1e6)
    )


def test_the_timeline_splits_at_the_version_change(world: dict[str, Any]) -> None:
    ok(amend(world))
    out = cvid("timeline", world["ledger"], "--from", "2024-01-01", "--to", "2026-06-01", "--json")
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    mine = [(c["at"][:10], c["from"], c["to"]) for c in doc["changes"] if c["id"] == "no-tests"]
    # Only in version 2: not in force before it, judged from its effective date.
    assert mine[0] == ("2024-01-01", None, "not_in_force")
    assert mine[1][0] == "2024-12-01" and mine[1][1] == "not_in_force"
    assert mine[1][2] != "not_in_force"
    stock = [(c["at"][:10], c["to"]) for c in doc["changes"] if c["id"] == "stock-limit"]
    # Version 1 would end the limit on 2025-01-01; under version 2 it stays met.
    assert all(to != "not_in_force" for _, to in stock if _ >= "2024-12-01"), stock
    assert len(doc["package_versions"]) == 2
    # --package stands for the first version: the amendment (whose previous is version 1)
    # does not follow version 2 given as the first, so there is no chain and no split.
    plain = cvid(
        "timeline",
        world["ledger"],
        "--from",
        "2024-01-01",
        "--to",
        "2026-06-01",
        "--package",
        world["v2"],
        "--json",
    )
    assert plain.exit_code == 0, plain.output
    single = json.loads(plain.stdout)
    assert "package_versions" not in single
    assert single["package_sha256"] == package_sha256(world["v2"])


def test_refusals_change_nothing(world: dict[str, Any], tmp_path: Path) -> None:
    n = size(world["ledger"])
    stranger = amend(world, keys=("stranger",))
    assert stranger.exit_code == 2 and "not a key of this ledger" in stranger.output
    inspectorate = amend(world, keys=("INS",))
    assert inspectorate.exit_code == 2 and "consent" in inspectorate.output
    wrong = amend(world, "--previous", "0" * 64)
    assert wrong.exit_code == 2 and "--previous" in wrong.output
    assert size(world["ledger"]) == n
    # An oversized package.
    big = write_package(
        tmp_path / "big", yaml.safe_load((world["v2"] / "agreement.yaml").read_text())
    )
    (big / "blob.txt").write_bytes(b"x" * (MAX_AMENDMENT_BYTES + 1))
    args = ["ledger", "amend", world["ledger"], big, "--effective", "2024-12-01"]
    over = cvid(*args, "--key", world["keys"]["A"][0])
    assert over.exit_code == 2 and "over the amendment limit" in over.output
    # A package that does not check.
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "agreement.yaml").write_text("format: cvid-agreement/1\nid: pact\n")
    bad = cvid(
        "ledger",
        "amend",
        world["ledger"],
        broken,
        "--effective",
        "2024-12-01",
        "--key",
        world["keys"]["A"][0],
    )
    assert bad.exit_code == 2
    assert size(world["ledger"]) == n
    # An effective date before the version in force's.
    ok(amend(world))
    n = size(world["ledger"])
    v3 = write_package(
        tmp_path / "v3",
        {**yaml.safe_load((world["v2"] / "agreement.yaml").read_text()), "title": "v3"},
    )
    earlier = cvid(
        "ledger",
        "amend",
        world["ledger"],
        v3,
        "--effective",
        "2024-06-01",
        "--key",
        world["keys"]["A"][0],
    )
    assert earlier.exit_code == 2 and "before the version it replaces" in earlier.output
    assert size(world["ledger"]) == n


def test_the_verdict_carries_the_chain_and_verify_recomputes_it(
    world: dict[str, Any], tmp_path: Path
) -> None:
    ok(amend(world))
    out = tmp_path / "v.json"
    ok(cvid("verdict", world["ledger"], "--as-of", "2026-01-01", "--out", out))
    doc = json.loads(out.read_text())
    assert [v["sha256"] for v in doc["package_versions"]] == [
        package_sha256(world["v1"]),
        package_sha256(world["v2"]),
    ]
    assert doc["package_sha256"] == package_sha256(world["v2"])
    ok(cvid("verdict", "verify", out, "--log", world["ledger"]))

    def tampered(name: str, change: Any) -> Any:
        bad = json.loads(out.read_text())
        change(bad)
        path = tmp_path / name
        path.write_text(json.dumps(bad))
        return cvid("verdict", "verify", path, "--log", world["ledger"])

    # The chain edited: another effective date.
    edited = tampered(
        "e.json", lambda d: d["package_versions"][1].update(effective="2025-06-01T00:00:00Z")
    )
    assert edited.exit_code == 1 and "package chain differs" in edited.output
    # Evaluated under the wrong version: version 1's hash as the one in force.
    wrong = tampered("w.json", lambda d: d.update(package_sha256=package_sha256(world["v1"])))
    assert wrong.exit_code == 1 and "version in force" in wrong.output
    # A version dropped from the chain.
    short = tampered("s.json", lambda d: d["package_versions"].pop())
    assert short.exit_code == 1 and "package chain" in short.output
    # Other bytes given for the first version.
    swapped = cvid("verdict", "verify", out, "--log", world["ledger"], "--package", world["v2"])
    assert swapped.exit_code == 1 and "package SHA-256" in swapped.output
    # Before the effective date the verdict's chain is version 1 alone.
    early = tmp_path / "early.json"
    ok(cvid("verdict", world["ledger"], "--as-of", "2024-11-01", "--out", early))
    assert len(json.loads(early.read_text())["package_versions"]) == 1
    ok(cvid("verdict", "verify", early, "--log", world["ledger"]))


def test_an_amendment_record_that_breaks_the_rules_is_refused(world: dict[str, Any]) -> None:
    """Records submitted around the command (cvid submit) that break the chain's rules are
    refused by admission itself (tests/agreements/test_admission_amendments.py has every
    case): the ledger is unchanged and the chain has no version more."""
    files = read_package_files(world["v2"])
    (values,) = amendment_values(files, "0" * 64, int(1733011200 * 1e6))
    tmp: Path = world["tmp"]
    n = size(world["ledger"])
    for party in ("A", "B"):
        record = {
            "v": 1,
            "agreement": "pact",
            "kind": "statement",
            "subject": AMENDMENT_SUBJECT,
            "observed_at": "2024-12-01T00:00:00Z",
            "reported_at": "2024-12-01T00:00:00Z",
            "values": values,
            "submitter": party,
        }
        (tmp / f"{party}.json").write_text(json.dumps(record))
        signed = ok(
            cvid("evidence", "sign", tmp / f"{party}.json", "--key", world["keys"][party][0])
        )
        (tmp / f"{party}.signed.json").write_text(signed.stdout)
        out = cvid("submit", world["ledger"], tmp / f"{party}.signed.json")
        assert out.exit_code == 2, out.output
        assert "agreement: amendment part: its previous SHA-256" in out.output
    assert size(world["ledger"]) == n
    doc = status(world, "2026-01-01")
    assert doc["package_sha256"] == package_sha256(world["v1"])
    assert "package_versions" not in doc


def test_a_served_ledger_with_an_amendment_answers_as_the_directory(
    world: dict[str, Any],
) -> None:
    pytest.importorskip("fastapi")
    import subprocess
    import sys

    ok(amend(world))
    proc = subprocess.Popen(
        [sys.executable, "-m", "cvid.cli.main", "serve", str(world["ledger"]), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert " at http://" in line, line
        url = line.split(" at ", 1)[1].split("/ ", 1)[0]
        for as_of in ("2024-11-30", "2026-01-01"):
            remote = cvid("status", url, "--as-of", as_of, "--json")
            local = cvid("status", world["ledger"], "--as-of", as_of, "--json")
            assert remote.exit_code == local.exit_code == 0, remote.output
            assert remote.stdout == local.stdout
        span = ("--from", "2024-01-01", "--to", "2026-06-01", "--json")
        remote = cvid("timeline", url, *span)
        local = cvid("timeline", world["ledger"], *span)
        assert remote.stdout == local.stdout and "package_versions" in local.stdout
        with_chain = json.loads(cvid("status", url, "--as-of", "2026-01-01", "--json").stdout)
        assert len(with_chain["package_versions"]) == 2
    finally:
        proc.terminate()
        proc.wait(30)


def test_the_view_model_is_of_the_version_in_force_and_names_the_chain(
    world: dict[str, Any],
) -> None:
    ok(amend(world))
    v1, v2 = package_sha256(world["v1"]), package_sha256(world["v2"])
    for at, versions in (("2024-11-30", [v1]), ("2026-01-01", [v1, v2])):
        out = cvid("view", world["ledger"], "--at", at, "--json")
        assert out.exit_code == 0, out.output
        doc = json.loads(out.stdout)
        assert [v["sha256"] for v in doc["package_versions"]] == versions
        assert doc["package_sha256"] == versions[-1]
        assert ("no-tests" in {t["term"] for t in doc["terms"]}) == (len(versions) == 2)


def test_an_amendment_in_parts_enters_the_chain_when_its_files_and_consents_are_all_in(
    world: dict[str, Any],
) -> None:
    """A package over one record's size travels in parts; the version is the union of the
    parts of every consenting party, and a part with other bytes for a file is ignored."""
    from cvid.agreements import load_package, version_chain
    from cvid.evidence import Record

    first = load_package(world["v1"])
    files = {**read_package_files(world["v2"]), "annex.txt": b"annex " * 200}
    sha = package_sha256_of(files)
    parts = amendment_values(files, str(first.sha256), int(1733011200 * 1e6), part_bytes=1500)
    assert len(parts) == 2

    def record(party: str, values: dict[str, str]) -> Record:
        return Record.model_validate(
            {
                "agreement": "pact",
                "kind": "statement",
                "subject": AMENDMENT_SUBJECT,
                "observed_at": "2024-12-01T00:00:00Z",
                "reported_at": "2024-12-01T00:00:00Z",
                "values": values,
                "submitter": party,
                "signer": "unsigned",
            }
        )

    a1, a2 = record("A", parts[0]), record("A", parts[1])
    b1, b2 = record("B", parts[0]), record("B", parts[1])
    assert len(version_chain(first, [(0, a1), (1, b1)]).versions) == 1  # a part missing
    chain = version_chain(first, [(0, a1), (1, b1), (2, a2)])
    assert [v.sha256 for v in chain.versions] == [first.sha256, sha]
    assert chain.head.index == 2 and chain.head.signed_by == (0, 1, 2)
    assert chain.head.files == files
    forged = dict(parts[1])
    name = next(k for k in forged if k.startswith("amendment_file:"))
    forged[name] = base64.b64encode(b"other bytes").decode()
    bad = version_chain(first, [(0, a1), (1, b1), (2, record("B", forged)), (3, b2)])
    assert bad.ignored and bad.ignored[0][0] == 2 and "is not the one" in bad.ignored[0][1]
    assert bad.head.sha256 == sha and bad.head.index == 3


def test_a_verdict_re_derives_from_the_tiles_and_the_first_version_alone(
    world: dict[str, Any], tmp_path: Path
) -> None:
    """Trust nobody: from the public tiles, the log key and the first version's bytes, the
    verifier gets the later version from the log entries and re-derives the verdict."""
    from kit import ledger_vkey

    ok(amend(world))
    verdict = tmp_path / "v.json"
    ok(cvid("verdict", world["ledger"], "--as-of", "2026-01-01", "--out", verdict))
    tiles = tmp_path / "tiles"
    ok(cvid("log", "export", world["ledger"], tiles))
    vkey = ledger_vkey(world["ledger"])
    args = ["verdict", "verify", verdict, "--log", tiles, "--vkey", vkey]
    ok(cvid(*args, "--package", world["v1"]))
    # The amended version given as the first: its hash is not the chain's first.
    other = cvid(*args, "--package", world["v2"])
    assert other.exit_code == 1 and "package SHA-256" in other.output


def test_as_known_then_an_amendment_counts_from_when_it_was_logged(
    world: dict[str, Any], tmp_path: Path
) -> None:
    """The ledger's clock is 'log': the amendment, effective 2024-12-01, was logged today, so
    as known then on 2026-01-01 version 1 was still in force; now, version 2 was."""
    ok(amend(world))
    v1, v2 = package_sha256(world["v1"]), package_sha256(world["v2"])

    def sha(view: str, as_of: str) -> str:
        out = cvid("status", world["ledger"], "--as-of", as_of, "--view", view, "--json")
        assert out.exit_code in (0, 1), out.output
        return str(json.loads(out.stdout)["package_sha256"])

    assert sha("now", "2026-01-01") == v2 and sha("then", "2026-01-01") == v1
    assert sha("then", "2199-01-01") == v2
    verdict = tmp_path / "then.json"
    made = cvid(
        "verdict", world["ledger"], "--as-of", "2026-01-01", "--view", "then", "--out", verdict
    )
    assert made.exit_code in (0, 1), made.output
    assert [v["sha256"] for v in json.loads(verdict.read_text())["package_versions"]] == [v1]
    ok(cvid("verdict", "verify", verdict, "--log", world["ledger"]))


def test_the_report_judges_under_the_version_in_force(world: dict[str, Any]) -> None:
    """``cvid report`` at a date after the amendment shows the amended version's terms (the
    term only version 2 has) with the statuses cvid status gives; before it, version 1's."""
    from cvid.report import section_for_ledger

    ok(amend(world))
    for at, has_new_term in (("2024-11-30", False), ("2026-01-01", True)):
        section = section_for_ledger(world["ledger"], at)
        expected = status(world, at)
        assert section.package_sha256 == expected["package_sha256"]
        rows = {(r.term, r.party): r.statuses["now"] for r in (*section.terms, *section.pending)}
        assert ("no-tests", "A") in rows or not has_new_term
        assert has_new_term or all(term != "no-tests" for term, _ in rows)
        for t in expected["terms"]:
            assert rows[(t["term"], t["party"])] == t["status"], (at, t["term"])
        out = world["tmp"] / f"report-{at}.html"
        assert cvid("report", world["ledger"], "--as-of", at, "--out", out).exit_code in (0, 1)
        assert ("no-tests" in out.read_text()) == has_new_term


def test_evidence_list_shows_an_amendment_part_as_what_it_is_never_its_bytes(
    world: dict[str, Any],
) -> None:
    import hashlib

    ok(amend(world))
    files = read_package_files(world["v2"])
    v1, v2 = package_sha256(world["v1"]), package_sha256(world["v2"])
    listed = ok(cvid("evidence", "list", world["ledger"])).stdout
    flat = " ".join(listed.split())  # the console wraps long lines
    for party in ("A", "B"):
        assert (
            f"version {v2[:12]} (replaces {v1[:12]}, effective 2024-12-01T00:00:00Z), part 1 of "
            f"1 from {party}:"
        ) in flat
    data = files["agreement.yaml"]
    digest = hashlib.sha256(data).hexdigest()[:12]
    assert f"agreement.yaml ({len(data):,} bytes, SHA-256 {digest})" in flat
    assert f"1 of {len(files)} files" in flat
    encoded = base64.b64encode(data).decode()
    assert encoded[:40] not in flat and "amendment_file:" not in flat
    # The other records keep their values; --json keeps the data as logged.
    assert "stock=50 kg" in flat
    rows = json.loads(ok(cvid("evidence", "list", world["ledger"], "--json")).stdout)
    parts = [r for r in rows if r["subject"] == AMENDMENT_SUBJECT]
    assert len(parts) == 2 and all(
        r["values"]["amendment_file:agreement.yaml"] == encoded for r in parts
    )
    # cvid evidence show says the same; its --json keeps the record as signed.
    shown = " ".join(
        ok(cvid("evidence", "show", world["ledger"], parts[1]["index"])).stdout.split()
    )
    assert f"part 1 of 1 from B: agreement.yaml ({len(data):,} bytes" in shown
    assert encoded[:40] not in shown
    raw = json.loads(
        ok(cvid("evidence", "show", world["ledger"], parts[1]["index"], "--json")).stdout
    )
    assert raw["record"]["values"]["amendment_file:agreement.yaml"] == encoded
