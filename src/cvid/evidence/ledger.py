"""The ledger: an agreement's evidence log, its admission checks and its key registry.

A ledger is a directory::

    DIR/ledger.json     format, agreement id, log origin and vkey, the package's SHA-256,
                        the clock mode and the clock's vkey
    DIR/agreement/      a copy of the agreement package (the ledger is self-contained)
    DIR/log/            the transparency log (cvid.store.log.Log), origin cvid.ledger/<id>
    DIR/clock.key       the clock's private key (mode 0600), named <origin>/clock
    DIR/ledger.lock     held while submitting, so two processes never interleave a batch

The log is the truth: opening a ledger replays every logged record to rebuild the key registry,
the replay index (SHA-256 of each unsigned canonical record) and the supersession marks.

Admission is all-or-nothing: a batch is checked record by record, in order, and is appended in
one durable commit only if every record passes; otherwise nothing is written and the error
names the first record refused and the check it failed.

**The clock.** After each admitted batch the ledger signs a checkpoint covering it, and its
clock adds a C2SP ``tlog-cosignature/v1`` to it: a signature over the checkpoint and the time,
in POSIX seconds (:mod:`cvid.tlog.cosignature`). The *logged time* of entry ``i`` is the time
of the first clock-cosigned checkpoint whose size exceeds ``i`` — a time no submitter chooses.
The clock's times never go backwards (a new cosignature is never earlier than the last). The
*clock mode* in ``ledger.json`` says what the agreements engine takes for "known then": the
logged time (``log``, the default) or, for ledgers that reconstruct the past, each record's
``reported_at`` (``reported``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

from cvid.errors import Error, InputError, StoreError
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
from cvid.tlog.checkpoint import open_checkpoint
from cvid.tlog.cosignature import CosignerKey, cosign
from cvid.tlog.note import NoteSignature, Signer, check_key_name
from cvid.tlog.receipt import Receipt

FORMAT = "cvid-ledger/1"
META = "ledger.json"
PACKAGE = "agreement"
LOG = "log"
LOCK = "ledger.lock"
CLOCK_KEY = "clock.key"
#: What stands for "known then" (see :mod:`cvid.agreements.index`): the logged time, or the
#: record's own ``reported_at`` (ledgers reconstructing the past).
ClockMode = Literal["log", "reported"]
CLOCK_MODES: tuple[ClockMode, ...] = ("log", "reported")
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
    ``disputed_by`` the indexes of records that dispute it. ``logged_at`` is the record's
    logged time: the (verified) time of the first clock-cosigned checkpoint covering it, or
    ``None`` while no such checkpoint covers it.
    """

    index: int
    record: Record
    raw: dict[str, Any]
    superseded_by: int | None = None
    disputed_by: tuple[int, ...] = ()
    logged_at: datetime | None = None


class Ledger:
    """One agreement's ledger in a directory; open with :meth:`create` or :meth:`open`.

    ``clock`` gives "now" for the ``reported_at`` check and for the clock's cosignatures (tests
    inject a fake time); ``workers`` threads verify signatures of large batches in parallel.
    ``clock_mode`` (from ``ledger.json``, ``log`` when absent) is what stands for "known then";
    ``clock_key`` is the clock's public key (None for a ledger made before clocks existed,
    until its next batch gives it one).
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
        self.clock_mode = _clock_mode(self.meta, directory)
        self.clock_key: CosignerKey | None = None
        self._clock_signer: Signer | None = None
        #: checkpoint size -> verified clock time (None: not cosigned by the clock)
        self._stamps: dict[int, int | None] = {}
        self._load_clock()
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
        cls,
        directory: Path,
        package_dir: Path,
        *,
        clock: Clock = _now,
        workers: int | None = None,
        clock_mode: ClockMode = "log",
    ) -> Ledger:
        """Create a ledger in a new or empty ``directory`` for the package in ``package_dir``.

        Copies the package into ``DIR/agreement/``, records its SHA-256 in ``DIR/ledger.json``,
        creates the log with origin ``cvid.ledger/<agreement id>`` and the clock key
        ``DIR/clock.key`` named ``<origin>/clock``. ``clock_mode`` is ``log`` (records are known
        "then" from their logged time) or ``reported`` (from their ``reported_at``: for a ledger
        that reconstructs the past); :class:`InputError` for anything else.
        """
        if clock_mode not in CLOCK_MODES:
            raise InputError(f"clock mode {clock_mode!r} is not one of {', '.join(CLOCK_MODES)}")
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
        clock_signer = Signer.generate(f"{origin}/clock")
        clock_signer.write(directory / CLOCK_KEY)
        meta = {
            "format": FORMAT,
            "agreement": parties.id,
            "title": parties.title,
            "origin": origin,
            "log_vkey": log.verifier.vkey,
            "clock": clock_mode,
            "clock_vkey": CosignerKey.of(clock_signer).vkey,
            "package_sha256": digest,
            "package_source": str(package_dir),
        }
        _write_meta(directory, meta)
        return cls(directory, log, parties, meta, clock, workers)

    @classmethod
    def open(cls, directory: Path, *, clock: Clock = _now, workers: int | None = None) -> Ledger:
        """Open the ledger in ``directory``, replaying its log to rebuild its state.

        Raises :class:`InputError` if there is no ledger there and :class:`StoreError` if the
        package copy no longer has the SHA-256 recorded at creation.
        """
        meta = _read_meta(directory)
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

    # -- the clock -----------------------------------------------------------------------

    def _load_clock(self) -> None:
        """Read the clock's public key from the metadata and its private key, if present."""
        vkey = self.meta.get("clock_vkey")
        if vkey is None:
            return
        if not isinstance(vkey, str):
            raise StoreError(f"{self.directory / META}: clock_vkey is not a string")
        self.clock_key = CosignerKey.from_vkey(vkey)
        path = self.directory / CLOCK_KEY
        if path.exists():
            signer = Signer.read(path)
            if CosignerKey.of(signer) != self.clock_key:
                raise StoreError(f"{path}: not the key of the clock {vkey} in {META}")
            self._clock_signer = signer
            self.log.cosigners = (self._cosign,)

    def _ensure_clock(self) -> None:
        """Give a ledger made before clocks existed a clock (under the ledger lock)."""
        if self.clock_key is not None or self.log.signer is None:
            return
        meta = _read_meta(self.directory)
        if "clock_vkey" not in meta:  # no other process gave it one meanwhile
            signer = Signer.generate(f"{self.meta['origin']}/clock")
            signer.write(self.directory / CLOCK_KEY)
            meta["clock"] = self.clock_mode
            meta["clock_vkey"] = CosignerKey.of(signer).vkey
            _write_meta(self.directory, meta)
        self.meta = meta
        self._load_clock()

    def _cosign(self, text: str) -> NoteSignature:
        """The clock's cosignature on a checkpoint the log is signing: now, never going back."""
        assert self._clock_signer is not None
        now = math.floor(self.clock().timestamp())
        return cosign(text, self._clock_signer, max(now, self._last_time(), 0))

    def _last_time(self) -> int:
        """The latest time the clock signed (0 if none): that of the latest checkpoint, when
        the clock cosigned it (cheap, once per batch), else the largest of all."""
        latest = self.log.driver.latest_checkpoint()
        if latest is None:
            return 0
        size, data = latest
        if size not in self._stamps:
            self._stamps[size] = self._verify_stamp(size, data)
        t = self._stamps[size]
        if t is not None:
            return t
        return max((t for _, t in self._clock_times()), default=0)

    def _clock_times(self, size: int | None = None) -> list[tuple[int, int]]:
        """``(size, time)`` of each stored checkpoint the clock cosigned, by increasing size.

        Only checkpoints of at most ``size`` entries when it is given. Each is verified once per
        process: the log's signature and the clock's cosignature (a stored checkpoint failing
        either is a :class:`StoreError`). Times are made non-decreasing (an entry in a later
        checkpoint cannot have been logged before an earlier checkpoint was cosigned).
        """
        out: list[tuple[int, int]] = []
        last = 0
        for cp_size, data in self.log.driver.checkpoints():
            if size is not None and cp_size > size:
                break
            if cp_size not in self._stamps:
                self._stamps[cp_size] = self._verify_stamp(cp_size, data)
            t = self._stamps[cp_size]
            if t is not None:
                last = max(last, t)
                out.append((cp_size, last))
        return out

    def _verify_stamp(self, cp_size: int, data: bytes) -> int | None:
        where = f"{self.directory / LOG}: checkpoint of size {cp_size}"
        try:
            signed = open_checkpoint(data, self.log.verifier)
            if signed.checkpoint.size != cp_size:
                raise StoreError(f"it says size {signed.checkpoint.size}")
            key = self.clock_key
            if key is None or not any(
                s.name == key.name and s.key_id == key.key_id for s in signed.note.signatures
            ):
                return None
            return key.verify(signed.note)
        except Error as exc:
            raise StoreError(f"{where}: {exc.diagnostics()}") from None

    def logged_times(self, size: int | None = None) -> list[datetime | None]:
        """The logged time of each of the first ``size`` records (default: all).

        Entry ``i``'s logged time is the time of the first clock-cosigned checkpoint with
        ``i < checkpoint size ≤ size``; ``None`` when there is none. Counting only checkpoints
        up to ``size`` makes the answer for a log prefix final: checkpoints signed later never
        change it.
        """
        n = len(self._links) if size is None else size
        if not 0 <= n <= len(self._links):
            raise InputError(f"the ledger holds {len(self._links)} records, not {n}")
        out: list[datetime | None] = [None] * n
        start = 0
        for cp_size, t in self._clock_times(n):
            when = datetime.fromtimestamp(t, UTC)
            for i in range(start, min(cp_size, n)):
                out[i] = when
            start = max(start, cp_size)
        return out

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
            self._ensure_clock()
            first = self.log.append([p.entry for p in ok])
            if first != len(self._links):
                raise StoreError(f"log appended at {first}, expected {len(self._links)}")
            for i, p in enumerate(ok, first):
                self._take(i, p.record, p.raw, p.unsigned)
            count = len(ok)
            del ok  # freed by reference counting before the collector resumes
            if self.log.signer is not None:
                # The batch's checkpoint, cosigned by the clock: the batch's logged time.
                self.log.checkpoint()
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
        logged = next((t for size, t in self._clock_times() if size > index), None)
        return self._record(index, None if logged is None else datetime.fromtimestamp(logged, UTC))

    def _record(self, index: int, logged_at: datetime | None) -> LoggedRecord:
        if index >= len(self._parsed):
            self._parse_all()
        record, raw = self._parsed[index]
        return LoggedRecord(
            index,
            record,
            raw,
            self._superseded_by.get(index),
            tuple(self._disputed_by.get(index, ())),
            logged_at,
        )

    def records(self) -> list[LoggedRecord]:
        """Every record, in log order, with its marks and logged time."""
        self._parse_all()
        times = self.logged_times()
        return [self._record(i, t) for i, t in enumerate(times)]

    def receipt(self, index: int) -> Receipt:
        """A ``tlog-proof`` receipt for record ``index`` (signs a checkpoint if needed)."""
        return self.log.receipt(index)


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _read_meta(directory: Path) -> dict[str, Any]:
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
    return meta


def _write_meta(directory: Path, meta: Mapping[str, Any]) -> None:
    """Write ``ledger.json`` atomically (a reader sees the old file or the new one)."""
    tmp = directory / f".{META}.tmp{os.getpid()}"
    tmp.write_text(json.dumps(meta, indent=2) + "\n")
    os.replace(tmp, directory / META)


def _clock_mode(meta: Mapping[str, Any], directory: Path) -> ClockMode:
    """The ledger's clock mode; ``log`` for ledgers made before the field existed."""
    mode = meta.get("clock", "log")
    if mode not in CLOCK_MODES:
        raise StoreError(
            f"{directory / META}: clock {mode!r} is not one of {', '.join(CLOCK_MODES)}"
        )
    return cast(ClockMode, mode)


def _parse_entry(index: int, entry: bytes) -> tuple[Record, dict[str, Any]]:
    try:
        raw = parse_json(entry)
        record = Record.model_validate(raw)
    except ValueError as exc:
        raise StoreError(f"log entry {index} is not an evidence record: {exc}") from None
    if record.signature is None:
        raise StoreError(f"log entry {index} is not a signed evidence record")
    return record, raw
