"""A real ``cvid serve`` on 127.0.0.1: concurrent submitters, the command line as its client,
slow clients dropped, and SIGTERM losing nothing acknowledged."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from web_kit import jsonl, make_ledger, signed

from cvid.cli.serve import openapi_json
from cvid.evidence import Ledger, canonical
from cvid.web import openapi_document
from kit import ROOT, cvid, ledger_vkey, ok

JSON = {"content-type": "application/json"}
JSONL = {"content-type": "application/jsonl"}


class Served:
    """``cvid serve DIR --port 0 ARGS`` in a child process; its URL read from its first line."""

    def __init__(self, directory: Path, log: Path, *args: str, env: dict[str, str] | None = None):
        self.log: IO[bytes] = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cvid.cli.main", "serve", str(directory), "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=self.log,
            env={**os.environ, **(env or {})},
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        if " at http://" not in line:
            self.proc.kill()
            raise AssertionError(f"cvid serve printed {line!r}; log: {log.read_text()}")
        self.url = line.split(" at ", 1)[1].split("/ ", 1)[0]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self.log.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Path]]:
    base = tmp_path_factory.mktemp("serve")
    directory = make_ledger(base / "ledger")
    server = Served(directory, base / "serve.log", "--body-timeout", "1")
    yield server, directory
    assert server.stop() == 0


def test_concurrent_submitters_each_get_their_records_at_their_indices(
    served: tuple[Served, Path],
) -> None:
    server, directory = served
    start = httpx.get(server.url + "/v1/ledger").json()["size"]

    def submitter(k: int) -> list[tuple[list[int], list[dict[str, Any]]]]:
        out = []
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for j in range(5):
                n = 1000 + 10 * k + 2 * j
                if j % 2:
                    records = [signed(n), signed(n + 1, party="RU")]
                    resp = client.post("/v1/records", content=jsonl(records), headers=JSONL)
                else:
                    records = [signed(n)]
                    resp = client.post("/v1/records", content=json.dumps(records[0]), headers=JSON)
                assert resp.status_code == 201, resp.text
                out.append((resp.json()["indices"], records))
        return out

    with ThreadPoolExecutor(8) as pool:
        answers = [a for part in pool.map(submitter, range(8)) for a in part]
    indices = sorted(i for got, _ in answers for i in got)
    assert indices == list(range(start, start + len(indices))) and len(indices) == 8 * 7
    with Ledger.open(directory, readonly=True) as ledger:
        for got, records in answers:
            for i, record in zip(got, records, strict=True):
                assert ledger.log.read_entries(i, i + 1) == [canonical(record)]


def test_the_command_line_is_a_client_with_the_same_output(
    served: tuple[Served, Path], tmp_path: Path
) -> None:
    server, directory = served
    url = server.url
    good = tmp_path / "good.jsonl"
    good.write_bytes(jsonl([signed(5000), signed(5001, party="RU")]))
    admitted = json.loads(ok(cvid("submit", url, good, "--json")).stdout)
    assert len(admitted["indexes"]) == 2 and set(admitted["receipts"]) == {
        str(i) for i in admitted["indexes"]
    }
    again = ok(cvid("submit", url + "/v1/", good, "--receipts", tmp_path / "r"))
    assert f"record(s) admitted; the ledger holds {admitted['size']}" in again.stdout
    assert len(list((tmp_path / "r").glob("*.tlog-proof"))) == 2
    # A refusal reads as it does against the directory, and exits 2.
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**signed(5002), "signature": signed(5003)["signature"]}))
    remote, local = cvid("submit", url, good, bad), cvid("submit", directory, good, bad)
    assert remote.exit_code == local.exit_code == 2
    assert "record 3 of 3 (" in remote.output and remote.output == local.output
    # Exit codes too: a timeline through 2019 holds a violated term, so it exits 1 (docs/cli.md).
    for command, rest, code in (
        (["status"], ["--as-of", "2018-02-05"], 0),
        (["status"], ["--as-of", "2018-02-05", "--view", "then", "--json"], 0),
        (["timeline"], ["--from", "2015-01-01", "--to", "2017-12-31"], 0),
        (["timeline"], ["--from", "2015-01-01", "--to", "2019-12-31"], 1),
        (["timeline"], ["--json"], 1),
        (["evidence", "list"], ["--party", "RU", "--since", "2017-01-01"], 0),
        (["evidence", "list"], ["--json"], 0),
        (["evidence", "show"], ["3"], 0),
        (["ledger", "keys"], [], 0),
    ):
        remote, local = cvid(*command, url, *rest), cvid(*command, directory, *rest)
        assert remote.exit_code == local.exit_code == code, (command, rest, remote.output)
        assert remote.stdout == local.stdout, (command, rest)
    # A verdict from the service re-derives from the service, from its tiles, and locally.
    verdict = tmp_path / "verdict.json"
    ok(cvid("verdict", url, "--as-of", "2018-02-05", "--out", verdict))
    ok(cvid("verdict", "verify", verdict, "--log", url))
    package = tmp_path / "package"
    ok(cvid("ledger", "info", directory, "--package-out", package))
    vkey = ledger_vkey(directory)
    ok(
        cvid(
            "verdict",
            "verify",
            verdict,
            "--log",
            url + "/v1/log",
            "--vkey",
            vkey,
            "--package",
            package,
        )
    )
    ok(cvid("verdict", "verify", verdict, "--log", directory))
    audited = json.loads(ok(cvid("audit", url + "/v1/log", "--vkey", vkey)).stdout)
    assert audited["ok"] and audited["size"] == admitted["size"]


def test_the_client_says_what_went_wrong_in_one_line(served: tuple[Served, Path]) -> None:
    server, _ = served
    result = cvid("status", server.url, "--as-of", "2018-02-05", "--package", "x")
    assert result.exit_code == 2 and "--package applies to a ledger directory" in result.output
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    result = cvid("evidence", "list", dead)
    assert result.exit_code == 2 and "cannot reach the service" in result.output
    result = cvid("evidence", "show", server.url, "99999")
    assert result.exit_code == 2 and "no record 99999" in result.output


def test_a_client_too_slow_with_its_body_is_dropped(served: tuple[Served, Path]) -> None:
    server, _ = served
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(
            b"POST /v1/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        started = time.monotonic()
        data = b""
        while chunk := s.recv(4096):  # the service closes the connection after answering
            data += chunk
        answer = data.decode()
    assert answer.startswith("HTTP/1.1 408"), answer
    assert time.monotonic() - started < 5
    assert "/v1/problems/timeout" in answer


def test_sigterm_commits_what_is_in_flight_and_loses_nothing_acknowledged(
    tmp_path: Path,
) -> None:
    directory = make_ledger(tmp_path / "ledger")
    server = Served(directory, tmp_path / "serve.log", "--open", env={"BROWSER": "true"})
    acknowledged: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def submitter(k: int) -> None:
        n = 10_000 + 1000 * k
        with httpx.Client(base_url=server.url, timeout=30) as client:
            while not stop.is_set():
                record = signed(n)
                n += 1
                try:
                    resp = client.post("/v1/records", content=json.dumps(record), headers=JSON)
                except httpx.HTTPError:
                    return  # the service has stopped accepting
                if resp.status_code == 201:
                    with lock:
                        acknowledged.append((resp.json()["indices"][0], record))
                else:
                    assert resp.status_code == 503, resp.text  # stopping: nothing written
                    return

    threads = [threading.Thread(target=submitter, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 30 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.stop() == 0
    stop.set()
    for t in threads:
        t.join(30)
    assert len(acknowledged) >= 30
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log and "cvid serve stopped" in log
    with Ledger.open(directory, readonly=True) as ledger:
        assert ledger.size >= 26 + len(acknowledged)
        for i, record in acknowledged:
            assert ledger.log.read_entries(i, i + 1) == [canonical(record)]


def test_serving_what_is_not_a_ledger_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cvid.cli.main", "serve", str(tmp_path), "--port", "0"],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 2 and b"no ledger here" in result.stderr


def test_the_command_line_starts_without_the_web_stack() -> None:
    code = (
        "import sys\nfrom cvid.cli import main\nsys.argv = ['cvid', '--version']\n"
        "try:\n    main.main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert result.stdout.decode().splitlines()[-1] == "[]", result.stdout


def test_the_published_openapi_document_is_the_apps() -> None:
    published = (ROOT / "docs" / "openapi.json").read_text()
    assert published == openapi_json(openapi_document()), (
        "docs/openapi.json is stale: run `cvid serve --openapi > docs/openapi.json`"
    )
    assert ok(cvid("serve", "--openapi")).stdout == published
