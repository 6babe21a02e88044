"""Faults: SIGKILL during submissions, and a full disk; after each, check what cvid promised.

Promises checked after every round:

- **acknowledged means stored**: every record whose receipt file exists (``cvid submit
  --receipts``) or whose POST got a 2xx (``cvid serve``) is in the ledger at the index it was
  given, with the same bytes, and its receipt verifies against the ledger's log key;
- **all or nothing**: each batch is in the ledger whole or not at all;
- **what the command said was true**: a record the command printed as admitted is in the
  ledger; a command that exited 2 ("nothing was changed") changed nothing; exit 1 after a
  commit names the records admitted whose receipt could not be written;
- **the ledger verifies**: ``cvid ledger verify`` exits 0.

Run ``python tests/faults/faults_driver.py --help``; ``scripts/faults.sh`` runs the full set,
``tests/faults/`` a short one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CVID = [sys.executable, "-m", "cvid.cli.main"]


@dataclass
class Figures:
    """What a run did and found."""

    rounds: int = 0
    kills: int = 0
    finished: int = 0
    submitted: int = 0
    acknowledged: int = 0
    submit_kills: int = 0
    serve_kills: int = 0
    killed_after_commit: int = 0
    lost: int = 0
    disk_full_rounds: int = 0
    refused_full: int = 0
    admitted_receipt_failed: int = 0
    verify_runs: int = 0
    serve_full_rounds: int = 0
    serve_full_posts: int = 0
    serve_full_refused: int = 0
    serve_full_admitted: int = 0
    serve_full_no_receipt: int = 0
    serve_full_other: int = 0
    pg_full_rounds: int = 0
    pg_server_restarts: int = 0
    failures: list[str] = field(default_factory=list)

    def fail(self, text: str) -> None:
        self.failures.append(text)

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["failures"] = list(self.failures)
        return out


def run(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CVID, *map(str, args)], capture_output=True, text=True, timeout=timeout, check=False
    )


class World:
    """A ledger for a small New START package and a key that may sign declarations."""

    def __init__(self, base: Path) -> None:
        from cvid.keyfiles import write_signer
        from cvid.tlog.note import Signer

        self.base = base
        self.signer = Signer.generate("us-decl")
        write_signer(self.signer, base / "us.key")
        package = base / "package"
        package.mkdir(parents=True, exist_ok=True)
        doc = {
            "id": "new-start",
            "title": "New START",
            "parties": [
                {"id": "US", "name": "United States", "roles": ["inspected_party"]},
            ],
            "keys": [{"party": "US", "vkey": self.signer.verifier.vkey, "kinds": ["declaration"]}],
            "terms": [{"id": "warheads", "limit": 1550}],
        }
        (package / "agreement.yaml").write_text(json.dumps(doc))
        self.package = package
        self.count = 0

    def make_ledger(self, where: Path | str) -> Path | str:
        """A new ledger in the directory ``where``, or in the PostgreSQL database at that URL."""
        got = run("ledger", "init", where, "--agreement", self.package)
        if got.returncode != 0:
            raise RuntimeError(f"ledger init failed: {got.stderr}")
        return where

    def records(self, n: int) -> list[dict[str, Any]]:
        from cvid.evidence import Kind, sign_record
        from cvid.evidence.templates import template

        out = []
        for _ in range(n):
            self.count += 1
            obj = template(Kind.DECLARATION, datetime.now(UTC))
            obj["summary"] = f"fault injection record {self.count} {random.random()}"
            out.append(sign_record(obj, self.signer))
        return out


def entry_of(record: dict[str, Any]) -> bytes:
    from cvid.evidence.signing import canonical

    return canonical(record)


class LedgerView:
    """The ledger's entries and log key, read after a round (nothing written)."""

    def __init__(self, ledger: Path | str) -> None:
        from cvid.store.location import open_driver
        from cvid.store.log import log_verifier, open_store
        from cvid.store.sqlbase import SqlDriver

        driver: SqlDriver
        if isinstance(ledger, str):  # a PostgreSQL URL
            driver = open_driver(ledger, readonly=True)
            self.verifier = log_verifier(driver, "the ledger")
        else:
            driver, self.verifier = open_store(ledger, readonly=True)
        try:
            self.entries = driver.read_entries(0, driver.size())
        finally:
            driver.close()
        self.index = {e: i for i, e in enumerate(self.entries)}

    def has(self, record: dict[str, Any]) -> int | None:
        return self.index.get(entry_of(record))

    def receipt_ok(self, text: str, entry: bytes) -> bool:
        from cvid.errors import Error
        from cvid.tlog.receipt import Receipt, verify_receipt

        try:
            verify_receipt(Receipt.parse(text.encode()), entry, self.verifier)
        except Error:
            return False
        return True


def check_batch(
    figs: Figures, view: LedgerView, batch: list[dict[str, Any]], where: str
) -> list[int | None]:
    """All or nothing: the batch's records all stored, or none."""
    found = [view.has(r) for r in batch]
    if any(i is None for i in found) and any(i is not None for i in found):
        figs.fail(f"{where}: batch partly stored: {found}")
    return found


def verify(figs: Figures, ledger: Path | str, where: str) -> None:
    figs.verify_runs += 1
    got = run("ledger", "verify", ledger)
    if got.returncode != 0:
        figs.fail(f"{where}: cvid ledger verify exited {got.returncode}: {got.stdout}{got.stderr}")


def admitted_lines(stdout: str) -> dict[int, str]:
    """``admitted record N  receipt PATH`` lines: index to what followed."""
    out = {}
    for line in stdout.splitlines():
        if line.startswith("admitted record "):
            words = line.split(None, 3)
            out[int(words[2])] = words[3] if len(words) > 3 else ""
    return out


def check_submit(
    figs: Figures,
    view: LedgerView,
    batch: list[dict[str, Any]],
    receipts: Path,
    stdout: str,
    rc: int | None,
    size_before: int,
    where: str,
) -> None:
    """The promises of one ``cvid submit --receipts`` (rc None: killed)."""
    found = check_batch(figs, view, batch, where)
    by_entry = {entry_of(r): r for r in batch}
    for path in sorted(receipts.glob("*.tlog-proof")):
        index = int(path.name.split(".")[0])
        figs.acknowledged += 1
        entry = view.entries[index] if index < len(view.entries) else None
        if entry is None or entry not in by_entry:
            figs.lost += 1
            figs.fail(f"{where}: receipt {path.name} acknowledged, but entry {index} is not ours")
        elif not view.receipt_ok(path.read_text(), entry):
            figs.fail(f"{where}: receipt {path.name} does not verify")
    leftovers = [p.name for p in receipts.glob(".*.part")]
    if leftovers and rc is not None:
        figs.fail(f"{where}: temporary receipt files left by a command that finished: {leftovers}")
    said = admitted_lines(stdout)
    for index, rest in said.items():
        if index >= len(view.entries) or view.entries[index] not in by_entry:
            figs.lost += 1
            figs.fail(f"{where}: printed 'admitted record {index}' but it is not in the ledger")
        if "NOT written" in rest and rc != 1:
            figs.fail(f"{where}: a receipt not written, yet exit {rc}")
    stored = [i for i in found if i is not None]
    if rc == 0 and len(stored) != len(batch):
        figs.fail(f"{where}: exit 0 but {len(batch) - len(stored)} records are not stored")
    if rc == 0 and set(said) != set(stored):
        figs.fail(f"{where}: exit 0 but printed {sorted(said)}, stored {stored}")
    if rc == 2 and (stored or len(view.entries) != size_before):
        figs.fail(f"{where}: exit 2 ('nothing was changed') but records {stored} were stored")
    if rc == 1 and not (stored and "receipt" in stdout):
        figs.fail(f"{where}: exit 1 without admitted records whose receipts failed: {stdout}")
    if rc is None and stored:
        figs.killed_after_commit += 1


def kill_rounds(
    figs: Figures, world: World, ledger: Path | str, rounds: int, rng: random.Random, work: Path
) -> None:
    """``cvid submit`` of 1-5 records, SIGKILLed at a random moment (or left to finish)."""
    span = 1.0
    for r in range(rounds):
        where = f"kill round {r}"
        batch = world.records(rng.randint(1, 5))
        src = work / f"batch-{r}.jsonl"
        src.write_text("".join(json.dumps(x) + "\n" for x in batch))
        receipts = work / f"receipts-{r}"
        before = len(LedgerView(ledger).entries)
        start = time.monotonic()
        proc = subprocess.Popen(
            [*CVID, "submit", str(ledger), str(src), "--receipts", str(receipts)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Round 0 runs to the end: how long a submission takes here, so that the kills of
        # later rounds fall anywhere in its run (about one in ten finishes).
        # Half the kills fall anywhere, half near the end, where the commit and the receipts are.
        if r == 0:
            delay = 600.0
        elif r % 2:
            delay = rng.uniform(0, span * 1.1)
        else:
            delay = rng.uniform(span * 0.7, span * 1.05)
        try:
            out, _ = proc.communicate(timeout=delay)
            rc: int | None = proc.returncode
            figs.finished += 1
            took = time.monotonic() - start
            span = took if r == 0 else 0.8 * span + 0.2 * took
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            out, _ = proc.communicate()
            rc = None
            figs.kills += 1
            figs.submit_kills += 1
        figs.rounds += 1
        figs.submitted += len(batch)
        receipts.mkdir(exist_ok=True)
        view = LedgerView(ledger)
        check_submit(figs, view, batch, receipts, out, rc, before, where)
        if rc is not None and rc != 0:
            figs.fail(f"{where}: cvid submit exited {rc} on a healthy disk: {out}")
        if r % 10 == 9 or r == rounds - 1:
            verify(figs, ledger, where)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_rounds(
    figs: Figures, world: World, ledger: Path | str, rounds: int, rng: random.Random
) -> None:
    """A ``cvid serve`` writer receiving POSTs, SIGKILLed at a random moment."""
    import httpx

    for r in range(rounds):
        where = f"serve round {r}"
        proc, base = start_serve(ledger)
        url = f"{base}/v1/records"
        acked: list[tuple[list[dict[str, Any]], list[int]]] = []
        sent: list[list[dict[str, Any]]] = []
        kill_at = time.monotonic() + rng.uniform(0.05, 1.5)
        killed = False
        with httpx.Client(timeout=10) as client:
            while time.monotonic() < kill_at + 0.5:
                batch = world.records(rng.randint(1, 3))
                sent.append(batch)
                body = "".join(json.dumps(x) + "\n" for x in batch)
                if time.monotonic() >= kill_at and not killed:
                    proc.send_signal(signal.SIGKILL)
                    killed = True
                try:
                    resp = client.post(
                        url, content=body, headers={"Content-Type": "application/jsonl"}
                    )
                except httpx.HTTPError:
                    break
                if 200 <= resp.status_code < 300:
                    acked.append((batch, list(resp.json()["indices"])))
                elif not killed:
                    figs.fail(f"{where}: HTTP {resp.status_code}: {resp.text[:200]}")
        if not killed:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        figs.kills += 1
        figs.serve_kills += 1
        figs.rounds += 1
        figs.submitted += sum(len(b) for b in sent)
        view = LedgerView(ledger)
        for batch in sent:
            check_batch(figs, view, batch, where)
        for batch, indices in acked:
            for record, index in zip(batch, indices, strict=True):
                figs.acknowledged += 1
                if view.has(record) != index:
                    figs.lost += 1
                    figs.fail(
                        f"{where}: POST acknowledged index {index}, ledger has {view.has(record)}"
                    )
        if r % 5 == 4 or r == rounds - 1:
            verify(figs, ledger, where)


# -- disk full -----------------------------------------------------------------------------------


@contextlib.contextmanager
def small_filesystem(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``where`` (root only), unmounted after."""
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def can_mount() -> str | None:
    """None if this process may mount a tmpfs; otherwise why not."""
    if os.geteuid() != 0:
        return "mounting a small tmpfs for the disk-full run needs root (this process is not)"
    probe = Path(tempfile.mkdtemp(prefix="cvid-faults-probe-"))
    try:
        got = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
            capture_output=True,
            text=True,
            check=False,
        )
        if got.returncode != 0:
            return f"mount -t tmpfs is refused here: {got.stderr.strip()}"
        subprocess.run(["umount", str(probe)], check=False)
        return None
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()


def fill(directory: Path, leave: int) -> Path:
    """Fill the filesystem of ``directory`` but ``leave`` bytes (about: tmpfs counts pages)."""
    filler = directory / "filler"
    # Unbuffered: a buffer left when the disk filled would fail again when the file closes.
    with filler.open("wb", buffering=0) as fh:
        chunk = b"\0" * 65536
        with contextlib.suppress(OSError):
            while True:
                fh.write(chunk)
                fh.flush()
    if leave:
        with filler.open("r+b") as fh:
            fh.truncate(max(0, filler.stat().st_size - leave))
    return filler


def disk_full_rounds(
    figs: Figures, world: World, rounds: int, rng: random.Random, work: Path
) -> None:
    """Submissions on a filesystem filled to a random few KiB of space, then full."""
    with (
        small_filesystem(work / "small", "4m") as fs,
        small_filesystem(work / "tiny", "64k") as tiny,
    ):
        ledger = world.make_ledger(fs / "ledger")
        for r in range(rounds):
            where = f"disk-full round {r}"
            # Some rounds write receipts on a second, full filesystem, with room for the
            # commit on the first: the records are admitted and their receipts cannot be written.
            on_tiny = r % 3 == 2
            if on_tiny:
                leave = 262144
            else:
                leave = 0 if r == 0 else rng.choice([0, 4096, 16384, 65536, rng.randint(0, 131072)])
            filler = fill(fs, leave)
            receipts = (tiny if on_tiny else fs) / f"receipts-{r}"
            if on_tiny:
                fill(tiny, 0)
            batch = world.records(rng.randint(1, 4))
            src = work / f"full-{r}.jsonl"
            src.write_text("".join(json.dumps(x) + "\n" for x in batch))
            before = len(LedgerView(ledger).entries)
            got = run("submit", ledger, src, "--receipts", receipts)
            figs.rounds += 1
            figs.disk_full_rounds += 1
            figs.submitted += len(batch)
            if "Traceback" in got.stderr:
                figs.fail(f"{where}: traceback: {got.stderr[-500:]}")
            with contextlib.suppress(FileNotFoundError):
                receipts.mkdir(exist_ok=True)
            view = LedgerView(ledger)
            if receipts.is_dir():
                check_submit(figs, view, batch, receipts, got.stdout, got.returncode, before, where)
            if got.returncode == 2:
                figs.refused_full += 1
                if "error" not in got.stderr:
                    figs.fail(f"{where}: exit 2 without an error: {got.stderr}")
            elif got.returncode == 1:
                figs.admitted_receipt_failed += 1
            elif got.returncode != 0:
                figs.fail(f"{where}: exit {got.returncode}: {got.stderr}")
            verify(figs, ledger, where)  # on the full disk: a check needs no space
            filler.unlink()
            for p in tiny.glob("filler"):
                p.unlink()
        verify(figs, ledger, "disk-full, space freed")
        # After the disk had space again, the ledger takes records.
        batch = world.records(2)
        src = work / "after.jsonl"
        src.write_text("".join(json.dumps(x) + "\n" for x in batch))
        receipts = fs / "receipts-after"
        before = len(LedgerView(ledger).entries)
        got = run("submit", ledger, src, "--receipts", receipts)
        if got.returncode != 0:
            figs.fail(f"after the disk-full rounds: submit exited {got.returncode}: {got.stderr}")
        check_submit(
            figs, LedgerView(ledger), batch, receipts, got.stdout, got.returncode, before, "after"
        )


def start_serve(ledger: Path | str) -> tuple[subprocess.Popen[bytes], str]:
    """``cvid serve LEDGER`` on a free port, answering: the process and its base URL."""
    import httpx

    port = free_port()
    proc = subprocess.Popen(
        [*CVID, "serve", str(ledger), "--port", str(port), "--log-level", "critical"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"{base}/v1/ledger", timeout=1)
            break
        time.sleep(0.1)
    return proc, base


def check_post(
    figs: Figures,
    view: LedgerView,
    batch: list[dict[str, Any]],
    status: int,
    doc: dict[str, Any],
    where: str,
    full: bool = True,
) -> None:
    """The promises of one answered POST on a (perhaps) full disk, against the ledger after
    (``full``: counted in the disk-full figures)."""
    found = check_batch(figs, view, batch, where)
    stored = [i for i in found if i is not None]
    if 200 <= status < 300:
        figs.serve_full_admitted += full
        indices = list(doc.get("indices", []))
        receipts = doc.get("receipts") or {}
        if doc.get("receipts_error"):
            figs.serve_full_no_receipt += 1
            if "admitted" not in doc["receipts_error"]:
                figs.fail(f"{where}: a 2xx without receipts that does not say admitted: {doc}")
        elif set(receipts) != {str(i) for i in indices}:
            figs.fail(f"{where}: HTTP {status} without a receipt per record: {doc}")
        for record, index in zip(batch, indices, strict=True):
            figs.acknowledged += 1
            if view.has(record) != index:
                figs.lost += 1
                figs.fail(
                    f"{where}: HTTP {status} acknowledged index {index}, ledger has "
                    f"{view.has(record)}"
                )
            elif str(index) in receipts and not view.receipt_ok(
                receipts[str(index)], view.entries[index]
            ):
                figs.fail(f"{where}: the receipt of index {index} does not verify")
        return
    # A problem says nothing was written: then nothing of the batch may be in the ledger.
    if doc.get("status") != status or not str(doc.get("type", "")).startswith("/v1/problems/"):
        figs.fail(f"{where}: HTTP {status} is not a problem document: {doc}")
    if stored:
        figs.fail(f"{where}: HTTP {status} ({doc.get('type')}) but records {stored} are stored")
    if status == 507:
        figs.serve_full_refused += 1
        detail = str(doc.get("detail", ""))
        if doc.get("type") != "/v1/problems/disk-full" or "disk is full" not in detail:
            figs.fail(f"{where}: a 507 that does not say the disk is full: {doc}")
    else:
        figs.serve_full_other += 1
        if status >= 500 and status != 503:
            figs.fail(f"{where}: HTTP {status} on a full disk: {doc}")


def post_until_refused(
    figs: Figures,
    world: World,
    client: Any,
    base: str,
    rng: random.Random,
    where: str,
) -> list[tuple[list[dict[str, Any]], int, dict[str, Any]]]:
    """POST batches of 1 to 4 records until three in a row are refused (or 40 were sent):
    each batch with its status and answer."""
    import httpx

    answered: list[tuple[list[dict[str, Any]], int, dict[str, Any]]] = []
    refused_in_a_row = 0
    while refused_in_a_row < 3 and len(answered) < 40:
        batch = world.records(rng.randint(1, 4))
        try:
            resp = client.post(f"{base}/v1/records", content=jsonl(batch), headers=JSONL_HEADERS)
        except httpx.HTTPError as exc:
            figs.fail(f"{where}: the server stopped answering: {exc!r}")
            break
        try:
            doc = resp.json()
        except ValueError:
            doc = {"text": resp.text[:200]}
        answered.append((batch, resp.status_code, doc))
        refused_in_a_row = 0 if 200 <= resp.status_code < 300 else refused_in_a_row + 1
    return answered


JSONL_HEADERS = {"Content-Type": "application/jsonl"}


def jsonl(batch: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(x) + "\n" for x in batch)


def post_after_space(
    figs: Figures, world: World, client: Any, base: str, ledger: Path | str, where: str
) -> None:
    """Space again: the same server takes a batch (no restart)."""
    batch = world.records(2)
    resp = client.post(f"{base}/v1/records", content=jsonl(batch), headers=JSONL_HEADERS)
    figs.submitted += 2
    if resp.status_code != 201:
        figs.fail(f"{where}: space freed, yet HTTP {resp.status_code}: {resp.text[:200]}")
        return
    check_post(figs, LedgerView(ledger), batch, 201, resp.json(), where, full=False)


def serve_disk_full_rounds(
    figs: Figures, world: World, rounds: int, rng: random.Random, work: Path
) -> None:
    """One ``cvid serve`` on a 4 MiB tmpfs; each round fills it to leave 0 to 128 KiB and POSTs
    batches of 1 to 4 records until the disk refuses several in a row (or 40 were sent), then
    frees the space: the same server must take records again."""
    import httpx

    with small_filesystem(work / "serve-small", "4m") as fs:
        ledger = world.make_ledger(fs / "ledger")
        proc, base = start_serve(ledger)
        try:
            with httpx.Client(timeout=30) as client:
                for r in range(rounds):
                    where = f"serve disk-full round {r}"
                    leave = 0 if r == 0 else rng.choice([0, 4096, 16384, 65536, 131072])
                    filler = fill(fs, leave)
                    answered = post_until_refused(figs, world, client, base, rng, where)
                    figs.rounds += 1
                    figs.serve_full_rounds += 1
                    figs.serve_full_posts += len(answered)
                    figs.submitted += sum(len(b) for b, _, _ in answered)
                    if proc.poll() is not None:
                        figs.fail(f"{where}: cvid serve exited {proc.returncode} on a full disk")
                        return
                    view = LedgerView(ledger)
                    for n, (batch, status, doc) in enumerate(answered):
                        check_post(figs, view, batch, status, doc, f"{where} post {n}")
                    verify(figs, ledger, where)  # on the full disk, while the server runs
                    filler.unlink()
                    post_after_space(figs, world, client, base, ledger, where)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        verify(figs, ledger, "serve disk-full, server stopped")


def postgres_database() -> str:
    """A new database on the tests' throw-away PostgreSQL cluster (tests/pg.py): its URL."""
    sys.path.insert(0, str(ROOT / "tests"))
    import pg

    return pg.cluster().new_database()


class SmallPostgres:
    """A PostgreSQL cluster whose data directory (WAL included) is on the filesystem ``fs``
    (root only: the server runs as the ``postgres`` user, as tests/pg.py starts it), listening
    on a Unix socket only. WAL segments of 1 MiB, so that the cluster fits a small tmpfs."""

    def __init__(self, fs: Path) -> None:
        import pwd

        sys.path.insert(0, str(ROOT / "tests"))
        import pg

        bindir = pg._find_bindir()
        if bindir is None:
            raise RuntimeError("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin)")
        self.bindir = bindir
        self.base = fs / "pg"
        self.base.mkdir()
        user = pwd.getpwnam(pg.SUPERUSER)
        os.chown(self.base, user.pw_uid, user.pw_gid)
        # The server's log on another disk, so that it can say why it stopped.
        self.logdir = Path(tempfile.mkdtemp(prefix="cvid-faults-pg-log-"))
        os.chown(self.logdir, user.pw_uid, user.pw_gid)
        self.data = self.base / "data"
        self._as_server(
            str(bindir / "initdb"), "-D", str(self.data), "-U", pg.SUPERUSER, "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync", "--wal-segsize=1",
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                "\nlisten_addresses = ''\n"
                f"unix_socket_directories = '{self.base}'\n"
                "min_wal_size = 2MB\nmax_wal_size = 8MB\nmax_connections = 50\n"
                "shared_buffers = 8MB\nrestart_after_crash = on\n"
            )
        self.start()
        self.admin = f"postgresql://{pg.SUPERUSER}@/postgres?host={self.base}"

    def _as_server(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        got = subprocess.run(
            ["runuser", "-u", "postgres", "--", *cmd], capture_output=True, text=True, check=False
        )
        if check and got.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: {got.stdout}{got.stderr}")
        return got

    def start(self) -> None:
        pg_ctl = str(self.bindir / "pg_ctl")
        log = str(self.logdir / "server.log")
        self._as_server(pg_ctl, "-D", str(self.data), "-l", log, "-w", "-t", "60", "start")

    def running(self) -> bool:
        """Whether the server answers a query."""
        import psycopg

        try:
            with psycopg.connect(self.admin, connect_timeout=5) as db:
                db.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def new_database(self) -> str:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as db:
            db.execute("CREATE DATABASE cvid_full TEMPLATE template0")
        return self.admin.replace("/postgres?", "/cvid_full?")

    def stop(self) -> None:
        pg_ctl = str(self.bindir / "pg_ctl")
        self._as_server(pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)


def pg_disk_full_rounds(
    figs: Figures, world: World, rounds: int, rng: random.Random, work: Path
) -> None:
    """A PostgreSQL ledger whose cluster is on a 96 MiB tmpfs filled to leave 0 to 1 MiB
    (0 in the first two rounds):
    even rounds ``cvid submit`` (receipts on another disk), odd rounds POSTs to ``cvid serve``
    until refused. A server that stopped for lack of space (a WAL write that fails is a PANIC)
    is started again once space is freed. Then the promises are checked and the ledger
    verified, and a submission must succeed."""
    import httpx

    (work / "pg-full").mkdir(exist_ok=True)
    # Not under ``work``: the server's user must reach the mount point (tests/pg.py's way).
    point = Path(tempfile.mkdtemp(prefix="cvid-faults-pg-"))
    try:
        with small_filesystem(point, "96m") as fs:
            server = SmallPostgres(fs)
            try:
                ledger = world.make_ledger(server.new_database())
                for r in range(rounds):
                    where = f"postgresql disk-full round {r}"
                    # The first submit and the first serve round see a disk with no space at
                    # all (1 MiB can take all 40 POSTs); later rounds leave a random margin.
                    leave = (
                        0
                        if r < 2
                        else rng.choice([0, 65536, 262144, 1048576, rng.randint(0, 1048576)])
                    )
                    filler = fill(fs, leave)
                    batch = world.records(rng.randint(1, 4))
                    before = len(LedgerView(ledger).entries) if server.running() else None
                    answered: list[tuple[list[dict[str, Any]], int, dict[str, Any]]] = []
                    got = None
                    if r % 2 == 0:
                        src = work / "pg-full" / f"batch-{r}.jsonl"
                        src.write_text(jsonl(batch))
                        receipts = work / "pg-full" / f"receipts-{r}"
                        got = run("submit", ledger, src, "--receipts", receipts)
                        if "Traceback" in got.stderr:
                            figs.fail(f"{where}: traceback: {got.stderr[-500:]}")
                        figs.submitted += len(batch)
                    else:
                        proc, base = start_serve(ledger)
                        try:
                            # A server that stopped makes cvid serve wait for a connection for up
                            # to 40 s (its pool's timeout) before it answers 503.
                            with httpx.Client(timeout=120) as client:
                                answered = post_until_refused(figs, world, client, base, rng, where)
                        finally:
                            proc.send_signal(signal.SIGTERM)
                            try:
                                proc.wait(30)
                            except subprocess.TimeoutExpired:
                                proc.kill()
                                proc.wait()
                        figs.serve_full_posts += len(answered)
                        figs.submitted += sum(len(b) for b, _, _ in answered)
                    figs.rounds += 1
                    figs.pg_full_rounds += 1
                    alive = server.running()
                    if alive:
                        verify(figs, ledger, where)  # on the full disk
                    filler.unlink()
                    if not alive:
                        figs.pg_server_restarts += 1
                        if not server.running():
                            server.start()
                    view = LedgerView(ledger)
                    if got is not None:
                        check_submit(
                            figs, view, batch, receipts, got.stdout, got.returncode,
                            before if before is not None else len(view.entries), where,
                        )  # fmt: skip
                        if got.returncode == 2:
                            figs.refused_full += 1
                        elif got.returncode == 1:
                            figs.admitted_receipt_failed += 1
                        elif got.returncode != 0:
                            figs.fail(f"{where}: exit {got.returncode}: {got.stderr}")
                    for n, (b, status, doc) in enumerate(answered):
                        check_post(figs, view, b, status, doc, f"{where} post {n}")
                    if not alive:
                        verify(figs, ledger, f"{where}, server started again")
                after = world.records(2)
                src = work / "pg-full" / "after.jsonl"
                src.write_text(jsonl(after))
                receipts = work / "pg-full" / "receipts-after"
                before = len(LedgerView(ledger).entries)
                got = run("submit", ledger, src, "--receipts", receipts)
                if got.returncode != 0:
                    figs.fail(
                        f"postgresql after the disk-full rounds: exit {got.returncode}: "
                        f"{got.stderr}"
                    )
                check_submit(
                    figs, LedgerView(ledger), after, receipts, got.stdout, got.returncode, before,
                    "postgresql after",
                )  # fmt: skip
                verify(figs, ledger, "postgresql disk-full, space freed")
            finally:
                server.stop()
                shutil.rmtree(server.logdir, ignore_errors=True)
    finally:
        with contextlib.suppress(OSError):
            point.rmdir()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kill-rounds", type=int, default=120)
    parser.add_argument("--serve-rounds", type=int, default=20)
    parser.add_argument("--disk-full-rounds", type=int, default=10)
    parser.add_argument("--serve-disk-full-rounds", type=int, default=10)
    parser.add_argument(
        "--pg-disk-full-rounds",
        type=int,
        default=10,
        help="Disk-full rounds on a PostgreSQL cluster of its own on a small tmpfs (root).",
    )
    parser.add_argument(
        "--pg-kill-rounds",
        type=int,
        default=30,
        help="Kill rounds on a PostgreSQL ledger (a throw-away cluster, as tests/pg.py starts).",
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    random.seed(seed)
    figs = Figures()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cvid-faults-") as tmp:
        work = Path(tmp)
        world = World(work)
        ledger = world.make_ledger(work / "ledger")
        kill_rounds(figs, world, ledger, args.kill_rounds, rng, work)
        if args.serve_rounds:
            serve_rounds(figs, world, ledger, args.serve_rounds, rng)
        pg_skipped = None
        pgfigs = Figures()
        if args.pg_kill_rounds:
            try:
                url = postgres_database()
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # pytest's skip and fail are BaseExceptions
                pg_skipped = f"no PostgreSQL cluster: {exc}"
            else:
                pg_ledger = world.make_ledger(url)
                (work / "pg").mkdir()
                kill_rounds(pgfigs, world, pg_ledger, args.pg_kill_rounds, rng, work / "pg")
        skipped = None
        if args.disk_full_rounds:
            skipped = can_mount()
            if skipped is None:
                disk_full_rounds(figs, world, args.disk_full_rounds, rng, work)
        if args.serve_disk_full_rounds:
            skipped = skipped or can_mount()
            if skipped is None:
                serve_disk_full_rounds(figs, world, args.serve_disk_full_rounds, rng, work)
        pg_full_skipped = None
        pgfull = Figures()
        if args.pg_disk_full_rounds:
            pg_full_skipped = can_mount()
            if pg_full_skipped is None:
                try:
                    pg_disk_full_rounds(pgfull, world, args.pg_disk_full_rounds, rng, work)
                except RuntimeError as exc:  # no server binaries, or initdb refused
                    pg_full_skipped = f"no PostgreSQL cluster on a small filesystem: {exc}"
    doc = {"seed": seed, "seconds": round(time.monotonic() - started, 1), **figs.as_dict()}
    if (args.disk_full_rounds or args.serve_disk_full_rounds) and skipped is not None:
        doc["disk_full_skipped"] = skipped
    if args.pg_kill_rounds:
        doc["postgresql"] = pg_skipped or {
            k: v for k, v in pgfigs.as_dict().items() if v and k != "failures"
        }
        figs.failures.extend(f"postgresql: {f}" for f in pgfigs.failures)
    if args.pg_disk_full_rounds:
        doc["postgresql_disk_full"] = pg_full_skipped or {
            k: v for k, v in pgfull.as_dict().items() if v and k != "failures"
        }
        figs.failures.extend(f"postgresql disk-full: {f}" for f in pgfull.failures)
    if args.json:
        print(json.dumps(doc))
    else:
        for k, v in doc.items():
            if k != "failures":
                print(f"{k}: {v}")
        for f in figs.failures:
            print(f"FAILURE: {f}")
    return 1 if figs.failures else 0


if __name__ == "__main__":
    sys.exit(main())
