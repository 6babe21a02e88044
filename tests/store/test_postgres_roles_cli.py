"""``cvid ledger grant``: a PostgreSQL ledger served by a role that can only read and append."""

from __future__ import annotations

import psycopg
import pytest

from cvid.errors import StoreError
from cvid.evidence import Ledger, sign_record
from cvid.sources import example_signer, import_declarations
from kit import NEW_START_CSV, ROOT, cvid
from pg import Cluster, url_with

NEW_START = ROOT / "examples" / "new-start"


def _declaration() -> dict[str, object]:
    obj = {
        "agreement": "new-start",
        "kind": "declaration",
        "subject": "central-limits",
        "party": "US",
        "submitter": "US",
        "observed_at": "2019-03-01T00:00:00Z",
        "reported_at": "2019-04-01T00:00:00Z",
        "values": {"deployed_warheads": {"value": 1365, "unit": "warhead"}},
    }
    return sign_record(obj, example_signer("new-start", "US"))


def test_a_granted_service_role_submits_but_cannot_rewrite(
    postgres_url: str, postgres_cluster: Cluster
) -> None:
    keys = {p: example_signer("new-start", p) for p in ("US", "RU")}
    with Ledger.create(postgres_url, NEW_START, clock_mode="reported") as ledger:
        import_declarations(ledger, NEW_START_CSV, NEW_START / "mapping.yaml", keys)
    with psycopg.connect(postgres_cluster.admin_url, autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS cvid_service_t")
        admin.execute("CREATE ROLE cvid_service_t LOGIN")
    try:
        got = cvid("ledger", "grant", postgres_url, "cvid_service_t")
        assert got.exit_code == 0, got.output
        assert "may read and append" in got.stdout
        service = url_with(postgres_url, user="cvid_service_t")
        with Ledger.open(service) as ledger:
            assert ledger.submit([_declaration()]) == [26]
            for sql in ("UPDATE records SET kind = 'notice'", "DELETE FROM entries"):
                with (
                    pytest.raises(StoreError, match=r"permission denied|append-only"),
                    ledger.driver.write() as tx,
                ):
                    tx.execute(sql)
            assert ledger.size == 27
        refused = cvid("ledger", "grant", "/not/a/url", "cvid_service_t")
        assert refused.exit_code == 2 and "not a postgresql:// URL" in refused.output
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as db:  # its grants live here
            db.execute("DROP OWNED BY cvid_service_t")
        with psycopg.connect(postgres_cluster.admin_url, autocommit=True) as admin:
            admin.execute("DROP ROLE cvid_service_t")
