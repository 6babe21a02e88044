"""``/v1/log/``: the log served as tlog-tiles is byte for byte ``cvid log export``'s tree,
audits against the log key alone, caches what never changes, and 404s what is not there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web_kit import TestClient, jsonl, make_ledger, signed

from cvid.audit import TileSource, audit
from cvid.errors import InputError
from cvid.evidence import Ledger
from cvid.tlog.note import Verifier
from cvid.tlog.tiles import decode_bundle
from cvid.web import create_app
from kit import cvid, ledger_vkey, ok

SIZE = 26 + 270  # a full level-0 tile and bundle, a partial one of 40, a level-1 tile of 1


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = make_ledger(tmp_path_factory.mktemp("tiles") / "ledger")
    with TestClient(create_app(directory)) as client:
        for lo in range(0, 270, 90):  # three commits: three checkpoints
            resp = client.post(
                "/v1/records",
                content=jsonl([signed(n) for n in range(lo, lo + 90)]),
                headers={"content-type": "application/jsonl"},
            )
            assert resp.status_code == 201, resp.text
    return directory


@pytest.fixture(scope="module")
def tiles(big: Path) -> Iterator[TestClient]:
    with TestClient(create_app(big)) as client:
        yield client


class ClientTransport:
    """The audit's transport, reading the served tree through the in-process client."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def get(self, path: str) -> bytes:
        resp = self.client.get(f"/v1/log/{path}")
        if resp.status_code != 200:
            raise InputError(f"/v1/log/{path}: HTTP {resp.status_code}")
        return resp.content


def test_the_served_tree_is_the_exported_tree(big: Path, tiles: TestClient, tmp_path: Path) -> None:
    out = tmp_path / "export"
    ok(cvid("log", "export", big, out))
    # The tlog-tiles tree: the checkpoint and the tiles (an export may publish more beside it).
    files = sorted(
        p for p in out.rglob("*") if p.is_file() and p.relative_to(out).parts[0] != "checkpoints"
    )
    names = {p.relative_to(out).as_posix() for p in files}
    assert {
        "checkpoint",
        "tile/0/000",
        "tile/0/001.p/40",
        "tile/1/000.p/1",
        "tile/entries/000",
        "tile/entries/001.p/40",
    } == names
    for path in files:
        rel = path.relative_to(out).as_posix()
        resp = tiles.get(f"/v1/log/{rel}")
        assert resp.status_code == 200, rel
        assert resp.content == path.read_bytes(), rel
        cache = resp.headers["cache-control"]
        if rel == "checkpoint":
            assert resp.headers["content-type"] == "text/plain; charset=utf-8"
            assert cache == "no-cache"
        else:
            assert resp.headers["content-type"] == "application/octet-stream"
            immutable = ".p/" not in rel
            assert cache == (
                "public, max-age=31536000, immutable" if immutable else "public, max-age=60"
            ), rel


def test_the_served_tree_audits_against_the_log_key(big: Path, tiles: TestClient) -> None:
    source = TileSource("http://testserver/v1/log", transport=ClientTransport(tiles))
    report = audit(source, Verifier.from_vkey(ledger_vkey(big)))
    assert report.ok, report.problems
    assert report.entries == SIZE and report.checkpoint.size == SIZE


def test_partial_tiles_of_older_sizes_are_still_served(tiles: TestClient) -> None:
    full = tiles.get("/v1/log/tile/0/000").content
    older = tiles.get("/v1/log/tile/0/000.p/26")
    assert older.status_code == 200 and older.content == full[: 26 * 32]
    bundle = tiles.get("/v1/log/tile/entries/001.p/10")
    assert bundle.status_code == 200
    assert (
        decode_bundle(bundle.content)
        == decode_bundle(tiles.get("/v1/log/tile/entries/001.p/40").content)[:10]
    )


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/001.p/41",  # wider than the tree has
        "tile/0/001",  # not full yet
        "tile/0/002",  # beyond the tree
        "tile/1/000",
        "tile/2/000.p/1",
        "tile/entries/001",
        "tile/entries/002.p/1",
        "tile/0/1",  # not canonical
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/x000/001",
        "tile/abc/000",
        "tile/64/000",
        "tile/entries/000/",
        "tile/",
        "tile/0/000.p/040",
        "checkpoints",
    ],
)
def test_what_is_not_in_the_tree_is_404(tiles: TestClient, path: str) -> None:
    resp = tiles.get(f"/v1/log/{path}")
    assert resp.status_code == 404, path
    assert resp.headers["content-type"] == "application/problem+json"
    assert "immutable" not in resp.headers.get("cache-control", "")


def test_an_empty_ledger_serves_nothing_yet(tmp_path: Path) -> None:
    package = Path(__file__).resolve().parents[2] / "examples" / "new-start"
    Ledger.create(tmp_path / "empty", package).close()
    with TestClient(create_app(tmp_path / "empty")) as client:
        assert client.get("/v1/log/checkpoint").status_code == 404
        assert client.get("/v1/log/tile/0/000.p/1").status_code == 404
        page = client.get("/v1/records").json()
        assert page["records"] == [] and page["checkpoint"] is None and page["next"] is None
        status = client.get("/v1/status", params={"as_of": "2018-02-05"}).json()
        assert status["checkpoint"] is None
        verdict = client.get("/v1/verdict", params={"as_of": "2018-02-05"})
        assert verdict.status_code == 409 and verdict.json()["type"] == "/v1/problems/no-checkpoint"
        assert client.get("/v1/records/0").status_code == 404
