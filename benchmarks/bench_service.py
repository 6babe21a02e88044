"""The shared ledger over HTTP: records acknowledged per second by ``cvid serve``, the status a
warm service answers, and tiles served per second beside Debian's nginx, all in one run.

Every figure is measured end to end, as a user feels it: a real ``cvid serve`` process on
127.0.0.1, driven by clients in a separate process.

1. **Submissions.** Distinct signed records (New START-like declarations, ~600 bytes) are
   POSTed by ``--clients`` concurrent clients (keep-alive HTTP/1.1), as single records
   (``application/json``) and as batches of ``--batch`` (``application/jsonl``), to a ledger on
   SQLite and on PostgreSQL (a throw-away cluster with ``fsync=on``). A record counts once its
   201 came back (the service answers only after the commit). Reported: records/s, request
   latency p50/p99. Beside it, in the same run, the in-process rate of ``bench_ledger.py``
   (``Ledger.submit`` in batches of ``--batch``): the batch target is at least half of it.
   Afterwards every ledger must hold exactly the records acknowledged, each at its index.
2. **Status.** ``GET /v1/status`` on the large ledger of ``bench_scale.py`` (built there once):
   the first request (computed from the ledger) and then ``--status-requests`` more (the service
   keeps an answer while its checkpoint is the latest): median and p99.
3. **Tiles.** ``wrk`` fetches full tiles and entry bundles of an exported ledger from
   ``cvid serve`` and from nginx serving the same export (``cvid log export``), for
   ``--tile-seconds`` each: requests/s side by side, and the ratio.

Run: ``.venv/bin/python benchmarks/bench_service.py [--records 20000] [--clients 100]
[--batch 1000] [--parts submissions,status,tiles] [--json]``. Needs Debian's ``postgresql``,
``nginx`` and ``wrk``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

import bench_ledger  # noqa: E402
import bench_scale  # noqa: E402

CVID = str(ROOT / ".venv" / "bin" / "cvid")


# -- a minimal keep-alive HTTP/1.1 client (the load generator must not be the bottleneck) --------


async def _request(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    method: str,
    path: str,
    body: bytes = b"",
    ctype: str = "application/json",
) -> tuple[int, bytes]:
    head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {len(body)}\r\n"
    if body:
        head += f"Content-Type: {ctype}\r\n"
    writer.write(head.encode() + b"\r\n" + body)
    await writer.drain()
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length = 0
    chunked = False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
        elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        data = b""
        while (size := int((await reader.readline()).strip(), 16)) > 0:
            data += await reader.readexactly(size)
            await reader.readline()
        await reader.readline()
        return status, data
    return status, await reader.readexactly(length)


async def _clients(
    port: int, bodies: list[bytes], ctype: str, clients: int
) -> tuple[list[float], list[bytes], float]:
    """POST every body with ``clients`` connections; (latencies, 201 bodies, wall seconds)."""
    todo = list(enumerate(bodies))
    latencies: list[float] = []
    answers: list[bytes] = [b""] * len(bodies)

    async def one() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while todo:
                i, body = todo.pop()
                t = time.perf_counter()
                status, data = await _request(reader, writer, "POST", "/v1/records", body, ctype)
                latencies.append(time.perf_counter() - t)
                if status not in (200, 201):
                    raise SystemExit(f"POST answered {status}: {data[:300]!r}")
                answers[i] = data
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(clients)))
    return latencies, answers, time.perf_counter() - t0


def _client_process(port: int, bodies: list[bytes], ctype: str, clients: int, out: Any) -> None:
    out.put(asyncio.run(_clients(port, bodies, ctype, clients)))


def _drive(port: int, bodies: list[bytes], ctype: str, clients: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=_client_process, args=(port, bodies, ctype, clients, q))
    proc.start()
    latencies, answers, wall = q.get(timeout=3600)
    proc.join()
    indices = sorted(i for a in answers for i in json.loads(a)["indices"])
    lat = sorted(latencies)
    return {
        "requests": len(bodies),
        "seconds": wall,
        "p50_ms": 1000 * lat[len(lat) // 2],
        "p99_ms": 1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))],
        "indices": indices,
    }


# -- servers ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """A ``cvid serve`` process on a free loopback port, stopped with SIGTERM."""

    def __init__(self, location: str) -> None:
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [CVID, "serve", location, "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v1/ledger", timeout=2)
                return
            except OSError:
                if self.proc.poll() is not None:
                    err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                    raise SystemExit(f"cvid serve exited: {err}") from None
                time.sleep(0.1)
        raise SystemExit("cvid serve did not come up in 60 s")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)


def _start_postgres(base: Path) -> str:
    """A throw-away cluster with fsync on (durability like SQLite's synchronous=FULL)."""
    import pg

    bindir = pg._find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL server binaries not found (Debian package postgresql)")
    import pwd

    user = pwd.getpwnam(pg.SUPERUSER)
    os.chown(base, user.pw_uid, user.pw_gid)
    data = base / "data"
    pg._run_as_server_user(
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            pg.SUPERUSER,
            "-A",
            "trust",
            "--locale=C",
            "-E",
            "UTF8",
        ]
    )
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"\nlisten_addresses = ''\nunix_socket_directories = '{base}'\nfsync = on\n"
            "synchronous_commit = on\nmax_connections = 100\n"
        )
    pg._run_as_server_user(
        [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "start"]
    )
    url = f"postgresql://{pg.SUPERUSER}@/postgres?host={base}"
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        db.execute("CREATE DATABASE bench TEMPLATE template0")
    return f"postgresql://{pg.SUPERUSER}@/bench?host={base}"


def _stop_postgres(base: Path) -> None:
    import pg

    bindir = pg._find_bindir()
    assert bindir is not None
    pg._run_as_server_user(
        [str(bindir / "pg_ctl"), "-D", str(base / "data"), "-m", "fast", "stop"], check=False
    )


# -- the parts --------------------------------------------------------------------------------


def submissions(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    from cvid.evidence import Ledger
    from cvid.tlog.note import Signer

    keys = {n: Signer.generate(n) for n in ("us-decl", "ru-decl", "us-decl2")}
    package = bench_ledger.make_package(root / "package", keys)
    lines = bench_ledger.make_records(2 * args.records, keys).splitlines()
    singles, batched = lines[: args.records], lines[args.records :]
    batches = [
        b"\n".join(batched[k : k + args.batch]) + b"\n" for k in range(0, len(batched), args.batch)
    ]
    inproc = bench_ledger.run_once(
        b"\n".join(batched) + b"\n", package, root / "inproc", args.batch, 2
    )
    out: dict[str, Any] = {"in_process_per_second": inproc["per_second"]}
    pg_base = Path(tempfile.mkdtemp(prefix="cvid-bench-pg-"))
    try:
        backends = {"sqlite": str(root / "sqlite-ledger"), "postgresql": _start_postgres(pg_base)}
        for name, location in backends.items():
            Ledger.create(location, package).close()
            served = Served(location)
            try:
                one = _drive(served.port, singles, "application/json", args.clients)
                many = _drive(served.port, batches, "application/jsonl", args.clients)
            finally:
                served.stop()
            with Ledger.open(location, readonly=True) as ledger:
                acknowledged = one["indices"] + many["indices"]
                assert sorted(acknowledged) == list(range(ledger.size)), "lost or duplicated"
                sample = random.Random(1).sample(range(len(singles)), 50)
                texts = {json.loads(singles[i])["signature"] for i in sample}
                found = {r.raw["signature"] for r in ledger.records_at(one["indices"])}
                assert texts <= found, "an acknowledged record is not in the ledger"
            out[name] = {
                "single": {
                    "records_per_second": len(singles) / one["seconds"],
                    "p50_ms": one["p50_ms"],
                    "p99_ms": one["p99_ms"],
                },
                "batch": {
                    "records_per_second": len(batched) / many["seconds"],
                    "p50_ms": many["p50_ms"],
                    "p99_ms": many["p99_ms"],
                    "vs_in_process": (len(batched) / many["seconds"]) / inproc["per_second"],
                },
            }
    finally:
        _stop_postgres(pg_base)
        shutil.rmtree(pg_base, ignore_errors=True)
    return out


def warm_status(args: argparse.Namespace) -> dict[str, Any]:
    large = bench_scale.WORK / f"ledger-{args.large}"
    bench_scale.build_large(large, args.large)
    served = Served(str(large))
    try:
        path = f"/v1/status?as_of={bench_scale.AS_OF}"

        first: list[float] = []

        async def run() -> list[float]:
            reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
            t = time.perf_counter()
            await _request(reader, writer, "GET", path)  # the first: computed, then kept
            first.append(time.perf_counter() - t)
            times = []
            for _ in range(args.status_requests):
                t = time.perf_counter()
                status, _ = await _request(reader, writer, "GET", path)
                times.append(time.perf_counter() - t)
                assert status == 200
            writer.close()
            return times

        times = sorted(asyncio.run(run()))
    finally:
        served.stop()
    return {
        "records": args.large,
        "first_ms": 1000 * first[0],
        "median_ms": 1000 * statistics.median(times),
        "p99_ms": 1000 * times[min(len(times) - 1, int(len(times) * 0.99))],
    }


def _wrk(url_base: str, paths: list[str], seconds: int) -> float:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(
        "paths = {" + ",".join(json.dumps(p) for p in paths) + "}\n"
        "i = 0\nrequest = function()\n i = i % #paths + 1\n"
        " return wrk.format('GET', paths[i])\nend\n"
    )
    got = subprocess.run(
        ["wrk", "-t", "1", "-c", "50", "-d", f"{seconds}s", "-s", str(script), url_base],
        capture_output=True,
        text=True,
        check=True,
    )
    script.unlink()
    if "Non-2xx" in got.stdout:
        raise SystemExit(f"{url_base} answered errors under wrk: {got.stdout}")
    for line in got.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise SystemExit(f"wrk said: {got.stdout}{got.stderr}")


def tiles(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    large = bench_scale.WORK / f"ledger-{args.large}"
    export = root / "tiles"
    subprocess.run(
        [CVID, "log", "export", str(large), str(export)], check=True, capture_output=True
    )
    paths = sorted(
        "/" + p.relative_to(export).as_posix()
        for p in export.rglob("*")
        if p.is_file() and ".p" not in p.relative_to(export).parts and p.name != "checkpoint"
    )
    sample = random.Random(2).sample(paths, min(2000, len(paths)))
    port = _free_port()
    conf = root / "nginx.conf"
    conf.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")  # workers must read the export
        + f"daemon off; worker_processes 1; pid {root}/nginx.pid; error_log {root}/nginx.err;\n"
        "events { worker_connections 1024; }\n"
        f"http {{ access_log off; server {{ listen 127.0.0.1:{port}; root {export}; }} }}\n"
    )
    nginx = subprocess.Popen(["nginx", "-c", str(conf)], stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        nginx_rps = _wrk(f"http://127.0.0.1:{port}", sample, args.tile_seconds)
    finally:
        nginx.terminate()
        nginx.wait(10)
    served = Served(str(large))
    try:
        cvid_rps = _wrk(
            f"http://127.0.0.1:{served.port}", [f"/v1/log{p}" for p in sample], args.tile_seconds
        )
    finally:
        served.stop()
    return {
        "tiles_sampled": len(sample),
        "nginx_per_second": nginx_rps,
        "cvid_serve_per_second": cvid_rps,
        "cvid_vs_nginx": cvid_rps / nginx_rps,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=20_000, help="records of each kind of run")
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--batch", type=int, default=1_000)
    ap.add_argument("--large", type=int, default=1_000_000, help="records of the large ledger")
    ap.add_argument("--status-requests", type=int, default=200)
    ap.add_argument("--tile-seconds", type=int, default=10)
    ap.add_argument("--parts", default="submissions,status,tiles", help="which parts to run")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    result: dict[str, Any] = {
        "machine": f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}",
        "load_average_before": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory(prefix="cvid-bench-service-") as tmp:
        root = Path(tmp)
        if "submissions" in parts:
            result["submissions"] = submissions(args, root)
        if "status" in parts:
            result["status"] = warm_status(args)
        if "tiles" in parts:
            result["tiles"] = tiles(args, root)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    if "submissions" in result:
        s = result["submissions"]
        print(
            f"in process (bench_ledger, batches of {args.batch:,}): "
            f"{s['in_process_per_second']:,.0f} records/s"
        )
        for name in ("sqlite", "postgresql"):
            for kind in ("single", "batch"):
                r = s[name][kind]
                extra = f", {r['vs_in_process']:.2f}x in-process" if kind == "batch" else ""
                print(
                    f"HTTP {name:10} {kind:6} {r['records_per_second']:>9,.0f} records/s  "
                    f"p50 {r['p50_ms']:.1f} ms  p99 {r['p99_ms']:.1f} ms{extra}"
                )
    if "status" in result:
        st = result["status"]
        print(
            f"GET /v1/status on {st['records']:,} records: first {st['first_ms']:.0f} ms, "
            f"then (kept per checkpoint) median {st['median_ms']:.1f} ms, p99 {st['p99_ms']:.1f} ms"
        )
    if "tiles" in result:
        t = result["tiles"]
        print(
            f"tiles: nginx {t['nginx_per_second']:,.0f}/s, cvid serve "
            f"{t['cvid_serve_per_second']:,.0f}/s ({t['cvid_vs_nginx']:.2f}x)"
        )


if __name__ == "__main__":
    main()
