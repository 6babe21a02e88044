"""Benchmark cvid's transparency log side by side with pymerkle 7.0.0, in one process.

Both sides hash the same entries the RFC 6962 / RFC 9162 way (SHA-256, leaf prefix 0x00, node
prefix 0x01: pymerkle's ``sha256`` with its security prefixes on, its default), so their roots
must be equal; every root and every proof is checked against an independent reference computed
here before any figure is reported.

What is measured (``--size N`` entries, default 1,000,000):

- bulk append: cvid ``Log.append`` in batches (entries and full tiles, one durable commit a
  batch) against pymerkle's ``SqliteTree.append_entries`` with the same batches (entries and
  leaf hashes) -- the fair comparison, both persist what their proofs read -- and against
  ``InmemoryTree`` (nothing persisted);
- inclusion and consistency proofs at size N: random proofs on a freshly opened log / tree,
  timed one by one, then verified with each side's own verifier;
- full verification: cvid ``verify_log`` (every tile and checkpoint recomputed from the
  entries) and ``audit`` of a ``tlog-tiles`` export, against pymerkle re-hashing every stored
  entry, comparing each stored leaf hash and recomputing the root with ``get_root``;
- durable acknowledged appends: 1,000 asyncio tasks each looping ``await Sequencer.append``
  (group commit) against pymerkle's ``SqliteTree.append_entry``, one transaction an entry
  (it has no group commit), measured on fewer entries and extrapolated at the measured rate.

Run: ``.venv/bin/python benchmarks/bench_log.py [--size N | --quick] [--json]``.
pymerkle is GPL-licensed and used here only as a peer to measure against; cvid never imports it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import hashlib
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pymerkle

from cvid.audit import TileSource, audit
from cvid.store import Log, Sequencer, export_tiles, verify_log
from cvid.tlog import merkle

SEED = 20180612  # the Singapore summit
ENTRY_SIZE = 64
ORIGIN = "bench.cvid.example/log"


# -- results ---------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the results table.

    ``cvid`` and ``peer`` are seconds (``unit="s"``) or events per second (``unit="/s"``).
    ``ratio`` is how many times better cvid is (peer time / cvid time, or cvid rate / peer rate).
    """

    metric: str
    unit: str
    cvid: float | None
    peer: float | None
    peer_name: str
    target: str = ""
    met: bool | None = None
    note: str = ""
    ratio: float | None = field(init=False)

    def __post_init__(self) -> None:
        if self.cvid is None or self.peer is None or not self.cvid or not self.peer:
            self.ratio = None
        elif self.unit == "/s":
            self.ratio = self.cvid / self.peer
        else:
            self.ratio = self.peer / self.cvid


@dataclass
class Results:
    """Everything a run produced: machine, parameters, rows and side facts."""

    machine: dict[str, Any]
    params: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


def machine_info(workdir: Path) -> dict[str, Any]:
    """CPU, cores, Python, SQLite and the file system the work files live on."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    fs = "unknown"
    try:
        best = ""
        for line in Path("/proc/mounts").read_text().splitlines():
            _dev, mnt, fstype, *_ = line.split()
            if str(workdir.resolve()).startswith(mnt) and len(mnt) > len(best):
                best, fs = mnt, f"{fstype} on {mnt}"
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "pymerkle": pymerkle.__version__,
        "platform": platform.platform(),
        "workdir_fs": fs,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def log(msg: str) -> None:
    """Progress on stderr, so that ``--json`` output stays clean."""
    print(f"[bench_log {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- reference -------------------------------------------------------------------------------


def make_entries(n: int, seed: int = SEED) -> list[bytes]:
    """``n`` random 64-byte entries from a fixed seed."""
    rng = random.Random(seed)
    return [rng.randbytes(ENTRY_SIZE) for _ in range(n)]


def reference_roots(entries: Sequence[bytes], sizes: set[int]) -> dict[int, bytes]:
    """RFC 6962 roots of the prefixes of ``entries`` of the given sizes, computed independently.

    A plain compact range (stack of perfect-subtree roots): shares no code with either side.
    """
    sha = hashlib.sha256
    stack: list[tuple[int, bytes]] = []
    out: dict[int, bytes] = {}
    if 0 in sizes:
        out[0] = sha(b"").digest()
    for count, entry in enumerate(entries, 1):
        h = sha(b"\x00" + entry).digest()
        height = 0
        while stack and stack[-1][0] == height:
            h = sha(b"\x01" + stack.pop()[1] + h).digest()
            height += 1
        stack.append((height, h))
        if count in sizes:
            acc = stack[-1][1]
            for _, left in reversed(stack[:-1]):
                acc = sha(b"\x01" + left + acc).digest()
            out[count] = acc
    return out


def timed_each(fn: Callable[[int], Any], args: Sequence[int]) -> tuple[list[Any], list[float]]:
    """Call ``fn`` on each argument, returning the results and the seconds each call took."""
    results: list[Any] = []
    times: list[float] = []
    clock = time.perf_counter
    for a in args:
        t0 = clock()
        results.append(fn(a))
        times.append(clock() - t0)
    return results, times


# -- the benchmark ---------------------------------------------------------------------------


class Bench:
    """Runs every measurement in order, in one work directory."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.size: int = args.size
        self.batch: int = args.batch
        self.n_proofs: int = min(args.proofs, self.size - 1)
        self.appenders: int = args.appenders
        self.repeat: int = args.repeat
        self.durable_total: int = args.durable_total
        self.peer_durable: int = min(args.peer_durable, self.durable_total)
        self.work = work
        self.res = Results(
            machine_info(work),
            {
                "size": self.size,
                "entry_bytes": ENTRY_SIZE,
                "seed": SEED,
                "batch": self.batch,
                "proofs": self.n_proofs,
                "appenders": self.appenders,
                "repeat": self.repeat,
                "durable_total": self.durable_total,
                "peer_durable_measured": self.peer_durable,
            },
        )
        rng = random.Random(SEED + 1)
        self.incl_idx = [rng.randrange(self.size) for _ in range(self.n_proofs)]
        self.cons_old = [rng.randrange(1, self.size) for _ in range(self.n_proofs)]
        self.cvid_dir = work / "cvid-log"
        self.peer_db = work / "pymerkle.db"

    def add(self, row: Row) -> None:
        self.res.rows.append(row)

    def run(self) -> Results:
        load1 = os.getloadavg()[0]
        if load1 > 0.5:
            log(f"warning: load average {load1:.2f} at start: other work will skew the figures")
        log(f"generating {self.size:,} entries of {ENTRY_SIZE} bytes (seed {SEED})")
        self.entries = make_entries(self.size)
        log("computing reference roots independently")
        self.roots = reference_roots(self.entries, {self.size, *self.cons_old})
        self.root = self.roots[self.size]
        self.bulk_append()
        self.proofs()
        self.full_verification()
        self.durable_appends()
        self.res.machine["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        return self.res

    # -- bulk append -------------------------------------------------------------------------

    def _batches(self) -> list[list[bytes]]:
        e, b = self.entries, self.batch
        return [e[i : i + b] for i in range(0, len(e), b)]

    def _bulk_cvid(self, directory: Path, batches: list[list[bytes]]) -> float:
        lg = Log.create(directory, ORIGIN)
        t0 = time.perf_counter()
        for b in batches:
            lg.append(b)
        t = time.perf_counter() - t0
        if lg.root() != self.root or lg.size != self.size:
            raise SystemExit("cvid: root after bulk append differs from the reference")
        lg.checkpoint()
        lg.close()
        return t

    def _bulk_peer(self, db: Path, batches: list[list[bytes]]) -> float:
        tree = pymerkle.SqliteTree(str(db), algorithm="sha256")
        t0 = time.perf_counter()
        for b in batches:
            tree.append_entries(b)
        t = time.perf_counter() - t0
        if tree.get_size() != self.size:
            raise SystemExit("pymerkle: size after bulk append is wrong")
        tree.close()
        return t

    def bulk_append(self) -> None:
        batches = self._batches()
        runs_cvid: list[float] = []
        runs_sql: list[float] = []
        for r in range(self.repeat):
            # Interleaved, so that a burst of outside load hits both sides alike; the first
            # run's log and database are kept for the proofs and verification that follow.
            suffix = "" if r == 0 else f"-{r}"
            log(
                f"bulk append {r + 1}/{self.repeat}: cvid Log over SQLite, "
                f"{len(batches)} commits of {self.batch:,}"
            )
            cdir = self.work / f"cvid-log{suffix}"
            runs_cvid.append(self._bulk_cvid(cdir, batches))
            log(f"bulk append {r + 1}/{self.repeat}: pymerkle SqliteTree.append_entries")
            pdb = self.work / f"pymerkle{suffix}.db"
            runs_sql.append(self._bulk_peer(pdb, batches))
            if r:
                shutil.rmtree(cdir)
                pdb.unlink()
        t_cvid, t_sql = statistics.median(runs_cvid), statistics.median(runs_sql)
        self.res.details["bulk_runs_s"] = {"cvid": runs_cvid, "pymerkle_sqlite": runs_sql}

        log("bulk append: pymerkle InmemoryTree.append_entries, same batches")
        mem = pymerkle.InmemoryTree(algorithm="sha256")
        t0 = time.perf_counter()
        for b in batches:
            mem.append_entries(b)
        t_mem = time.perf_counter() - t0
        if mem.get_root() != self.root:
            raise SystemExit("pymerkle InmemoryTree: root differs from the reference")
        self.mem: pymerkle.InmemoryTree | None = mem

        n = f"{self.size:,}"
        self.add(
            Row(
                f"bulk append {n} (persisted)",
                "s",
                t_cvid,
                t_sql,
                "SqliteTree",
                "≥ 1×",
                t_cvid <= t_sql,
                f"median of {self.repeat} interleaved runs; the fair comparison: both durable, "
                "both persist the hashes their proofs read (cvid: full tiles; pymerkle: leaf "
                "hashes)",
            )
        )
        self.add(
            Row(
                f"bulk append {n} (peer in RAM)",
                "s",
                t_cvid,
                t_mem,
                "InmemoryTree",
                note="pymerkle persists nothing here; for reference only",
            )
        )
        self.res.details["bulk_appends_per_s"] = {
            "cvid": self.size / t_cvid,
            "pymerkle_sqlite": self.size / t_sql,
            "pymerkle_inmemory": self.size / t_mem,
        }
        self.res.details["db_bytes"] = {
            "cvid": (self.cvid_dir / "log.db").stat().st_size,
            "pymerkle_sqlite": self.peer_db.stat().st_size,
        }

    # -- proofs ------------------------------------------------------------------------------

    def _proof_passes(
        self, opener: Callable[[], Any], make: Callable[[Any, int], Any], args: Sequence[int]
    ) -> tuple[list[Any], list[float], list[float]]:
        """Open a fresh log or tree, time ``make(handle, a)`` for every ``a``, then again.

        The first pass starts cold, as a newly started process would; the second repeats the
        same proofs, so any cache the side keeps holds exactly what they need.
        """
        handle = opener()
        try:
            proofs, cold = timed_each(lambda a: make(handle, a), args)
            again, warm = timed_each(lambda a: make(handle, a), args)
        finally:
            handle.close()
        for p1, p2 in zip(proofs, again, strict=True):
            if (p1 if isinstance(p1, list) else p1.path) != (
                p2 if isinstance(p2, list) else p2.path
            ):
                raise SystemExit("a repeated proof differs from the first one")
        return proofs, cold, warm

    def proofs(self) -> None:
        size, n = self.size, self.n_proofs
        entries = self.entries
        log(f"proofs: {n:,} inclusion and {n:,} consistency proofs at size {size:,}, each side")
        mem = self.mem
        assert mem is not None

        def cvid_open() -> Log:
            return Log.open(self.cvid_dir)

        def peer_open() -> pymerkle.SqliteTree:
            return pymerkle.SqliteTree(str(self.peer_db), algorithm="sha256")

        inc, con = self.incl_idx, self.cons_old
        c_inc, c_inc_t, c_inc_w = self._proof_passes(
            cvid_open, lambda h, i: h.inclusion_proof(i), inc
        )
        c_con, c_con_t, c_con_w = self._proof_passes(
            cvid_open, lambda h, m: h.consistency_proof(m), con
        )
        p_inc, p_inc_t, p_inc_w = self._proof_passes(
            peer_open, lambda h, i: h.prove_inclusion(i + 1), inc
        )
        p_con, p_con_t, p_con_w = self._proof_passes(
            peer_open, lambda h, m: h.prove_consistency(m), con
        )
        m_inc, m_inc_t = timed_each(lambda i: mem.prove_inclusion(i + 1), inc)
        m_con, m_con_t = timed_each(lambda m: mem.prove_consistency(m), con)

        log("proofs: verifying every proof each side produced")
        root = self.root
        t0 = time.perf_counter()
        for i, proof in zip(inc, c_inc, strict=True):
            merkle.verify_inclusion(i, size, merkle.leaf_hash(entries[i]), proof, root)
        c_vinc = (time.perf_counter() - t0) / n
        t0 = time.perf_counter()
        for i, pp in zip(inc, p_inc, strict=True):
            base = hashlib.sha256(b"\x00" + entries[i]).digest()
            pymerkle.verify_inclusion(base, root, pp, index=i + 1, size=size, algorithm="sha256")
        p_vinc = (time.perf_counter() - t0) / n
        for i, pp, cp, mp in zip(inc, p_inc, c_inc, m_inc, strict=True):
            # RFC 6962 audit paths: pymerkle's path is the leaf hash then the same siblings.
            if pp.path[1:] != cp or mp.path != pp.path:
                raise SystemExit(f"inclusion proofs of entry {i} differ between the two sides")
        t0 = time.perf_counter()
        for m, proof in zip(con, c_con, strict=True):
            merkle.verify_consistency(m, size, self.roots[m], root, proof)
        c_vcon = (time.perf_counter() - t0) / n
        t0 = time.perf_counter()
        for m, pp in zip(con, p_con, strict=True):
            pymerkle.verify_consistency(
                self.roots[m], root, pp, prior_size=m, later_size=size, algorithm="sha256"
            )
        p_vcon = (time.perf_counter() - t0) / n
        for m, mp in zip(con, m_con, strict=True):
            pymerkle.verify_consistency(self.roots[m], root, mp, prior_size=m, later_size=size)
        # Free the in-memory tree (millions of node objects) before the next measurements.
        self.mem = None
        del m_inc, m_con
        gc.collect()

        mean, med = statistics.fmean, statistics.median
        for kind, c_t, c_w, p_t, p_w, m_t in (
            ("inclusion", c_inc_t, c_inc_w, p_inc_t, p_inc_w, m_inc_t),
            ("consistency", c_con_t, c_con_w, p_con_t, p_con_w, m_con_t),
        ):
            self.add(
                Row(
                    f"{kind} proof, mean of {n:,} from open",
                    "s",
                    mean(c_t),
                    mean(p_t),
                    "SqliteTree",
                    "≥ 10×",
                    mean(p_t) >= 10 * mean(c_t),
                    "random proofs on a freshly opened log / tree; pymerkle's figure includes "
                    "filling its subroot cache",
                )
            )
            self.add(
                Row(
                    f"{kind} proof, median from open",
                    "s",
                    med(c_t),
                    med(p_t),
                    "SqliteTree",
                    "≥ 10×",
                    med(p_t) >= 10 * med(c_t),
                )
            )
            self.add(
                Row(
                    f"{kind} proof, same {n:,} repeated",
                    "s",
                    mean(c_w),
                    mean(p_w),
                    "SqliteTree",
                    "≥ 10×",
                    mean(p_w) >= 10 * mean(c_w),
                    "second pass over the same proofs: pymerkle's cache holds every subroot of "
                    "128+ leaves they need (its best case); cvid keeps no cache",
                )
            )
            self.add(
                Row(
                    f"{kind} proof, first after open",
                    "s",
                    c_t[0],
                    p_t[0],
                    "SqliteTree",
                    note="pymerkle computes its subroots from the stored leaf hashes",
                )
            )
            self.add(
                Row(
                    f"{kind} proof, mean (peer in RAM)",
                    "s",
                    mean(c_t),
                    mean(m_t),
                    "InmemoryTree",
                    note="pymerkle walks its node objects in RAM; for reference only",
                )
            )
        self.res.details["proof_verify_s"] = {
            "cvid_inclusion": c_vinc,
            "pymerkle_inclusion": p_vinc,
            "cvid_consistency": c_vcon,
            "pymerkle_consistency": p_vcon,
        }
        self.res.details["proof_percentiles_s"] = {
            name: {
                "p90": statistics.quantiles(t, n=10)[-1] if len(t) > 1 else t[0],
                "max": max(t),
            }
            for name, t in (
                ("cvid_inclusion", c_inc_t),
                ("pymerkle_inclusion", p_inc_t),
                ("cvid_consistency", c_con_t),
                ("pymerkle_consistency", p_con_t),
            )
        }

    # -- full verification -------------------------------------------------------------------

    def full_verification(self) -> None:
        log("full verification: cvid verify_log")
        lg = Log.open(self.cvid_dir)
        t0 = time.perf_counter()
        problems = verify_log(lg)
        t_fsck = time.perf_counter() - t0
        if problems:
            raise SystemExit(f"cvid verify_log found problems: {problems[:3]}")

        log("full verification: cvid export_tiles, then audit of the export")
        out = self.work / "tiles"
        t0 = time.perf_counter()
        counts = export_tiles(lg, out)
        t_export = time.perf_counter() - t0
        verifier = lg.verifier
        lg.close()
        src = TileSource(str(out))
        t0 = time.perf_counter()
        report = audit(src, verifier)
        t_audit = time.perf_counter() - t0
        src.close()
        if not report.ok or report.entries != self.size or report.checkpoint.root != self.root:
            raise SystemExit(f"cvid audit failed: {report.problems[:3]}")

        log("full verification: pymerkle re-hash of every stored entry, then get_root")
        t_peer = self._peer_verify()

        self.add(
            Row(
                f"full verification {self.size:,} (store)",
                "s",
                t_fsck,
                t_peer,
                "SqliteTree",
                "≤ 5 s",
                t_fsck <= 5.0,
                "cvid verify_log: every tile and checkpoint; pymerkle: every leaf hash + root",
            )
        )
        self.add(
            Row(
                f"full audit {self.size:,} (tiles export)",
                "s",
                t_audit,
                t_peer,
                "SqliteTree",
                "≤ 5 s",
                t_audit <= 5.0,
                "cvid audit() of tlog-tiles files; pymerkle has no export, same figure",
            )
        )
        self.res.details["export_tiles"] = {"seconds": t_export, **counts}

    def _peer_verify(self) -> float:
        """pymerkle's nearest equivalent of a full audit, timed.

        pymerkle has no verification of its store: re-hash every stored entry with the tree's
        own ``hash_buff``, compare with the stored leaf hash, then recompute the root from the
        (now verified) leaf hashes with ``get_root`` on a freshly opened tree (empty subroot
        cache) and compare with the published root. Entries are read with one SQL query on the
        tree's database (pymerkle's own ``get_entry`` reads one row a call, much slower).
        """
        t0 = time.perf_counter()
        tree = pymerkle.SqliteTree(str(self.peer_db), algorithm="sha256")
        con = sqlite3.connect(self.peer_db)
        rows = con.execute("SELECT id, entry, hash FROM leaf ORDER BY id").fetchall()
        con.close()
        hash_buff = tree.hash_buff
        bad = [i for i, (idx, e, h) in enumerate(rows, 1) if idx != i or hash_buff(e) != h]
        root = tree.get_root()
        t = time.perf_counter() - t0
        tree.close()
        if bad or len(rows) != self.size or root != self.root:
            raise SystemExit("pymerkle verification failed on an intact tree")
        return t

    # -- durable acknowledged appends --------------------------------------------------------

    def _durable_cvid(self, directory: Path, entries: Sequence[bytes]) -> tuple[float, int]:
        """``self.appenders`` asyncio tasks share ``entries``, each awaiting durability."""
        total = len(entries)
        lg = Log.create(directory, ORIGIN)
        acked: list[int] = []

        async def main(seq: Sequencer) -> None:
            todo = iter(range(total))

            async def appender() -> None:
                for i in todo:
                    acked.append(await seq.append(entries[i]))

            await asyncio.gather(*(appender() for _ in range(self.appenders)))

        with Sequencer(lg) as seq:
            t0 = time.perf_counter()
            asyncio.run(main(seq))
            t = time.perf_counter() - t0
            batches = seq.batches
        lg.close()
        lg = Log.open(directory)
        if sorted(acked) != list(range(total)) or lg.size != total:
            raise SystemExit("cvid: acknowledged indices or durable size are wrong")
        lg.close()
        shutil.rmtree(directory)
        return t, batches

    def _durable_peer(self, db: Path, entries: Sequence[bytes]) -> tuple[float, Any, Any]:
        """pymerkle's ``append_entry``: one transaction (and its fsyncs) an entry."""
        tree = pymerkle.SqliteTree(str(db), algorithm="sha256")
        sync = tree.con.execute("PRAGMA synchronous").fetchone()
        journal = tree.con.execute("PRAGMA journal_mode").fetchone()
        append_entry = tree.append_entry
        t0 = time.perf_counter()
        for e in entries:
            append_entry(e)
        t = time.perf_counter() - t0
        if tree.get_size() != len(entries):
            raise SystemExit("pymerkle: durable append size is wrong")
        tree.close()
        db.unlink()
        return t, sync, journal

    def durable_appends(self) -> None:
        total, k = self.durable_total, self.appenders
        entries = self.entries
        if total > len(entries):
            entries = entries + make_entries(total - len(entries), SEED + 2)
        m = self.peer_durable
        runs_cvid: list[float] = []
        runs_peer: list[float] = []
        commits: list[int] = []
        for r in range(self.repeat):
            log(
                f"durable appends {r + 1}/{self.repeat}: cvid Sequencer, {k:,} asyncio "
                f"appenders, {total:,} entries"
            )
            t, batches = self._durable_cvid(self.work / f"cvid-seq-{r}", entries[:total])
            runs_cvid.append(t)
            commits.append(batches)
            log(
                f"durable appends {r + 1}/{self.repeat}: pymerkle SqliteTree.append_entry, "
                f"{m:,} one-entry transactions"
            )
            t, sync, journal = self._durable_peer(
                self.work / f"pymerkle-durable-{r}.db", entries[:m]
            )
            runs_peer.append(t)
        t_cvid, t_peer = statistics.median(runs_cvid), statistics.median(runs_peer)

        rate_cvid, rate_peer = total / t_cvid, m / t_peer
        self.add(
            Row(
                f"durable acked appends, {k:,} appenders",
                "/s",
                rate_cvid,
                rate_peer,
                "SqliteTree",
                "≥ 10,000/s",
                rate_cvid >= 10_000,
                f"median of {self.repeat} runs; cvid: {total:,} entries a run, in "
                f"{min(commits):,}-{max(commits):,} group commits; pymerkle: one commit an entry, "
                f"{m:,} measured sequentially"
                + (f", rate extrapolated to {total:,}" if m < total else ""),
            )
        )
        self.res.details["durable"] = {
            "cvid_runs_seconds": runs_cvid,
            "cvid_runs_commits": commits,
            "pymerkle_runs_seconds": runs_peer,
            "cvid_seconds": t_cvid,
            "cvid_entries": total,
            "pymerkle_seconds_measured": t_peer,
            "pymerkle_entries_measured": m,
            "pymerkle_seconds_extrapolated": total / rate_peer,
            "pymerkle_sqlite_synchronous": sync,
            "pymerkle_sqlite_journal_mode": journal,
        }


# -- output ----------------------------------------------------------------------------------


def fmt_value(v: float | None, unit: str) -> str:
    """A human figure: per-second rates with separators, times in s / ms / µs."""
    if v is None:
        return "—"
    if unit == "/s":
        return f"{v:,.0f}/s"
    if v >= 1:
        return f"{v:.2f} s"
    if v >= 1e-3:
        return f"{v * 1e3:.2f} ms"
    return f"{v * 1e6:.0f} µs"


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "—"
    return f"{r:.1f}×" if r >= 1 else f"{r:.2f}×"


def table_rows(res: Results) -> list[list[str]]:
    out = []
    for r in res.rows:
        met = "" if r.met is None else ("yes" if r.met else "NO")
        out.append(
            [
                r.metric,
                fmt_value(r.cvid, r.unit),
                fmt_value(r.peer, r.unit),
                r.peer_name,
                fmt_ratio(r.ratio),
                r.target,
                met,
            ]
        )
    return out


HEADERS = ["measure", "cvid", "pymerkle", "pymerkle tree", "cvid ×", "target", "met"]


def print_table(res: Results, markdown: bool) -> None:
    rows = table_rows(res)
    m = res.machine
    head = (
        f"{res.params['size']:,} entries of {ENTRY_SIZE} B · {m['nproc']} cores {m['cpu']} · "
        f"Python {m['python']} · SQLite {m['sqlite']} · {m['workdir_fs']} · {m['date']} · "
        f"load {m['loadavg_at_start'][0]:.2f} → {m.get('loadavg_at_end', ['?'])[0]}"
    )
    if markdown:
        print(head + "\n")
        print("| " + " | ".join(HEADERS) + " |")
        print("|" + "---|" * len(HEADERS))
        for row in rows:
            print("| " + " | ".join(row) + " |")
        print()
        for r in res.rows:
            if r.note:
                print(f"- {r.metric}: {r.note}")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="cvid log vs pymerkle", caption=head)
    for h in HEADERS:
        left = h in ("measure", "pymerkle tree", "target")
        table.add_column(h, justify="left" if left else "right", no_wrap=h == "measure")
    for row in rows:
        table.add_row(*row)
    console = Console(width=max(Console().width, 132))
    console.print(table)
    for r in res.rows:
        if r.note:
            console.print(f"[dim]· {r.metric}: {r.note}[/dim]")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--size", type=int, default=1_000_000, help="entries (default 1,000,000)")
    p.add_argument("--quick", action="store_true", help="10,000-entry smoke run")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument("--batch", type=int, default=10_000, help="entries a bulk commit (10,000)")
    p.add_argument("--proofs", type=int, default=1_000, help="proofs of each kind (1,000)")
    p.add_argument("--appenders", type=int, default=1_000, help="concurrent appenders (1,000)")
    p.add_argument(
        "--durable-total", type=int, default=None, help="durable appends (default min(N, 100k))"
    )
    p.add_argument(
        "--peer-durable",
        type=int,
        default=10_000,
        help="pymerkle one-commit-an-entry appends actually measured (10,000)",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of the bulk and durable appends, interleaved; the median is reported (3)",
    )
    p.add_argument("--save-json", type=Path, default=None, help="also write the JSON here")
    p.add_argument("--workdir", type=Path, default=None, help="parent of the temp work dir")
    args = p.parse_args(argv)
    if args.quick:
        args.size = 10_000
        args.proofs = min(args.proofs, 200)
        args.peer_durable = min(args.peer_durable, 1_000)
    if args.size < 2:
        p.error("--size must be at least 2")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if args.durable_total is None:
        args.durable_total = min(args.size, 100_000)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cvid-bench-log-", dir=args.workdir) as tmp:
        res = Bench(args, Path(tmp)).run()
    doc = {
        "machine": res.machine,
        "params": res.params,
        "rows": [asdict(r) for r in res.rows],
        "details": res.details,
    }
    if args.save_json is not None:
        args.save_json.write_text(json.dumps(doc, indent=2, default=repr) + "\n")
    if args.json:
        json.dump(doc, sys.stdout, indent=2, default=repr)
        print()
    else:
        print_table(res, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
