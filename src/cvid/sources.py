"""Where evidence comes from: ledgers and static tiles (the I/O side of the engine).

The agreements engine is pure; this module reads. A *source* yields the records a checkpoint
covers, the checkpoint itself and (for a ledger) the package the ledger was created for:

- a ledger (a directory holding ``ledger.db``, or a PostgreSQL URL): :func:`from_ledger`. By
  default it reads, through the ledger's index, only the records the package's terms and steps
  read (and those that correct or dispute them); ``verify=True`` instead re-reads every entry,
  recomputes the tree's root from the entries and the logged times from the clock's
  signatures, and replays admission over the entries (:mod:`cvid.evidence.replay`), trusting
  nothing derived;
- a static ``tlog-tiles`` tree, a directory or an http(s) prefix, audited against the log's
  key: :func:`from_tiles`, which replays admission too when given the agreement's package.

A source that replays admission fails (:class:`VerificationError`, naming the first entry and
check) when any entry it covers is not admissible: a verdict never rests on a log holding an
entry the ledger would have refused, and such an entry is never evidence.

A source's ``records`` are a :class:`~cvid.agreements.evidence_index.LedgerRecords`: with
the ledger's clock mode and, from a ledger, each record's logged time, so every evaluation built
from them sees "then" as the ledger defines it. Tiles carry no cosigned checkpoints: their records
have no
logged times.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cvid.agreements import ClockMode, Evidence, LedgerRecords, Package, View, package_from_files
from cvid.errors import Error, InputError, VerificationError
from cvid.evidence import (
    AgreementParties,
    Ledger,
    Prepared,
    Record,
    RecordError,
    Replay,
    is_ledger,
    is_url,
    ledgerdb,
    parse_json,
    parse_parties,
    sign_record,
    verify_record,
)
from cvid.tlog import (
    TILE_WIDTH,
    Checkpoint,
    CosignerKey,
    Signer,
    Verifier,
    decode_bundle,
    leaf_hash,
    open_checkpoint,
    root_of,
    tile_for_size,
    tree_hash,
)

__all__ = [
    "Source",
    "example_signer",
    "from_ledger",
    "from_tiles",
    "import_declarations",
    "is_ledger",
    "parties_of",
    "record_of",
    "source_of",
    "verdict_source",
]

_EMPTY = hashlib.sha256(b"").digest()


@dataclass(frozen=True)
class Source:
    """Records ``(index, record)`` for indices ``0..checkpoint.size-1`` (all of them, or those
    an evaluation of ``package`` needs), and where from.

    ``records`` is a :class:`LedgerRecords` (a list of pairs that also carries the clock mode
    and the logged times); :meth:`evidence` indexes it. ``package`` is the ledger's own copy
    of its agreement package (None for tiles). ``meta`` is the ledger's metadata (empty for
    tiles).
    """

    records: list[tuple[int, Record]]
    checkpoint: Checkpoint | None
    package_files: Mapping[str, bytes] | None
    name: str
    meta: Mapping[str, str] = field(default_factory=dict)

    @functools.cached_property
    def package(self) -> Package | None:
        """The ledger's copy of its package, compiled (None for tiles)."""
        if self.package_files is None:
            return None
        return package_from_files(self.package_files, f"{self.name} (the ledger's package)")

    @property
    def clock(self) -> ClockMode:
        """The ledger's clock mode (``reported`` for records that carry none)."""
        r = self.records
        return r.clock if isinstance(r, LedgerRecords) else ClockMode.REPORTED

    def evidence(self) -> Evidence:
        """The records indexed for the engine, with their clock and logged times."""
        return Evidence(self.records)


def _needed(ledger: Ledger, package: Package, n: int) -> list[int]:
    """The indices below ``n`` an evaluation of ``package`` reads: records with a party that
    carry a value a term reads or are about a step's subject, and the records that correct or
    dispute those (the engine hides and flags with them).

    Not bounded by an as-of date: a record observed after it may speak for instants before it
    (a period that began earlier, a figure's own ``as_of``), and the index keeps only
    ``observed_at``. The engine itself decides what each record says at each instant."""
    # "notice": a party's notices of suspension or withdrawal (cvid.agreements.notices).
    names = sorted({t.quantity for t in package.terms} | {"notice"})
    subjects = sorted({s.subject for s in package.steps})
    with ledger.driver.read() as tx:
        found: set[int] = set()
        for part in _chunks(names):
            found.update(
                int(r[0])
                for r in tx.execute(
                    "SELECT DISTINCT v.idx FROM record_values v JOIN records r ON r.idx = v.idx "
                    f"WHERE v.name IN ({','.join('?' * len(part))}) AND r.party IS NOT NULL "
                    "AND r.idx < ?",
                    [*part, n],
                )
            )
        for part in _chunks(subjects):
            found.update(
                int(r[0])
                for r in tx.execute(
                    f"SELECT r.idx FROM records r WHERE r.subject IN ({','.join('?' * len(part))})"
                    " AND r.party IS NOT NULL AND r.idx < ?",
                    [*part, n],
                )
            )
        sup, dis = ledgerdb.marks(tx, sorted(found))
    found.update(i for i in sup.values() if i < n)
    found.update(i for ds in dis.values() for i in ds if i < n)
    return sorted(found)


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i : i + ledgerdb.CHUNK] for i in range(0, len(items), ledgerdb.CHUNK)]


def from_ledger(
    location: str | Path,
    size: int | None = None,
    *,
    package: Package | None = None,
    verify: bool = False,
) -> Source:
    """The records of the ledger at ``location`` and a checkpoint covering them.

    Opens the ledger read-only for :func:`source_of` (see there).
    """
    with Ledger.open(location, readonly=True) as ledger:
        return source_of(ledger, size, package=package, verify=verify)


def source_of(
    ledger: Ledger,
    size: int | None = None,
    *,
    package: Package | None = None,
    verify: bool = False,
) -> Source:
    """The records of an open ``ledger`` and a checkpoint covering them.

    Without ``size``: the records the latest signed checkpoint covers. With ``size``: the
    first ``size`` records and the checkpoint of that size recomputed from the stored tree (it
    must exist: size ≤ the log's size). Reads never write: nothing is signed here.

    Records: those an evaluation of ``package`` (default: the ledger's own) needs, whenever
    observed (a record observed after an instant may speak for it) — or, with ``verify``,
    every entry re-read and re-checked (see the module's docstring). They carry the ledger's
    clock mode and their logged times, counting only the clock-cosigned checkpoints of at most
    the returned checkpoint's size.
    """
    location = ledger.where
    log = ledger.log
    total = ledger.size
    cp: Checkpoint | None
    if size is None:
        latest = log.latest_checkpoint()
        cp = latest.checkpoint if latest is not None else None
        n = cp.size if cp is not None else 0
    else:
        if size > total:
            raise VerificationError(
                f"{location}: the ledger holds {total} records, fewer than {size}"
            )
        n = size
        cp = None
    if verify:
        pairs, root, times = _verified(ledger, n)
        if cp is not None and cp.root != root:
            raise VerificationError(
                f"{location}: the entries' root at size {n} is not the signed "
                "checkpoint's: the stored entries were changed"
            )
        logged: dict[int, dt.datetime | None] = dict(enumerate(times))
    else:
        if cp is None and size is not None:
            root = tree_hash(n, log.reader()) if n else _EMPTY
        pkg = package or package_from_files(
            ledger.package_files, f"{location} (the ledger's package)"
        )
        got = ledger.records_at(_needed(ledger, pkg, n), n)
        pairs = [(r.index, r.record) for r in got]
        logged = {r.index: r.logged_at for r in got}
    if cp is None and size is not None:
        cp = Checkpoint(log.origin, n, root)
    records = LedgerRecords(pairs, ledger.clock_mode, logged)
    return Source(records, cp, ledger.package_files, str(location), dict(ledger.meta))


def parties_of(package: Package) -> AgreementParties:
    """What admission needs from a compiled package: its id, parties and initial keys."""
    return parse_parties(package.model.model_dump(mode="json"), package.file)


def admitted_records(
    parties: AgreementParties,
    entries: Sequence[bytes],
    logged_at: Sequence[dt.datetime | None] | None,
    where: str,
) -> list[tuple[int, Record]]:
    """The records of ``entries`` (indices 0..n-1) admission admits when replayed; raise
    :class:`VerificationError` naming the first inadmissible entry and its check."""
    workers = max(1, min(os.cpu_count() or 1, 4))
    state = Replay(parties)
    pairs: list[tuple[int, Record]] = []
    with ThreadPoolExecutor(workers, thread_name_prefix="cvid-verify") as pool:
        for lo in range(0, len(entries), 4096):
            hi = min(len(entries), lo + 4096)
            times = None if logged_at is None else logged_at[lo:hi]
            outcomes = state.feed(entries[lo:hi], times, pool=pool, workers=workers)
            pairs.extend(
                (i, o.record) for i, o in enumerate(outcomes, lo) if isinstance(o, Prepared)
            )
    if state.findings:
        more = len(state.findings) - 1
        raise VerificationError(
            f"{where}: {state.findings[0]} (an entry admission refuses is never evidence"
            + (f"; {more} more such entries" if more else "")
            + "; see `cvid ledger verify`)"
        )
    return pairs


def _verified(
    ledger: Ledger, n: int
) -> tuple[list[tuple[int, Record]], bytes, list[dt.datetime | None]]:
    """The records below ``n`` admission admits when replayed over the entries themselves
    (:func:`admitted_records`); the root recomputed from the entries; logged times from the
    stored checkpoints' verified clock cosignatures (the index's times are not used)."""
    entries: list[bytes] = []
    for lo in range(0, n, 4096):
        entries.extend(ledger.log.read_entries(lo, min(n, lo + 4096)))
    hashes = [leaf_hash(e) for e in entries]
    root = root_of(hashes) if hashes else _EMPTY
    times: list[dt.datetime | None] = [None] * n
    start, last = 0, 0
    key = ledger.clock_key
    for cp_size, data in ledger.driver.checkpoints():
        if cp_size > n:
            break
        try:
            signed = open_checkpoint(data, ledger.log.verifier)
            t = key.verify(signed.note)
        except Error as exc:
            raise VerificationError(
                f"{ledger.where}: checkpoint of size {cp_size}: {exc.diagnostics()}"
            ) from None
        last = max(last, t)
        for i in range(start, cp_size):
            times[i] = dt.datetime.fromtimestamp(last, dt.UTC)
        start = max(start, cp_size)
    pairs = admitted_records(ledger.parties, entries, times, ledger.where)
    return pairs, root, times


def from_tiles(
    location: str,
    verifier: Verifier,
    size: int,
    clock: ClockMode | str = ClockMode.REPORTED,
    parties: AgreementParties | None = None,
    clock_key: CosignerKey | None = None,
) -> Source:
    """The first ``size`` records of a log served as tiles, checked end to end.

    Audits the served tree against the log key (signature, every entry, every tile), then
    recomputes the root of the first ``size`` entries and, given the agreement's ``parties``
    (its package), replays admission over them (:func:`admitted_records`; without logged
    times, so ``reported_at`` is checked only against ``observed_at``); without, checks each
    record's own signature only. Raises :class:`VerificationError` if anything does not hold.
    Tiles do not say the ledger's clock mode (``clock`` is taken as given). With the ledger's
    ``clock_key`` and a ``checkpoints/`` history beside the tiles, the records carry their
    logged times re-derived from it (:func:`cvid.witnessed.history_times`); otherwise none,
    and under clock ``log`` the records cannot be evaluated as known then.
    """
    # Tiles are read over HTTP too: the client is imported when tiles are read, not by every
    # command that reads a ledger.
    from cvid.audit import TileSource, audit
    from cvid.witnessed import history_times

    times: list[dt.datetime | None] | None = None
    src = TileSource(location)
    try:
        report = audit(src, verifier)
        if not report.ok:
            raise VerificationError(f"{location}: audit failed: {'; '.join(report.problems)}")
        served = report.checkpoint
        if size > served.size:
            raise VerificationError(
                f"{location}: the served log has {served.size} entries, fewer than {size}"
            )
        entries: list[bytes] = []
        for n in range((size + TILE_WIDTH - 1) // TILE_WIDTH):
            tile = tile_for_size(0, n, served.size)
            entries.extend(decode_bundle(src.read(tile.entries_path()), tile.entries_path()))
        entries = entries[:size]
        hashes = [leaf_hash(e) for e in entries]
        if clock_key is not None:
            times = history_times(src, verifier, clock_key, hashes)
    finally:
        src.close()
    root = root_of(hashes) if entries else _EMPTY
    if parties is not None:
        pairs = admitted_records(parties, entries, times, location)
    else:
        pairs = [(i, record_of(e, f"{location} entry {i}")) for i, e in enumerate(entries)]
    logged = None if times is None else dict(enumerate(times))
    records = LedgerRecords(pairs, clock, logged)
    return Source(records, Checkpoint(served.origin, size, root), None, location, {})


def record_of(entry: bytes, where: str) -> Record:
    """The evidence record in a log entry, its own signature checked."""
    try:
        return verify_record(parse_json(entry), where)
    except (ValueError, RecordError) as exc:
        raise VerificationError(f"{where}: not a signed evidence record: {exc}") from None


def example_signer(agreement: str, party: str) -> Signer:
    """The example key of ``party`` in an example package: derived from a PUBLIC seed.

    Anyone can compute it, so it proves nothing; examples use it so that each party's
    declarations are signed by a key registered for that party (see examples/new-start).
    """
    seed = hashlib.sha256(f"cvid example key: {agreement}/{party}".encode()).digest()
    return Signer(f"{agreement}-{party.lower()}-example", seed)


def import_declarations(
    ledger: Ledger, csv_path: Path, mapping_path: Path, keys: Mapping[str, Signer]
) -> list[int]:
    """Admit each row of a CSV as a record signed by the key of the row's ``party``.

    ``cvid import csv`` signs a whole table with one key; a table of several parties' own
    declarations needs each row signed by its party. One batch, all or nothing.
    """
    from cvid.evidence import load_mapping, read_csv, table_records  # demo only

    try:
        data = csv_path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {csv_path}: {exc.strerror}") from None
    mapping = load_mapping(mapping_path)
    batch = []
    for where, obj in table_records(mapping, read_csv(data, str(csv_path)), ledger.clock()):
        party = obj.get("party")
        key = keys.get(str(party))
        if key is None:
            raise InputError(f"{where}: no key for party {party!r}")
        obj.setdefault("submitter", party)
        batch.append(sign_record(obj, key))
    return ledger.submit(batch)


def verdict_source(
    log: str,
    size: int,
    vkey: str | None,
    *,
    clock: str | None = None,
    view: str | None = None,
    package: Package | None = None,
    clock_vkey: str | None = None,
) -> Source:
    """The source a verdict names: a ledger (re-checked from its entries), or tiles checked
    with ``vkey`` (admission replayed over them with ``package``'s parties and keys, when
    given).

    ``clock`` and ``view`` are the verdict's (``clock`` absent: ``reported``). A ledger gives
    its own clock mode and logged times, recomputed from the clock's signatures (a verdict
    claiming another clock then does not re-derive). Tiles give neither: they are read under
    the verdict's clock. A verdict *as known then* under clock ``log`` re-derives from tiles
    only with the ledger's ``clock_vkey`` and the export's ``checkpoints/`` history (each
    record's logged time from the clock-cosigned checkpoints); without either it is refused
    with :class:`InputError` naming what is missing.
    """
    from cvid.audit import TileSource, read_vkey
    from cvid.witnessed import history_sizes

    if not log.startswith(("http://", "https://")) and is_ledger(log if is_url(log) else Path(log)):
        return from_ledger(log if is_url(log) else Path(log), size, verify=True)
    if vkey is None:
        raise InputError(f"{log}: not a ledger; for tiles give the log's --vkey")
    try:
        mode = ClockMode(clock if clock is not None else ClockMode.REPORTED)
    except ValueError:
        raise InputError(f"the verdict names an unknown clock {clock!r}") from None
    key: CosignerKey | None = None
    if mode is ClockMode.LOG and view == View.THEN.value:
        with TileSource(log) as src:
            history = history_sizes(src) is not None
        if not history or clock_vkey is None:
            lacking = "a checkpoints/ history" if not history else "the clock's key (--clock-vkey)"
            raise InputError(
                f"{log}: cannot re-derive this verdict from tiles without {lacking}: it is as "
                "known then under the ledger's clock 'log', which rests on when each record "
                "was logged; those times are in the ledger's clock-cosigned checkpoints "
                "(`cvid log export` writes them to checkpoints/). Or verify it against the "
                "ledger (--log DIR)"
            )
        try:
            key = CosignerKey.from_vkey(clock_vkey.strip())
        except Error as exc:
            raise InputError(f"--clock-vkey: {exc.diagnostics()}") from None
    parties = parties_of(package) if package is not None else None
    return from_tiles(log, read_vkey(vkey), size, mode, parties, key)
