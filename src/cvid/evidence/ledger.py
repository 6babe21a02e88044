"""The ledger: an agreement's evidence log, its admission checks and its key registry, in a store.

A ledger is one cvid store (:mod:`cvid.store.schema`): a SQLite file ``DIR/ledger.db`` (the
embedded default; ``DIR`` is what commands take) or a PostgreSQL database
(``postgresql://...``). Everything lives in it: the log's entries, tiles and checkpoints; the
ledger's metadata, its copy of the agreement package, its signing keys; and an index row for
every record (kind, party, subject, submitter, signer, speaker, times, supersedes, disputes,
values). The index is written in the same transaction as the entries it describes.

**One writer at a time, at exactly the index it checked.** A submission takes the store's
writer lock (SQLite ``BEGIN IMMEDIATE``, PostgreSQL an advisory lock) for its whole
transaction: it reads the size, catches up with whatever other processes appended (their key
records, the tree's edge), runs every admission check against that state, appends at that
size, and signs the checkpoint that covers the batch, all before it commits. Nothing is ever
re-sequenced.

**Opening costs O(1) in the records.** It reads the metadata, the package copy, the tree's
edge and the key records; replays, references and queries are answered by the index.

**It never builds on what it did not admit.** Admission is one pure function of the log
(:mod:`cvid.evidence.replay`), and the ledger applies it to whatever it did not write itself:
on opening, to every key record (the registry is what they define when replayed, not what the
index says) and to the entries no clock-cosigned checkpoint covers; before each write, to
every entry another process appended since (the same checks, and their index rows must say
what the entries say). An inadmissible entry found so refuses every later write
(:class:`StoreError` naming its index and check); reads go on. ``cvid ledger verify`` replays
the whole log.

Admission is all-or-nothing per batch: a batch is checked record by record, in order, and is
appended only if every record passes; otherwise nothing of it is written and the error names
the first record refused and the check it failed. :meth:`Ledger.submit_many` commits several
independent batches in one transaction (group commit): each batch stands or falls alone.

**The clock.** Each commit's checkpoint is cosigned by the ledger's clock (C2SP
``tlog-cosignature/v1``: a signature over the checkpoint and the time, in POSIX seconds). The
*logged time* of entry ``i`` is the time of the first clock-cosigned checkpoint whose size
exceeds ``i`` — a time no submitter chooses; the clock never goes backwards. The clock mode
says what the engine takes for "known then": the logged time (``log``) or each record's
``reported_at`` (``reported``, for ledgers that reconstruct the past).
"""

from __future__ import annotations

import bisect
import math
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from cvid.errors import Error, InputError, StoreError
from cvid.evidence import ledgerdb
from cvid.evidence.admission import (
    PARALLEL_MIN,
    Candidate,
    Prepared,
    candidates,
    describe,
    gc_paused,
    prepare,
    prepare_batch,
    read_files,
)
from cvid.evidence.checks import BatchCheck, Link
from cvid.evidence.ledgerdb import RecordQuery
from cvid.evidence.parties import (
    AgreementParties,
    files_sha256,
    parties_from_files,
    read_package_files,
    witness_policy_text,
)
from cvid.evidence.record import Record
from cvid.evidence.registry import KeyRegistry
from cvid.evidence.replay import Finding, entry_where
from cvid.evidence.reserved import AMENDMENT_SUBJECT, is_amendment_like, is_notice_of_effect
from cvid.evidence.signing import RecordError, parse_json, without_signature
from cvid.store import FORMAT as LOG_FORMAT
from cvid.store import (
    SCHEMA_VERSION,
    Log,
    SqlDriver,
    SqlTx,
    add_checkpoint_in,
    append_in,
    read_entries_in,
    size_in,
)
from cvid.tlog import (
    Checkpoint,
    CosignerKey,
    Note,
    Receipt,
    SignedCheckpoint,
    Signer,
    Verifier,
    check_key_name,
    cosign,
    open_checkpoint,
    sign_checkpoint,
    tree_hash,
)
from cvid.witness import Policy, parse_policy

if TYPE_CHECKING:
    import httpx

    from cvid.agreements import Package, PackageRecordCheck
    from cvid.witness import WitnessOutcome

FORMAT = "cvid-ledger/2"
#: The SQLite file of a ledger in a directory.
DB_NAME = "ledger.db"
#: What stands for "known then" (see :mod:`cvid.agreements.evidence_index`): the logged time, or the
#: record's own ``reported_at`` (ledgers reconstructing the past).
ClockMode = Literal["log", "reported"]
CLOCK_MODES: tuple[ClockMode, ...] = ("log", "reported")
#: Entries read from the store at a time when reading many.
READ_STEP = 4096
#: What a verification says of the index rows of an entry that is not admissible.
NOT_ADMISSIBLE_ROWS = "the index has a records row for an entry that is not admissible"

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LoggedRecord:
    """A record in the ledger: its log index, the model, the object as signed, and marks.

    ``raw`` is the JSON object exactly as submitted (signature included); do not mutate it.
    ``superseded_by`` is the index of the record that corrects this one, if any, and
    ``disputed_by`` the indexes of records that dispute it. ``logged_at`` is the record's
    logged time: the time of the first clock-cosigned checkpoint covering it, or ``None`` while
    no such checkpoint covers it.
    """

    index: int
    record: Record
    raw: dict[str, Any]
    superseded_by: int | None = None
    disputed_by: tuple[int, ...] = ()
    logged_at: datetime | None = None


def is_url(location: str | Path) -> bool:
    """Whether ``location`` names a PostgreSQL database rather than a directory."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def _driver(location: str | Path, create: bool, readonly: bool = False) -> SqlDriver:
    if is_url(location):
        from cvid.store import open_driver

        return open_driver(str(location), create=create, readonly=readonly)
    from cvid.store import SQLiteDriver

    directory = Path(location)
    db = directory / DB_NAME
    if not create:
        if (directory / "ledger.json").is_file():
            raise InputError(
                f"{directory}: a ledger in the directory format of cvid 0.1 (ledger.json, "
                "log/, agreement/); this cvid keeps a ledger in one store (ledger.db): create "
                "a new ledger with `cvid ledger init` and submit the records again"
            )
        if not db.is_file():
            raise InputError(
                f"{directory}: no ledger here (missing {DB_NAME}); see `cvid ledger init`"
            )
    return SQLiteDriver(db, create=create, readonly=readonly)


def _shown(location: str | Path, driver: SqlDriver) -> str:
    """How messages name the ledger: its directory, or its URL without a password."""
    return driver.where if is_url(location) else str(location)


def is_ledger(location: str | Path) -> bool:
    """Whether ``location`` is a ledger: a URL, or a directory holding ``ledger.db``."""
    return is_url(location) or (Path(location) / DB_NAME).is_file()


@dataclass(frozen=True)
class _Prefetch:
    """What the store holds about some batches: which of their digests are logged (and where),
    the link facts of the records they reference, and who already supersedes those."""

    present: dict[bytes, int]
    links: dict[int, Link]
    superseded: dict[int, int]

    @classmethod
    def of(cls, tx: SqlTx, batches: Sequence[Sequence[Prepared | RecordError]]) -> _Prefetch:
        """Read it for ``batches`` in one query of each kind."""
        ok = [p for b in batches for p in b if isinstance(p, Prepared)]
        refs = sorted(
            {i for p in ok for i in (p.record.supersedes, p.record.disputes) if i is not None}
        )
        return cls(
            ledgerdb.digests_present(tx, [p.digest for p in ok]),
            ledgerdb.links(tx, refs),
            ledgerdb.superseded_by(tx, refs),
        )


@dataclass
class _State:
    """What admission needs beyond one batch while a commit is being assembled."""

    registry: KeyRegistry
    first: int
    digests: dict[bytes, int] = field(default_factory=dict)
    links: dict[int, Link] = field(default_factory=dict)
    superseded_by: dict[int, int] = field(default_factory=dict)
    #: The amendment parts and notices admitted since ``base`` (the store's index has those
    #: below it), for :class:`cvid.agreements.versions.PackageRecordCheck`.
    package_records: list[tuple[int, Record]] = field(default_factory=list)
    #: Those checks over the log so far, built at the first such record and kept for the
    #: commit's later batches (dropped with a refused batch).
    package_check: PackageRecordCheck | None = None
    base: int = field(init=False)

    def __post_init__(self) -> None:
        self.base = self.first


class Ledger:
    """One agreement's ledger in a store; open with :meth:`create` or :meth:`open`.

    ``clock`` gives "now" for the ``reported_at`` check and for the clock's cosignatures (tests
    inject a fake time); ``workers`` threads verify signatures of large batches in parallel.
    """

    def __init__(
        self,
        driver: SqlDriver,
        where: str,
        *,
        clock: Clock = _now,
        workers: int | None = None,
    ) -> None:
        self.driver = driver
        self.where = where
        self.clock = clock
        self.workers = workers if workers is not None else max(1, min(os.cpu_count() or 1, 4))
        with driver.read() as tx:
            meta = {str(k): str(v) for k, v in tx.execute("SELECT key, value FROM ledger_meta")}
            if meta.get("format") != FORMAT:
                raise StoreError(f"{where}: not a {FORMAT} ledger (a plain log, or another format)")
            self.package_files: dict[str, bytes] = {
                str(p): bytes(d) for p, d in tx.execute("SELECT path, data FROM ledger_files")
            }
        self.meta = meta
        digest = files_sha256(self.package_files)
        if digest != meta.get("package_sha256"):
            raise StoreError(
                f"{where}: the agreement package copy has SHA-256 {digest}, not "
                f"{meta.get('package_sha256')} as recorded when the ledger was created"
            )
        self.parties: AgreementParties = parties_from_files(self.package_files, where)
        self.clock_mode = _clock_mode(meta, where)
        try:
            verifier = Verifier.from_vkey(meta["log_vkey"])
            self.clock_key = CosignerKey.from_vkey(meta["clock_vkey"])
        except (KeyError, Error) as exc:
            raise StoreError(f"{where}: the ledger's key metadata is unusable: {exc}") from None
        # Signing keys are read when first needed (a reader never needs them).
        self.log = Log(driver, None, verifier)
        self._signers: tuple[Signer, Signer] | None = None
        self._lock = threading.RLock()
        self._pool: ThreadPoolExecutor | None = None
        self.registry = KeyRegistry(self.parties)
        # Entries below this were admitted by this process or re-checked by it (see _catch_up).
        self._known = 0
        # The first inadmissible entry found in the store: every write is refused after it.
        self._untrusted: StoreError | None = None
        self._times: list[tuple[int, int]] = []  # clock times, cached by increasing size
        self._first: Package | None = None
        with driver.read() as tx:
            self._open_state(tx)

    # -- creation and opening ------------------------------------------------------------

    @classmethod
    def create(
        cls,
        location: str | Path,
        package_dir: Path,
        *,
        clock: Clock = _now,
        workers: int | None = None,
        clock_mode: ClockMode = "log",
    ) -> Ledger:
        """Create a ledger at ``location`` (a new or empty directory, or a PostgreSQL URL of an
        empty database) for the package in ``package_dir``.

        Stores a copy of the package and its SHA-256, the log key (origin
        ``cvid.ledger/<agreement id>``) and the clock key (``<origin>/clock``), all in one
        transaction. ``clock_mode`` is ``log`` or ``reported``; :class:`InputError` otherwise.
        """
        if clock_mode not in CLOCK_MODES:
            raise InputError(f"clock mode {clock_mode!r} is not one of {', '.join(CLOCK_MODES)}")
        files = read_package_files(package_dir)
        parties = parties_from_files(files, str(package_dir))
        origin = f"cvid.ledger/{parties.id}"
        check_key_name(origin)
        if not is_url(location):
            directory = Path(location)
            if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
                raise InputError(f"{directory}: not empty; a ledger needs a new or empty directory")
            directory.mkdir(parents=True, exist_ok=True)
        log_signer = Signer.generate(origin)
        clock_signer = Signer.generate(f"{origin}/clock")
        meta = {
            "format": FORMAT,
            "agreement": parties.id,
            "title": parties.title,
            "origin": origin,
            "log_vkey": log_signer.verifier.vkey,
            "clock": clock_mode,
            "clock_vkey": CosignerKey.of(clock_signer).vkey,
            "package_sha256": files_sha256(files),
            "package_source": str(package_dir),
            "schema": str(SCHEMA_VERSION),
        }
        driver = _driver(location, create=True)
        try:
            with driver.write() as tx:
                if tx.execute("SELECT 1 FROM meta LIMIT 1") or tx.execute(
                    "SELECT 1 FROM ledger_meta LIMIT 1"
                ):
                    raise InputError(f"{location}: a log or ledger already exists there")
                log_meta = {
                    "format": LOG_FORMAT,
                    "origin": origin,
                    "vkey": log_signer.verifier.vkey,
                }
                tx.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)", sorted(log_meta.items())
                )
                tx.executemany(
                    "INSERT INTO ledger_meta (key, value) VALUES (?, ?)", sorted(meta.items())
                )
                tx.executemany(
                    "INSERT INTO ledger_files (path, data) VALUES (?, ?)", sorted(files.items())
                )
                tx.executemany(
                    "INSERT INTO ledger_secrets (name, value) VALUES (?, ?)",
                    [("clock", clock_signer.skey), ("log", log_signer.skey)],
                )
            return cls(driver, _shown(location, driver), clock=clock, workers=workers)
        except BaseException:
            driver.close()
            raise

    @classmethod
    def open(
        cls,
        location: str | Path,
        *,
        clock: Clock = _now,
        workers: int | None = None,
        readonly: bool = False,
    ) -> Ledger:
        """Open the ledger at ``location`` (a directory holding ``ledger.db``, or a URL).

        Reads the metadata, the package copy, the tree's edge and the key records only.
        :class:`InputError` if there is no ledger there; :class:`StoreError` if the package
        copy no longer has the SHA-256 recorded at creation. ``readonly`` opens no write
        connection (every write is then refused).
        """
        driver = _driver(location, create=False, readonly=readonly)
        try:
            return cls(driver, _shown(location, driver), clock=clock, workers=workers)
        except BaseException:
            driver.close()
            raise

    def close(self) -> None:
        """Close the store and stop the worker threads."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self.driver.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def package_sha256(self) -> str:
        """The SHA-256 of the ledger's copy of the agreement package."""
        return self.meta["package_sha256"]

    @property
    def agreement_id(self) -> str:
        """The id of the ledger's agreement."""
        return self.parties.id

    # -- state from the store ------------------------------------------------------------

    def _open_state(self, tx: SqlTx) -> None:
        """Build the registry by replaying admission over the key records, and decide which
        prefix the ledger takes as admitted without re-checking: the one the latest
        clock-cosigned checkpoint covers (every commit signs one in its transaction)."""
        size = size_in(tx)
        rows = tx.execute("SELECT MAX(size) FROM checkpoint_times WHERE size <= ?", (size,))
        covered = 0 if rows[0][0] is None else int(rows[0][0])
        known = min(covered, ledgerdb.indexed_size(tx), size)
        keyed = ledgerdb.key_entries(tx, 0, known)
        stamps = ledgerdb.logged_stamps(tx, [i for i, _ in keyed], size)
        check = BatchCheck(
            parties=self.parties,
            registry=self.registry,
            first=0,
            logged_digests=frozenset(),
            link=lambda i: None,  # key records refer to no record
            superseded_by={},
            now=None,
        )
        rows_of = ledgerdb.index_rows(tx, [i for i, _ in keyed])
        for i, entry in keyed:
            where = entry_where(i)
            try:
                p = prepare(Candidate("", text=entry), where, logged=True)
                t = stamps.get(i)
                check.check(i, p, None if t is None else datetime.fromtimestamp(t, UTC))
                problem = ledgerdb.row_problem(i, p, rows_of.get(i))
                if problem is not None:
                    raise RecordError("index", where, problem)
            except RecordError as exc:
                self._distrust(exc)
        self.registry = check.registry
        self._known = known

    def _distrust(self, exc: RecordError) -> None:
        if self._untrusted is None:
            self._untrusted = StoreError(
                f"{self.where}: {exc.where} was not admitted by this ledger: {exc.check}: "
                f"{exc.detail}; refusing to write after it (run `cvid ledger verify`)"
            )

    def _catch_up(self, tx: SqlTx, size: int) -> None:
        """Re-check what other writers appended below ``size`` as admission would, and take
        it into the state; :class:`StoreError` (naming the index and check) if any entry is not
        admissible or its index rows are not what it says, or one was found before."""
        if self._untrusted is not None:
            raise self._untrusted
        while self._known < size:
            lo = self._known
            hi = min(size, lo + READ_STEP)
            entries = read_entries_in(tx, lo, hi)
            if len(entries) != hi - lo:
                raise StoreError(f"{self.where}: entries {lo}..{hi - 1} have a gap")
            stamps = ledgerdb.logged_stamps(tx, range(lo, hi), size)
            times = [
                None if (t := stamps.get(i)) is None else datetime.fromtimestamp(t, UTC)
                for i in range(lo, hi)
            ]
            items = [(Candidate("", text=e), entry_where(lo + k)) for k, e in enumerate(entries)]
            prepared = prepare_batch(items, self._verify_pool(len(items)), self.workers, True)
            state = _State(self.registry, lo)
            try:
                ok = self._check_batch(tx, state, prepared, None, times)
                rows_of = ledgerdb.index_rows(tx, range(lo, hi))
                for k, p in enumerate(ok):
                    problem = ledgerdb.row_problem(lo + k, p, rows_of.get(lo + k))
                    if problem is not None:
                        raise RecordError("index", p.where, problem)
            except RecordError as exc:
                self._distrust(exc)
                assert self._untrusted is not None
                raise self._untrusted from None
            self.registry = state.registry
            self._known = hi

    def _keys(self) -> tuple[Signer, Signer]:
        """The log's and the clock's private keys, from the store."""
        if self._signers is None:
            with self.driver.read() as tx:
                rows = dict(tx.execute("SELECT name, value FROM ledger_secrets"))
            try:
                log_signer = Signer.from_skey(str(rows["log"]))
                clock_signer = Signer.from_skey(str(rows["clock"]))
            except KeyError:
                raise InputError(
                    f"{self.where}: the ledger's signing keys are not readable here; only "
                    "the ledger's writer can submit"
                ) from None
            if log_signer.verifier != self.log.verifier or (
                CosignerKey.of(clock_signer) != self.clock_key
            ):
                raise StoreError(f"{self.where}: the stored signing keys are not the ledger's")
            self._signers = (log_signer, clock_signer)
        return self._signers

    # -- admission -----------------------------------------------------------------------

    def _catch_up_unlocked(self) -> None:
        """Re-check what other writers committed so far in a read transaction, before taking
        the writer lock: the lock is then held only for what they append meanwhile, so writers
        re-check each other's entries while the other commits, not one after the other."""
        with self._lock, self.driver.read() as tx:
            self._catch_up(tx, size_in(tx))

    def _verify_pool(self, n: int) -> Executor | None:
        """The thread pool for ``n`` signatures (made on first need), or None to verify inline."""
        if n < PARALLEL_MIN or self.workers < 2:
            return None
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="cvid-verify")
        return self._pool

    def _prepare(self, batch: list[Candidate]) -> list[Prepared | RecordError]:
        """The stateless checks of a batch (:func:`prepare_batch`)."""
        items = [(c, describe(n, len(batch), c.origin)) for n, c in enumerate(batch, 1)]
        return prepare_batch(items, self._verify_pool(len(items)), self.workers)

    def _stamp(self, tx: SqlTx) -> int:
        """The clock time this commit's checkpoint is cosigned with: every record it admits
        gets it as its logged time, so ``reported_at`` is checked against exactly that (and a
        replay, which checks against the logged time, decides the same)."""
        return max(math.floor(self.clock().timestamp()), ledgerdb.last_clock_time(tx), 0)

    def _check_batch(
        self,
        tx: SqlTx,
        state: _State,
        prepared: list[Prepared | RecordError],
        now: datetime | None,
        times: Sequence[datetime | None] | None = None,
        pre: _Prefetch | None = None,
    ) -> list[Prepared]:
        """Check one prepared batch against ``state`` (updated only if the batch passes).

        ``now`` is the time ``reported_at`` is checked against; ``times``, when given, each
        record's own (re-checking logged entries against their logged times). ``pre`` holds
        what the store says about the batch's digests and references, read once for a whole
        group commit (read here when not given).
        """
        for p in prepared:
            if isinstance(p, RecordError):
                raise p
        ok = cast(list[Prepared], prepared)
        refs = [
            i
            for p in ok
            for i in (p.record.supersedes, p.record.disputes)
            if i is not None and i < state.first
        ]
        if pre is None:
            pre = _Prefetch.of(tx, [prepared])
        # Only rows below the batch count: re-checking logged entries finds their own rows.
        present = {p.digest: pre.present[p.digest] for p in ok if p.digest in pre.present}
        logged = {d for d, i in present.items() if i < state.first} | set(state.digests)
        stored_links = {i: pre.links[i] for i in refs if i in pre.links and i not in state.links}
        known_links = {**stored_links, **state.links}
        stored_sup = {t: pre.superseded[t] for t in refs if t in pre.superseded}
        superseded = {
            **{t: i for t, i in stored_sup.items() if i < state.first},
            **state.superseded_by,
        }

        def link(index: int) -> Link:
            got = known_links.get(index)
            if got is None:
                raise StoreError(f"{self.where}: record {index} is missing from the index")
            return got

        check = BatchCheck(
            parties=self.parties,
            registry=state.registry.copy(),
            first=state.first,
            logged_digests=logged,
            link=link,
            superseded_by=superseded,
            now=now,
        )
        taken: list[tuple[int, Record]] = []
        try:
            for position, p in enumerate(ok):
                check.check(position, p, None if times is None else times[position])
                if is_amendment_like(p.record) or is_notice_of_effect(p.record):
                    if state.package_check is None:
                        state.package_check = self._package_check(tx, state, p.where)
                    state.package_check.check(state.first + position, p.record, p.where)
                    taken.append((state.first + position, p.record))
        except BaseException:
            # It took this batch's records before the refusal: the next batch builds it anew.
            state.package_check = None
            raise
        state.registry = check.registry
        state.package_records.extend(taken)
        for position, p in enumerate(ok):
            state.digests[p.digest] = state.first + position
        state.links.update(check.new_links)
        state.superseded_by.update(check.new_superseded)
        state.first += len(ok)
        return ok

    def _package_check(self, tx: SqlTx, state: _State, where: str) -> PackageRecordCheck:
        """The checks of amendment parts and notices against the log before the batch: the
        amendment records the index holds below ``state.base`` and those admitted since.
        :class:`RecordError` (check ``agreement``, naming ``where``) when the ledger's package
        is no agreement package the engine compiles: there is nothing to check them against."""
        from cvid.agreements import PackageRecordCheck

        try:
            first = self.first_package()
        except Error as exc:
            raise RecordError(
                "agreement",
                where,
                f"an amendment part or notice of effect needs an agreement package to check it "
                f"against; the ledger's does not compile ({exc})",
            ) from None
        logged = ledgerdb.package_entries(tx, AMENDMENT_SUBJECT, state.base)
        records = [(i, _parse_entry(i, e)[0]) for i, e in logged]
        return PackageRecordCheck(first, [*records, *state.package_records])

    def package_record_findings(self, size: int, skip: Set[int] = frozenset()) -> list[Finding]:
        """Admission's checks of amendment parts and notices against the log (the ones that
        need the log before them; :class:`~cvid.agreements.versions.PackageRecordCheck`),
        replayed in log order over the first ``size`` entries: for each entry refused, its
        refusal and (the entry being no evidence) a finding ``index`` on its index rows, as
        :func:`cvid.evidence.verify.verify_ledger` says of every inadmissible entry. Entries
        in ``skip`` (found inadmissible already) are left out. The entries are found through
        the index (``cvid ledger verify`` checks it against the entries in the same run) and
        read from the log.
        """
        return [
            f
            for i, exc in self._package_record_refusals(size, skip)
            for f in (Finding(i, exc.check, exc.detail), Finding(i, "index", NOT_ADMISSIBLE_ROWS))
        ]

    def _package_record_refusals(self, size: int, skip: Set[int]) -> list[tuple[int, RecordError]]:
        from cvid.agreements import PackageRecordCheck

        with self.driver.read() as tx:
            logged = ledgerdb.package_entries(tx, AMENDMENT_SUBJECT, size, notices=True)
        logged = [(i, e) for i, e in logged if i not in skip]
        if not logged:
            return []  # (and a package the engine does not compile is never compiled)
        try:
            check: PackageRecordCheck | None = PackageRecordCheck(self.first_package())
        except Error as exc:
            check, problem = None, str(exc)
        out: list[tuple[int, RecordError]] = []
        for i, entry in logged:
            where = entry_where(i)
            try:
                if check is None:
                    raise RecordError(
                        "agreement",
                        where,
                        "an amendment part or notice of effect needs an agreement package to "
                        f"check it against; the ledger's does not compile ({problem})",
                    )
                check.check(i, _parse_entry(i, entry)[0], where)
            except RecordError as exc:
                out.append((i, exc))
        return out

    def first_package(self) -> Package:
        """The ledger's copy of the agreement package, compiled (once): the first version."""
        if self._first is None:
            from cvid.agreements import package_from_files

            self._first = package_from_files(
                self.package_files, f"{self.where} (the ledger's package)"
            )
        return self._first

    def check(self, batch: Sequence[Mapping[str, Any]] | Sequence[Candidate]) -> list[Prepared]:
        """Run every admission check on a batch without writing; raise the first refusal."""
        cands = candidates(batch)
        with self._lock, gc_paused(), self.driver.read() as tx:
            size = size_in(tx)
            self._catch_up(tx, size)
            state = _State(self.registry, size)
            now = datetime.fromtimestamp(self._stamp(tx), UTC)
            return self._check_batch(tx, state, self._prepare(cands), now)

    def submit(self, batch: Sequence[Mapping[str, Any]] | Sequence[Candidate]) -> list[int]:
        """Admit a batch of signed records, all or nothing; return their log indexes.

        Records are checked in order (a key registered earlier in the batch may sign later
        records in it), then appended with their index rows and the checkpoint covering them
        in one transaction. On any refusal raises :class:`RecordError` (an
        :class:`InputError`) naming the record and check; nothing is written.
        """
        result = self.submit_many([batch])[0]
        if isinstance(result, RecordError):
            raise result
        return result

    def submit_many(
        self, batches: Sequence[Sequence[Mapping[str, Any]] | Sequence[Candidate]]
    ) -> list[list[int] | RecordError]:
        """Admit several independent batches in one transaction (group commit).

        Each batch is all or nothing and is checked against the ledger plus the batches before
        it that passed; the result for each is its indexes or the :class:`RecordError` that
        refused it. Empty batches get ``[]``. One commit, one checkpoint, one fsync for all.
        """
        cand_batches = [candidates(b) for b in batches]
        with gc_paused():
            prepared = [self._prepare(c) if c else [] for c in cand_batches]
            self._catch_up_unlocked()
        with self._lock, gc_paused(), self.driver.write() as tx:
            size = size_in(tx)
            if size != self.log.size:
                self.log.reload()
            if self.log.size != size:
                raise StoreError(
                    f"{self.where}: the tree has {self.log.size} entries, the store {size}"
                )
            self._catch_up(tx, size)
            state = _State(self.registry, size)
            # One read of the store for every batch of the group, not one a batch.
            pre = _Prefetch.of(tx, prepared)
            stamp = self._stamp(tx)
            now = datetime.fromtimestamp(stamp, UTC)
            results: list[list[int] | RecordError] = []
            admitted: list[Prepared] = []
            for p in prepared:
                if not p:
                    results.append([])
                    continue
                try:
                    ok = self._check_batch(tx, state, p, now, pre=pre)
                except RecordError as exc:
                    results.append(exc)
                    continue
                first = size + len(admitted)
                results.append(list(range(first, first + len(ok))))
                admitted.extend(ok)
            if not admitted:
                return results
            entries = [p.entry for p in admitted]
            edge, tiles = self.log.stage(entries)
            append_in(tx, self.where, size, entries, tiles, edge.completed_nodes)
            rows = [
                ledgerdb.record_row(size + i, p.digest, p.record) for i, p in enumerate(admitted)
            ]
            values = [
                v for i, p in enumerate(admitted) for v in ledgerdb.value_rows(size + i, p.record)
            ]
            ledgerdb.insert_rows(tx, rows, values)
            del admitted, rows, values
            self._sign_in(tx, Checkpoint(self.log.origin, edge.size, edge.root()), stamp)
        self.log.adopt(edge)
        self.registry = state.registry
        self._known = edge.size
        return results

    def _sign_in(self, tx: SqlTx, cp: Checkpoint, now: int) -> SignedCheckpoint:
        """Sign ``cp`` with the log key and the clock at ``now`` (POSIX seconds, from
        :meth:`_stamp`), and store it in ``tx``.

        Refuses (:class:`StoreError`) if the last stored checkpoint is not a prefix of the tree:
        the log never signs two inconsistent checkpoints.
        """
        log_signer, clock_signer = self._keys()
        rows = tx.execute("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1")
        if rows:
            old = open_checkpoint(bytes(rows[0][1]), self.log.verifier).checkpoint
            if old.size > cp.size or tree_hash(old.size, self.log.reader(old.size)) != (old.root):
                raise StoreError(
                    f"{self.where}: refusing to sign: the stored tree does not extend the last "
                    f"signed checkpoint (size {old.size}); run `cvid log verify`"
                )
        signed = sign_checkpoint(cp, log_signer)
        text = signed.note.text
        note = Note(text, (*signed.note.signatures, cosign(text, clock_signer, now)))
        signed = SignedCheckpoint(cp, note)
        add_checkpoint_in(tx, cp.size, signed.encode())
        tx.execute("INSERT INTO checkpoint_times (size, time) VALUES (?, ?)", (cp.size, now))
        return signed

    def submit_files(self, paths: Sequence[Path]) -> list[int]:
        """Admit the records in ``paths`` (each one JSON object or JSON Lines) as one batch."""
        return self.submit(read_files(list(paths)))

    # -- reading -------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """The number of records in the ledger (picking up other writers' appends)."""
        return self.log.refresh()

    def index_of(self, digest: bytes) -> int | None:
        """The index of the logged record whose unsigned canonical SHA-256 is ``digest``."""
        with self.driver.read() as tx:
            return ledgerdb.digests_present(tx, [digest]).get(digest)

    def _clock_times(self, size: int) -> list[tuple[int, int]]:
        """``(size, time)`` of each clock-cosigned checkpoint of at most ``size`` entries."""
        with self._lock:
            last = self._times[-1][0] if self._times else 0
            if last < size:
                with self.driver.read() as tx:
                    more = tx.execute(
                        "SELECT size, time FROM checkpoint_times WHERE size > ? ORDER BY size",
                        (last,),
                    )
                self._times.extend((int(a), int(b)) for a, b in more)
            end = bisect.bisect_right(self._times, (size, math.inf))
            return self._times[:end]

    def logged_times(self, size: int | None = None) -> list[datetime | None]:
        """The logged time of each of the first ``size`` records (default: all).

        Entry ``i``'s logged time is the time of the first clock-cosigned checkpoint with
        ``i < checkpoint size ≤ size``; ``None`` when there is none, so the answer for a log
        prefix never changes as the ledger grows.
        """
        total = self.size
        n = total if size is None else size
        if not 0 <= n <= total:
            raise InputError(f"the ledger holds {total} records, not {n}")
        out: list[datetime | None] = [None] * n
        start = 0
        for cp_size, t in self._clock_times(n):
            when = datetime.fromtimestamp(t, UTC)
            for i in range(start, min(cp_size, n)):
                out[i] = when
            start = max(start, cp_size)
        return out

    def records_at(self, indices: Sequence[int], size: int | None = None) -> list[LoggedRecord]:
        """The records at ``indices`` (ascending, each once), with marks and logged times.

        Marks and times count only records and checkpoints below ``size`` (default: all).
        """
        n = self.size if size is None else size
        wanted = sorted({i for i in indices if 0 <= i < n})
        if len(wanted) != len(set(indices)):
            bad = min(set(indices) - set(wanted))
            raise InputError(f"no record {bad} in the ledger (it holds {n})")
        with self.driver.read() as tx:
            entries = ledgerdb.entries_at(tx, wanted)
            sup, dis = ledgerdb.marks(tx, wanted)
            stamps = ledgerdb.logged_stamps(tx, wanted, n)
        out = []
        for i in wanted:
            record, raw = _parse_entry(i, entries[i])
            t = stamps.get(i)
            logged = None if t is None else datetime.fromtimestamp(t, UTC)
            s = sup.get(i)
            out.append(
                LoggedRecord(
                    i,
                    record,
                    raw,
                    s if s is not None and s < n else None,
                    tuple(d for d in dis.get(i, ()) if d < n),
                    logged,
                )
            )
        return out

    def record(self, index: int) -> LoggedRecord:
        """The record at ``index``; :class:`InputError` if there is none."""
        return self.records_at([index])[0]

    def iter_records(self, size: int | None = None) -> Iterator[LoggedRecord]:
        """Every record below ``size`` (default: all), in log order, a page at a time."""
        n = self.size if size is None else size
        for lo in range(0, n, READ_STEP):
            yield from self.records_at(range(lo, min(n, lo + READ_STEP)), n)

    def records(self, size: int | None = None) -> list[LoggedRecord]:
        """Every record below ``size`` (default: all), in log order, with marks and times."""
        return list(self.iter_records(size))

    def query(self, q: RecordQuery) -> list[LoggedRecord]:
        """The records matching ``q``, by log index (see :class:`RecordQuery`)."""
        with self.driver.read() as tx:
            indices = ledgerdb.select(tx, q)
        return self.records_at(indices)

    def iter_query(self, q: RecordQuery) -> Iterator[LoggedRecord]:
        """Every record matching ``q`` (its ``limit`` ignored), a page at a time."""
        after = q.after
        while True:
            page = self.query(replace(q, after=after, limit=ledgerdb.MAX_LIMIT))
            yield from page
            if len(page) < ledgerdb.MAX_LIMIT:
                return
            after = page[-1].index

    def statements_about(self, subject: str, size: int) -> list[LoggedRecord]:
        """The ``statement`` records about ``subject`` below ``size``, in log order, through
        the index (the amendments of the agreement's package: :mod:`cvid.agreements.versions`).
        """
        return list(self.iter_query(RecordQuery(kind="statement", subject=subject, upto=size)))

    def receipt(self, index: int) -> Receipt:
        """A ``tlog-proof`` receipt for record ``index`` against the latest checkpoint."""
        return self.log.receipt(index)

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        """The latest signed (and clock-cosigned) checkpoint, verified with the log key."""
        return self.log.latest_checkpoint()

    # -- witnesses -----------------------------------------------------------------------

    def witness_policy(self) -> Policy | None:
        """The ``tlog-policy`` of the package's witnesses (None when it names none).

        Its ``log`` line is this ledger's log key, so it requires the log's signature too.
        """
        text = witness_policy_text(self.parties, self.log.verifier.vkey)
        return parse_policy(text, f"{self.where}: witnesses") if text else None

    def publish(
        self, timeout: float = 2.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> WitnessOutcome | None:
        """Ask the package's witnesses to cosign the latest checkpoint; None if there are none
        (or no checkpoint yet).

        Call it after a commit, outside the write transaction: it never raises because a
        witness is down, slow or refuses (see :func:`cvid.witness.publish.witness_checkpoint`)
        and returns within about ``timeout`` seconds. The cosignatures are kept in the store.
        """
        policy = self.witness_policy()
        signed = self.latest_checkpoint()
        if policy is None or signed is None:
            return None
        # The HTTP client is imported here, when a ledger publishes, not by every reader.
        from cvid.witness import endpoints_from_policy, witness_checkpoint

        endpoints = endpoints_from_policy(policy)
        return witness_checkpoint(self.log, signed, endpoints, policy, timeout, transport)


def _clock_mode(meta: Mapping[str, str], where: str) -> ClockMode:
    mode = meta.get("clock", "log")
    if mode not in CLOCK_MODES:
        raise StoreError(f"{where}: clock {mode!r} is not one of {', '.join(CLOCK_MODES)}")
    return "log" if mode == "log" else "reported"


def _parse_entry(index: int, entry: bytes) -> tuple[Record, dict[str, Any]]:
    try:
        raw = parse_json(entry)
        record = Record.model_validate(raw)
    except ValueError as exc:
        raise StoreError(f"log entry {index} is not an evidence record: {exc}") from None
    if record.signature is None:
        raise StoreError(f"log entry {index} is not a signed evidence record")
    try:
        without_signature(entry, record.signature)
    except InputError as exc:
        raise StoreError(f"log entry {index}: {exc}") from None
    return record, raw
