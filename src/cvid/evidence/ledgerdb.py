"""The ledger's tables in a cvid store: what is written beside each entry, and how it is queried.

These are the ledger's derived rows (see :mod:`cvid.store.schema`): written by the ledger in
the same transaction as the entries they describe, read back so that opening a ledger and
answering a query never replay the log. A verifier never trusts them: ``cvid ledger verify``
and ``cvid verdict verify`` recompute from the signed entries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from cvid.errors import InputError, StoreError
from cvid.evidence.admission import Prepared
from cvid.evidence.checks import Link
from cvid.evidence.record import Quantity, Record
from cvid.store import SqlTx

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)

#: Parameters per ``IN (...)`` list (SQLite's default limit is 32,766; keep statements small).
CHUNK = 500

KEY_KIND_TEXT = ("key_registration", "key_revocation")


def to_us(t: dt.datetime) -> int:
    """Microseconds since the epoch of an aware instant (exact, negative before 1970)."""
    return (t - _EPOCH) // _US


def from_us(us: int) -> dt.datetime:
    """The aware UTC instant ``us`` microseconds from the epoch."""
    return _EPOCH + dt.timedelta(microseconds=us)


def record_row(index: int, digest: bytes, r: Record) -> tuple[object, ...]:
    """The ``records`` row of record ``r`` at log ``index``."""
    speaker = r.source.speaker if r.source is not None else None
    return (
        index,
        digest,
        r.kind.value,
        r.agreement,
        r.party,
        r.subject,
        r.submitter,
        r.signer,
        speaker,
        to_us(r.observed_at),
        to_us(r.reported_at),
        r.supersedes,
        r.disputes,
    )


def value_rows(index: int, r: Record) -> list[tuple[object, ...]]:
    """The ``record_values`` rows of record ``r`` at log ``index``."""
    out: list[tuple[object, ...]] = []
    for name, v in r.values.items():
        if isinstance(v, Quantity):
            out.append((index, name, float(v.value), v.unit))
        else:
            out.append((index, name, None, None))
    return out


_RECORD_COLUMNS = (
    "idx, digest, kind, agreement, party, subject, submitter, signer, speaker, observed_at, "
    "reported_at, supersedes, disputes"
)


def _insert_many(
    tx: SqlTx, table: str, columns: str, width: int, rows: Sequence[tuple[object, ...]]
) -> None:
    """Insert ``rows`` many to a statement: per-statement overhead, not rows, dominates."""
    per = max(1, 600 // width)  # parameters a statement stay far below every backend's limit
    one = "(" + ",".join("?" * width) + ")"
    full = len(rows) - len(rows) % per
    if full:
        tx.executemany(
            f"INSERT INTO {table} ({columns}) VALUES " + ",".join([one] * per),
            ([v for row in rows[k : k + per] for v in row] for k in range(0, full, per)),
        )
    if full < len(rows):
        tx.executemany(f"INSERT INTO {table} ({columns}) VALUES {one}", rows[full:])


_RECORD_NAMES = tuple(c.strip() for c in _RECORD_COLUMNS.split(","))

#: A record's stored index rows: its ``records`` row and its ``record_values`` rows.
IndexRows = tuple[tuple[object, ...], list[tuple[object, ...]]]


def _collect(
    records: Iterable[Sequence[object]], values: Iterable[Sequence[object]]
) -> dict[int, IndexRows]:
    out: dict[int, IndexRows] = {}
    for row in records:
        # Drivers return the digest BLOB as bytes or memoryview; compare it as bytes.
        digest = row[1]
        plain = digest if type(digest) is bytes else bytes(cast(memoryview, digest))
        out[int(cast(int, row[0]))] = ((row[0], plain, *row[2:]), [])
    for row in values:
        i = int(cast(int, row[0]))
        got = out.get(i)
        if got is None:
            out.setdefault(-1 - i, ((), []))[1].append(tuple(row))
        else:
            got[1].append(tuple(row))
    return out


def index_rows(tx: SqlTx, indices: Sequence[int]) -> dict[int, IndexRows]:
    """The stored index rows of the records at ``indices``, by index. Values rows without a
    ``records`` row are kept under ``-1 - index`` (they are a finding of their own)."""
    wanted = sorted(set(indices))
    if wanted and wanted[-1] - wanted[0] + 1 == len(wanted):
        return index_rows_between(tx, wanted[0], wanted[-1] + 1)
    recs: list[Sequence[object]] = []
    vals: list[Sequence[object]] = []
    for part in _chunks(wanted):
        marks = _marks(len(part))
        recs.extend(
            tx.execute(f"SELECT {_RECORD_COLUMNS} FROM records WHERE idx IN ({marks})", part)
        )
        vals.extend(
            tx.execute(
                f"SELECT idx, name, number, unit FROM record_values WHERE idx IN ({marks})", part
            )
        )
    return _collect(recs, vals)


def index_rows_between(tx: SqlTx, start: int, end: int) -> dict[int, IndexRows]:
    """:func:`index_rows` of the records with index in ``[start, end)``."""
    recs = tx.execute(
        f"SELECT {_RECORD_COLUMNS} FROM records WHERE idx >= ? AND idx < ?", (start, end)
    )
    vals = tx.execute(
        "SELECT idx, name, number, unit FROM record_values WHERE idx >= ? AND idx < ?",
        (start, end),
    )
    return _collect(recs, vals)


def row_problem(index: int, p: Prepared, stored: IndexRows | None) -> str | None:
    """What is wrong with the stored index rows of the admitted record ``p`` at ``index``
    (None when they say exactly what the entry says)."""
    if stored is None or not stored[0]:
        return "the index has no records row for this entry"
    row, values = stored
    expected = record_row(index, p.digest, p.record)
    if row != expected:
        column = next(
            name for name, a, b in zip(_RECORD_NAMES, row, expected, strict=True) if a != b
        )
        return f"its records row is not what the entry says (column {column})"
    want = sorted(value_rows(index, p.record), key=lambda v: str(v[1]))
    if sorted(values, key=lambda v: str(v[1])) != want:
        return "its record_values rows are not what the entry says"
    return None


def insert_rows(
    tx: SqlTx, rows: Sequence[tuple[object, ...]], values: Sequence[tuple[object, ...]]
) -> None:
    """Insert the rows of newly appended records (inside the append's transaction)."""
    _insert_many(tx, "records", _RECORD_COLUMNS, 13, rows)
    _insert_many(tx, "record_values", "idx, name, number, unit", 4, values)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def _marks(n: int) -> str:
    return ",".join("?" * n)


def digests_present(tx: SqlTx, digests: Sequence[bytes]) -> dict[bytes, int]:
    """Which of ``digests`` are already logged, and at which index."""
    out: dict[bytes, int] = {}
    for part in _chunks(list(dict.fromkeys(digests))):
        for d, i in tx.execute(
            f"SELECT digest, idx FROM records WHERE digest IN ({_marks(len(part))})", part
        ):
            out[bytes(d)] = int(i)
    return out


def links(tx: SqlTx, indices: Sequence[int]) -> dict[int, Link]:
    """The reference-check facts of the records at ``indices``."""
    out: dict[int, Link] = {}
    for part in _chunks(sorted(set(indices))):
        for i, kind, submitter, agreement in tx.execute(
            f"SELECT idx, kind, submitter, agreement FROM records WHERE idx IN "
            f"({_marks(len(part))})",
            part,
        ):
            out[int(i)] = Link(str(kind), str(submitter), str(agreement))
    return out


def superseded_by(tx: SqlTx, indices: Sequence[int]) -> dict[int, int]:
    """For each of ``indices`` that a logged record corrects, the correcting record's index."""
    out: dict[int, int] = {}
    for part in _chunks(sorted(set(indices))):
        for target, i in tx.execute(
            f"SELECT supersedes, idx FROM records WHERE supersedes IN ({_marks(len(part))})",
            part,
        ):
            out[int(target)] = int(i)
    return out


def marks(tx: SqlTx, indices: Sequence[int]) -> tuple[dict[int, int], dict[int, list[int]]]:
    """Who corrects and who disputes each of ``indices``: ``(superseded_by, disputed_by)``."""
    disputed: dict[int, list[int]] = {}
    for part in _chunks(sorted(set(indices))):
        for target, i in tx.execute(
            f"SELECT disputes, idx FROM records WHERE disputes IN ({_marks(len(part))}) "
            "ORDER BY idx",
            part,
        ):
            disputed.setdefault(int(target), []).append(int(i))
    return superseded_by(tx, indices), disputed


def key_entries(tx: SqlTx, start: int, end: int) -> list[tuple[int, bytes]]:
    """The logged key records with index in ``[start, end)``, as ``(index, entry)``."""
    rows = tx.execute(
        "SELECT e.idx, e.data FROM records r JOIN entries e ON e.idx = r.idx "
        "WHERE r.kind IN (?, ?) AND r.idx >= ? AND r.idx < ? ORDER BY r.idx",
        (*KEY_KIND_TEXT, start, end),
    )
    return [(int(i), bytes(d)) for i, d in rows]


def package_entries(
    tx: SqlTx, subject: str, end: int, notices: bool = False
) -> list[tuple[int, bytes]]:
    """The logged ``statement`` records about ``subject`` (the amendment parts) with index
    below ``end`` and, if ``notices``, the ``notice`` records carrying a value ``notice``, as
    ``(index, entry)`` in log order (:mod:`cvid.agreements.versions` checks them in order)."""
    sql = (
        "SELECT e.idx, e.data FROM records r JOIN entries e ON e.idx = r.idx "
        "WHERE r.idx < ? AND r.kind = 'statement' AND r.subject = ?"
    )
    params: list[object] = [end, subject]
    if notices:
        sql += (
            " UNION SELECT e.idx, e.data FROM record_values v JOIN records r ON r.idx = v.idx "
            "JOIN entries e ON e.idx = v.idx "
            "WHERE v.name = 'notice' AND v.idx < ? AND r.kind = 'notice'"
        )
        params.append(end)
    rows = tx.execute(sql + " ORDER BY 1", params)
    return [(int(i), bytes(d)) for i, d in rows]


def indexed_size(tx: SqlTx) -> int:
    """One more than the largest indexed record (0 when none)."""
    row = tx.execute("SELECT MAX(idx) FROM records")[0]
    return 0 if row[0] is None else int(row[0]) + 1


@dataclass(frozen=True)
class RecordQuery:
    """A filter over the ledger's records; every field given must match.

    ``since``/``until`` bound ``observed_at`` (inclusive); ``after`` pages by log index (records
    with a larger index); ``limit`` caps the count (at most :data:`MAX_LIMIT`); ``upto`` keeps
    records with index below it (a checkpoint's size).
    """

    kind: str | None = None
    party: str | None = None
    submitter: str | None = None
    subject: str | None = None
    speaker: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    after: int | None = None
    upto: int | None = None
    limit: int | None = None


#: The most records one query returns.
MAX_LIMIT = 10_000


def select(tx: SqlTx, q: RecordQuery) -> list[int]:
    """The indices of the records matching ``q``, ascending."""
    where: list[str] = []
    params: list[object] = []
    for column in ("kind", "party", "submitter", "subject", "speaker"):
        value = getattr(q, column)
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if q.since is not None:
        where.append("observed_at >= ?")
        params.append(to_us(q.since))
    if q.until is not None:
        where.append("observed_at <= ?")
        params.append(to_us(q.until))
    if q.after is not None:
        where.append("idx > ?")
        params.append(q.after)
    if q.upto is not None:
        where.append("idx < ?")
        params.append(q.upto)
    limit = MAX_LIMIT if q.limit is None else q.limit
    if not 0 < limit <= MAX_LIMIT:
        raise InputError(f"limit {limit} is not between 1 and {MAX_LIMIT:,}")
    sql = "SELECT idx FROM records"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY idx LIMIT {int(limit)}"
    return [int(r[0]) for r in tx.execute(sql, params)]


def entries_at(tx: SqlTx, indices: Sequence[int]) -> dict[int, bytes]:
    """The logged entries at ``indices``."""
    out: dict[int, bytes] = {}
    for part in _chunks(sorted(set(indices))):
        for i, d in tx.execute(
            f"SELECT idx, data FROM entries WHERE idx IN ({_marks(len(part))})", part
        ):
            out[int(i)] = bytes(d)
    missing = set(indices) - out.keys()
    if missing:
        raise StoreError(f"the store has no entry at {min(missing)}, which its index names")
    return out


def checkpoint_times(tx: SqlTx, upto: int | None = None) -> list[tuple[int, int]]:
    """``(size, clock time)`` of each clock-cosigned checkpoint (of at most ``upto`` entries)."""
    if upto is None:
        rows = tx.execute("SELECT size, time FROM checkpoint_times ORDER BY size")
    else:
        rows = tx.execute(
            "SELECT size, time FROM checkpoint_times WHERE size <= ? ORDER BY size", (upto,)
        )
    return [(int(a), int(b)) for a, b in rows]


def logged_stamps(tx: SqlTx, indices: Sequence[int], upto: int) -> dict[int, int]:
    """Each of ``indices``' logged time: the clock time of the first clock-cosigned checkpoint
    of at most ``upto`` entries that covers it (absent when none does).

    One lookup per checkpoint, not per record: indices the last found checkpoint covers reuse
    it, so a ledger of many small commits is never read whole.
    """
    out: dict[int, int] = {}
    covered, stamp = -1, 0
    for i in sorted(indices):
        if i >= covered:
            rows = tx.execute(
                "SELECT size, time FROM checkpoint_times WHERE size > ? AND size <= ? "
                "ORDER BY size LIMIT 1",
                (i, upto),
            )
            if not rows:
                break
            covered, stamp = int(rows[0][0]), int(rows[0][1])
        out[i] = stamp
    return out


def last_clock_time(tx: SqlTx) -> int:
    """The latest clock time written (0 if none)."""
    rows = tx.execute("SELECT time FROM checkpoint_times ORDER BY size DESC LIMIT 1")
    return int(rows[0][0]) if rows else 0
