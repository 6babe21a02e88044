"""Where evidence comes from: ledger directories, static tiles, CSV imports (the I/O side).

The engine is pure; this module reads. A *source* yields the records a checkpoint covers, the
checkpoint itself and (for a ledger) the package the ledger was created for:

- a ledger directory (``ledger.json``, ``agreement/``, ``log/``): :func:`from_ledger`;
- a static ``tlog-tiles`` tree, a directory or an http(s) prefix, audited against the log's
  key: :func:`from_tiles`.

A source's ``records`` are a :class:`~cvid.agreements.index.LedgerRecords`: with the ledger's
clock mode and, from a ledger directory, each record's logged time (from the clock-cosigned
checkpoints), so every evaluation built from them sees "then" as the ledger defines it. Tiles
carry no cosigned checkpoints: their records have no logged times.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cvid.agreements.index import ClockMode, Evidence, LedgerRecords, View
from cvid.audit import TileSource, audit, read_vkey
from cvid.errors import InputError, VerificationError
from cvid.evidence.importer import load_mapping, read_csv, table_records
from cvid.evidence.ledger import Ledger
from cvid.evidence.record import Record
from cvid.evidence.signing import RecordError, parse_json, sign_record, verify_record
from cvid.tlog import merkle
from cvid.tlog.checkpoint import Checkpoint
from cvid.tlog.note import Signer, Verifier
from cvid.tlog.tiles import TILE_WIDTH, decode_bundle, tile_for_size

LEDGER_META = "ledger.json"


@dataclass(frozen=True)
class Source:
    """Records ``(index, record)`` for indices ``0..checkpoint.size-1``, and where from.

    ``records`` is a :class:`LedgerRecords` (a list of pairs that also carries the clock mode
    and the logged times); :meth:`evidence` indexes it.
    """

    records: list[tuple[int, Record]]
    checkpoint: Checkpoint | None
    package_dir: Path | None
    name: str

    @property
    def clock(self) -> ClockMode:
        """The ledger's clock mode (``reported`` for records that carry none)."""
        r = self.records
        return r.clock if isinstance(r, LedgerRecords) else ClockMode.REPORTED

    def evidence(self) -> Evidence:
        """The records indexed for the engine, with their clock and logged times."""
        return Evidence(self.records)


def is_ledger(path: Path) -> bool:
    """Whether ``path`` is a ledger directory."""
    return (path / LEDGER_META).is_file()


def from_ledger(directory: Path, size: int | None = None) -> Source:
    """The records of the ledger in ``directory`` and a checkpoint covering them.

    Without ``size``: every record, and the latest checkpoint (signed now if the ledger holds
    its log key and no checkpoint covers them yet; otherwise the records the latest signed
    checkpoint covers). With ``size``: the first ``size`` records, and the checkpoint of that
    size recomputed from the stored tree (it must exist: size ≤ the log's size).

    The records carry the ledger's clock mode and their logged times, counting only the
    clock-cosigned checkpoints of at most the returned checkpoint's size (so the times of a
    prefix never change as the ledger grows).
    """
    with Ledger.open(directory) as ledger:
        log = ledger.log
        cp: Checkpoint | None
        if size is None:
            try:
                cp = log.checkpoint().checkpoint
            except InputError:
                latest = log.latest_checkpoint()
                cp = latest.checkpoint if latest is not None else None
        else:
            if size > log.size:
                raise VerificationError(
                    f"{directory}: the ledger holds {log.size} records, fewer than {size}"
                )
            root = merkle.tree_hash(size, log.reader()) if size else _EMPTY
            cp = Checkpoint(log.origin, size, root)
        n = cp.size if cp is not None else ledger.size
        times = ledger.logged_times(n)
        pairs = [(r.index, r.record) for r in ledger.records()[:n]]
        records = LedgerRecords(pairs, ledger.clock_mode, dict(enumerate(times)))
        return Source(records, cp, ledger.package_dir, str(directory))


_EMPTY = hashlib.sha256(b"").digest()


def from_tiles(
    location: str, verifier: Verifier, size: int, clock: ClockMode | str = ClockMode.REPORTED
) -> Source:
    """The first ``size`` records of a log served as tiles, checked end to end.

    Audits the served tree against the log key (signature, every entry, every tile), then
    recomputes the root of the first ``size`` entries and checks each record's own signature.
    Raises :class:`VerificationError` if anything does not hold. Tiles do not say the ledger's
    clock mode (``clock`` is taken as given) nor when records were logged: under clock ``log``
    the records cannot be evaluated as known then.
    """
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
    finally:
        src.close()
    root = merkle.root_of([merkle.leaf_hash(e) for e in entries]) if entries else _EMPTY
    pairs = [(i, record_of(e, f"{location} entry {i}")) for i, e in enumerate(entries)]
    records = LedgerRecords(pairs, clock, None)
    return Source(records, Checkpoint(served.origin, size, root), None, location)


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
) -> Source:
    """The source a verdict names: a ledger directory, or tiles checked with ``vkey``.

    ``clock`` and ``view`` are the verdict's (``clock`` absent: ``reported``). A ledger
    directory gives its own clock mode and logged times (a verdict claiming another clock then
    does not re-derive). Tiles give neither: they are read under the verdict's clock, and a
    verdict *as known then* under clock ``log`` is refused with :class:`InputError` before
    anything is read — its logged times are in the ledger's cosigned checkpoints, not in tiles.
    """
    path = Path(log)
    if not log.startswith(("http://", "https://")) and is_ledger(path):
        return from_ledger(path, size)
    if vkey is None:
        raise InputError(f"{log}: not a ledger directory; for tiles give the log's --vkey")
    try:
        mode = ClockMode(clock if clock is not None else ClockMode.REPORTED)
    except ValueError:
        raise InputError(f"the verdict names an unknown clock {clock!r}") from None
    if mode is ClockMode.LOG and view == View.THEN.value:
        raise InputError(
            f"{log}: cannot re-derive this verdict from tiles: it is as known then under the "
            "ledger's clock 'log', which rests on when each record was logged; those times are "
            "in the ledger's clock-cosigned checkpoints, which tlog-tiles do not carry. Verify "
            "it against the ledger directory (--log DIR)"
        )
    return from_tiles(log, read_vkey(vkey), size, mode)


def ledger_meta(directory: Path) -> dict[str, object]:
    """The ledger's ``ledger.json`` (for messages)."""
    try:
        data = json.loads((directory / LEDGER_META).read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{directory}: cannot read {LEDGER_META}: {exc}") from None
    return data if isinstance(data, dict) else {}
