"""The ledger: an agreement's evidence log, its admission checks and its key registry.

A ledger is a directory::

    DIR/ledger.json     format, agreement id, log origin and vkey, the package's SHA-256
    DIR/agreement/      a copy of the agreement package (the ledger is self-contained)
    DIR/log/            the transparency log (cvid.store.log.Log), origin cvid.ledger/<id>
    DIR/ledger.lock     held while submitting, so two processes never interleave a batch

The log is the truth: opening a ledger replays every logged record to rebuild the key registry,
the replay index (SHA-256 of each unsigned canonical record) and the supersession marks.

Admission is all-or-nothing: a batch is checked record by record, in order, and is appended in
one durable commit only if every record passes; otherwise nothing is written and the error
names the first record refused and the check it failed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cvid.errors import InputError, StoreError
from cvid.evidence.admission import (
    Candidate,
    Prepared,
    candidates,
    describe,
    gc_paused,
    prepare_all,
    read_files,
    verify_all,
)
from cvid.evidence.checks import BatchCheck, Link
from cvid.evidence.parties import AgreementParties, load_parties, package_sha256
from cvid.evidence.record import Record
from cvid.evidence.registry import KeyRegistry
from cvid.evidence.signing import RecordError, parse_json, without_signature
from cvid.store.log import Log
from cvid.tlog.note import check_key_name
from cvid.tlog.receipt import Receipt

FORMAT = "cvid-ledger/1"
META = "ledger.json"
PACKAGE = "agreement"
LOG = "log"
LOCK = "ledger.lock"
#: Batches at least this long are prepared on the thread pool.
PARALLEL_MIN = 256

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LoggedRecord:
    """A record in the ledger: its log index, the model, the object as signed, and marks.

    ``raw`` is the JSON object exactly as submitted (signature included); do not mutate it.
    ``superseded_by`` is the index of the record that corrects this one, if any, and
    ``disputed_by`` the indexes of records that dispute it.
    """

    index: int
    record: Record
    raw: dict[str, Any]
    superseded_by: int | None = None
    disputed_by: tuple[int, ...] = ()


class Ledger:
    """One agreement's ledger in a directory; open with :meth:`create` or :meth:`open`.

    ``clock`` gives "now" for the ``reported_at`` check; ``workers`` threads verify signatures
    of large batches in parallel.
    """

    def __init__(
        self,
        directory: Path,
        log: Log,
        parties: AgreementParties,
        meta: Mapping[str, Any],
        clock: Clock = _now,
        workers: int | None = None,
    ) -> None:
        self.directory = directory
        self.log = log
        self.parties = parties
        self.meta = dict(meta)
        self.clock = clock
        self.workers = workers if workers is not None else max(1, min(os.cpu_count() or 1, 4))
        self.registry = KeyRegistry(parties)
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        # Per index only what the checks need; full records are parsed again from the log on
        # demand (and then cached), so a busy ledger does not keep millions of objects alive.
        self._links: list[Link] = []
        self._parsed: list[tuple[Record, dict[str, Any]]] = []
        self._keep_parsed = False
        self._digests: set[bytes] = set()
        self._superseded_by: dict[int, int] = {}
        self._disputed_by: dict[int, list[int]] = {}
        self._catch_up()

    # -- creation and opening ------------------------------------------------------------

    @classmethod
    def create(
        cls, directory: Path, package_dir: Path, *, clock: Clock = _now, workers: int | None = None
    ) -> Ledger:
        """Create a ledger in a new or empty ``directory`` for the package in ``package_dir``.

        Copies the package into ``DIR/agreement/``, records its SHA-256 in ``DIR/ledger.json``
        and creates the log with origin ``cvid.ledger/<agreement id>``.
        """
        parties = load_parties(package_dir)
        origin = f"cvid.ledger/{parties.id}"
        check_key_name(origin)
        if directory.exists() and any(directory.iterdir()):
            raise InputError(f"{directory}: not empty; a ledger needs a new or empty directory")
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copytree(
            package_dir,
            directory / PACKAGE,
            ignore=shutil.ignore_patterns(".*", "__pycache__"),
        )
        digest = package_sha256(directory / PACKAGE)
        if digest != package_sha256(package_dir):
            raise StoreError(f"{package_dir}: the package changed while it was being copied")
        log = Log.create(directory / LOG, origin)
        meta = {
            "format": FORMAT,
            "agreement": parties.id,
            "title": parties.title,
            "origin": origin,
            "log_vkey": log.verifier.vkey,
            "package_sha256": digest,
            "package_source": str(package_dir),
        }
        (directory / META).write_text(json.dumps(meta, indent=2) + "\n")
        return cls(directory, log, parties, meta, clock, workers)

    @classmethod
    def open(cls, directory: Path, *, clock: Clock = _now, workers: int | None = None) -> Ledger:
        """Open the ledger in ``directory``, replaying its log to rebuild its state.

        Raises :class:`InputError` if there is no ledger there and :class:`StoreError` if the
        package copy no longer has the SHA-256 recorded at creation.
        """
        try:
            meta = json.loads((directory / META).read_text())
        except OSError:
            raise InputError(
                f"{directory}: no ledger here (missing {META}); see `cvid ledger init`"
            ) from None
        except ValueError as exc:
            raise StoreError(f"{directory / META}: not valid JSON: {exc}") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise StoreError(f"{directory / META}: not a {FORMAT} ledger")
        digest = package_sha256(directory / PACKAGE)
        if digest != meta.get("package_sha256"):
            raise StoreError(
                f"{directory / PACKAGE}: the agreement package copy has SHA-256 {digest}, not "
                f"{meta.get('package_sha256')} as recorded when the ledger was created"
            )
        parties = load_parties(directory / PACKAGE)
        log = Log.open(directory / LOG)
        return cls(directory, log, parties, meta, clock, workers)

    def close(self) -> None:
        """Close the log and stop the worker threads."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self.log.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def agreement_id(self) -> str:
        """The id of the ledger's agreement."""
        return self.parties.id

    @property
    def package_dir(self) -> Path:
        """The ledger's copy of the agreement package."""
        return self.directory / PACKAGE

    # -- state from the log --------------------------------------------------------------

    def _take(self, index: int, record: Record, raw: dict[str, Any], unsigned: bytes) -> None:
        assert index == len(self._links)
        self._links.append(Link.of(record))
        if self._keep_parsed and len(self._parsed) == index:
            self._parsed.append((record, raw))
        self._digests.add(_sha256(unsigned))
        self.registry.apply(index, record)
        if record.supersedes is not None:
            self._superseded_by[record.supersedes] = index
        if record.disputes is not None:
            self._disputed_by.setdefault(record.disputes, []).append(index)

    def _catch_up(self) -> None:
        """Replay log entries not yet taken into account (appended by another process too)."""
        size = self.log.driver.size()
        for i, entry in self._entries(len(self._links), size):
            record, raw = _parse_entry(i, entry)
            assert record.signature is not None
            try:
                unsigned = without_signature(entry, record.signature)
            except InputError as exc:
                raise StoreError(f"log entry {i}: {exc}") from None
            self._take(i, record, raw, unsigned)

    def _entries(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        step = 4096
        for lo in range(start, end, step):
            yield from enumerate(self.log.read_entries(lo, min(end, lo + step)), lo)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        with self._lock, open(self.directory / LOCK, "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                self._catch_up()
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    # -- admission -----------------------------------------------------------------------

    def _prepare(self, batch: list[Candidate]) -> list[Prepared | RecordError]:
        """The stateless checks of a batch; signatures of large batches on the thread pool.

        The GIL-bound work (parsing, validation, canonical bytes) runs here; only the
        signature checks, which spend nearly all their time without the GIL, go to the
        workers. Mixing the two in every thread makes threads wait on each other for the GIL.
        """
        items = [(c, describe(n, len(batch), c.origin)) for n, c in enumerate(batch, 1)]
        if len(items) < PARALLEL_MIN or self.workers < 2:
            return prepare_all(items)
        prepared = prepare_all(items, verify=False)
        todo = [(i, p) for i, p in enumerate(prepared) if isinstance(p, Prepared)]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="cvid-verify")
        size = len(todo) // self.workers + 1
        chunks = [[p for _, p in todo[i : i + size]] for i in range(0, len(todo), size)]
        refusals = [r for part in self._pool.map(verify_all, chunks) for r in part]
        for (i, _), refusal in zip(todo, refusals, strict=True):
            if refusal is not None:
                prepared[i] = refusal
        return prepared

    def check(self, batch: Sequence[Mapping[str, Any]] | Sequence[Candidate]) -> list[Prepared]:
        """Run every admission check on a batch without writing; raise the first refusal."""
        with self._exclusive(), gc_paused():
            return self._check(candidates(batch))[0]

    def _check(self, batch: list[Candidate]) -> tuple[list[Prepared], BatchCheck]:
        prepared = self._prepare(batch)
        state = BatchCheck(
            parties=self.parties,
            registry=self.registry.copy(),
            first=len(self._links),
            logged_digests=self._digests,
            link=self._link,
            superseded_by=self._superseded_by,
            now=self.clock(),
        )
        ok: list[Prepared] = []
        for position, p in enumerate(prepared):
            if isinstance(p, RecordError):
                raise p
            state.check(position, p)
            ok.append(p)
        return ok, state

    def _link(self, index: int) -> Link:
        return self._links[index]

    def submit(self, batch: Sequence[Mapping[str, Any]] | Sequence[Candidate]) -> list[int]:
        """Admit a batch of signed records, all or nothing; return their log indexes.

        Records are checked in order (a key registered earlier in the batch may sign later
        records in it), then appended in one durable commit. On any refusal raises
        :class:`RecordError` (an :class:`InputError`) naming the record and check; nothing is
        written.
        """
        cands = candidates(batch)
        if not cands:
            return []
        with self._exclusive(), gc_paused():
            ok, _ = self._check(cands)
            first = self.log.append([p.entry for p in ok])
            if first != len(self._links):
                raise StoreError(f"log appended at {first}, expected {len(self._links)}")
            for i, p in enumerate(ok, first):
                self._take(i, p.record, p.raw, p.unsigned)
            count = len(ok)
            del ok  # freed by reference counting before the collector resumes
        return list(range(first, first + count))

    def submit_files(self, paths: Sequence[Path]) -> list[int]:
        """Admit the records in ``paths`` (each one JSON object or JSON Lines) as one batch."""
        return self.submit(read_files(list(paths)))

    # -- reading -------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """The number of records in the ledger."""
        return len(self._links)

    def _parse_all(self) -> None:
        """Parse (once) every record not yet parsed, and keep parsed ones from now on."""
        with self._lock:
            self._keep_parsed = True
            for i, entry in self._entries(len(self._parsed), len(self._links)):
                self._parsed.append(_parse_entry(i, entry))

    def record(self, index: int) -> LoggedRecord:
        """The record at ``index``; :class:`InputError` if there is none."""
        if not 0 <= index < len(self._links):
            raise InputError(f"no record {index} in the ledger (it holds {len(self._links)})")
        if index >= len(self._parsed):
            self._parse_all()
        record, raw = self._parsed[index]
        return LoggedRecord(
            index,
            record,
            raw,
            self._superseded_by.get(index),
            tuple(self._disputed_by.get(index, ())),
        )

    def records(self) -> list[LoggedRecord]:
        """Every record, in log order, with its supersession and dispute marks."""
        self._parse_all()
        return [self.record(i) for i in range(len(self._links))]

    def receipt(self, index: int) -> Receipt:
        """A ``tlog-proof`` receipt for record ``index`` (signs a checkpoint if needed)."""
        return self.log.receipt(index)


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _parse_entry(index: int, entry: bytes) -> tuple[Record, dict[str, Any]]:
    try:
        raw = parse_json(entry)
        record = Record.model_validate(raw)
    except ValueError as exc:
        raise StoreError(f"log entry {index} is not an evidence record: {exc}") from None
    if record.signature is None:
        raise StoreError(f"log entry {index} is not a signed evidence record")
    return record, raw
