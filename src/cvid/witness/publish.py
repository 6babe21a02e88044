"""The log's side of witnessing: gather cosignatures, keep them in the store, publish them.

A log (or a ledger's log) calls :func:`witness_checkpoint` after it signs a checkpoint::

    from cvid.witness.publish import witness_checkpoint
    from cvid.witness.client import WitnessEndpoint
    from cvid.witness.policy import parse_policy

    outcome = witness_checkpoint(log, log.checkpoint(), endpoints, policy, timeout=2.0)
    outcome.note          # the cosigned note: the log's signature first, then cosignatures
    outcome.quorum        # None without a policy; else whether the policy's quorum holds
    outcome.failures      # the witnesses that did not cosign, and why

Each witness is sent a proof from the size it last cosigned as this store records it (0 if it
never did; a 409 corrects the guess). Verified cosignatures go into the store's append-only
``witness_cosignatures`` table (SQL stores; a log on another driver is witnessed but keeps
nothing), keyed by checkpoint size and witness vkey.

:func:`export_cosigned` writes the tiles with ``checkpoint`` cosigned, and the history of the
log's checkpoints beside them:

``checkpoints/<size>``
    every checkpoint the log signed, as its note with every cosignature gathered for it (the
    log's signature first, then the ones stored with the note, such as a ledger's clock, then the
    witnesses' in the order of their vkeys);
``checkpoints/index``
    the sizes present, one decimal a line, ascending (a static server lists no directories).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

from cvid.errors import StoreError
from cvid.store import Log, LogDriver, SqlDriver, SqlTx, export_tiles, write_atomic
from cvid.tlog import Note, NoteSignature, Receipt, SignedCheckpoint, open_checkpoint, parse
from cvid.witness.client import DEFAULT_TIMEOUT, Gathered, WitnessEndpoint, gather
from cvid.witness.policy import Policy, PolicyResult
from cvid.witness.protocol import parse_cosignatures

__all__ = [
    "HISTORY_DIR",
    "WitnessOutcome",
    "WitnessedLog",
    "add_cosignatures_in",
    "cosignatures_in",
    "cosigned_note",
    "cosigned_receipt",
    "endpoints_from_policy",
    "export_cosigned",
    "history_checkpoint",
    "history_index",
    "stored_cosignatures",
    "witness_checkpoint",
    "witness_sizes",
    "witness_sizes_in",
]

HISTORY_DIR = "checkpoints"


class WitnessedLog(Protocol):
    """What witnessing needs of a log: its storage and consistency proofs (a :class:`Log`)."""

    @property
    def driver(self) -> object:
        """The log's storage; an :class:`SqlDriver` keeps the cosignatures."""
        ...

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """The RFC 9162 proof from ``old_size`` to ``new_size``."""
        ...


# -- the store ---------------------------------------------------------------------------------


def add_cosignatures_in(tx: SqlTx, size: int, lines: Mapping[str, str]) -> int:
    """Insert ``witness vkey → signature line`` for the checkpoint of ``size``; how many were new.

    A witness already recorded at that size keeps its first line (the table is append-only).
    """
    have = {
        str(r[0])
        for r in tx.execute("SELECT witness FROM witness_cosignatures WHERE size = ?", (size,))
    }
    new = [(size, w, line) for w, line in sorted(lines.items()) if w not in have]
    if new:
        tx.executemany(
            "INSERT INTO witness_cosignatures (size, witness, line) VALUES (?, ?, ?)", new
        )
    return len(new)


def cosignatures_in(tx: SqlTx, size: int | None = None) -> dict[int, dict[str, str]]:
    """``size → {witness vkey → line}`` for one size, or every size when ``size`` is None."""
    if size is None:
        rows = tx.execute("SELECT size, witness, line FROM witness_cosignatures")
    else:
        rows = tx.execute(
            "SELECT size, witness, line FROM witness_cosignatures WHERE size = ?", (size,)
        )
    out: dict[int, dict[str, str]] = {}
    for s, w, line in rows:
        out.setdefault(int(s), {})[str(w)] = str(line)
    return out


def witness_sizes_in(tx: SqlTx) -> dict[str, int]:
    """``witness vkey → largest size it cosigned`` as the store records it."""
    rows = tx.execute("SELECT witness, MAX(size) FROM witness_cosignatures GROUP BY witness")
    return {str(w): int(s) for w, s in rows}


def _sql(driver: object) -> SqlDriver | None:
    return driver if isinstance(driver, SqlDriver) else None


def stored_cosignatures(driver: object, size: int | None = None) -> dict[int, dict[str, str]]:
    """:func:`cosignatures_in` in a read transaction of ``driver`` (empty if not SQL)."""
    sql = _sql(driver)
    if sql is None:
        return {}
    with sql.read() as tx:
        return cosignatures_in(tx, size)


def witness_sizes(driver: object) -> dict[str, int]:
    """:func:`witness_sizes_in` in a read transaction of ``driver`` (empty if not SQL)."""
    sql = _sql(driver)
    if sql is None:
        return {}
    with sql.read() as tx:
        return witness_sizes_in(tx)


def _with_lines(n: Note, lines: Mapping[str, str]) -> Note:
    """``n`` with the signature lines added, by vkey order, skipping any it already has."""
    have = {(s.name, s.key_id) for s in n.signatures}
    extra: list[NoteSignature] = []
    for _, line in sorted(lines.items()):
        for s in parse_cosignatures((line + "\n").encode()):
            if (s.name, s.key_id) not in have:
                have.add((s.name, s.key_id))
                extra.append(s)
    return Note(n.text, n.signatures + tuple(extra))


def cosigned_note(driver: object, signed: SignedCheckpoint) -> bytes:
    """``signed``'s note with every cosignature stored for its size added after its own lines."""
    lines = stored_cosignatures(driver, signed.checkpoint.size).get(signed.checkpoint.size, {})
    return _with_lines(signed.note, lines).encode()


# -- witnessing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WitnessOutcome:
    """What :func:`witness_checkpoint` did: the cosigned note, who cosigned, the policy's say."""

    note: bytes
    gathered: Gathered
    policy: PolicyResult | None
    stored: int

    @property
    def quorum(self) -> bool | None:
        """Whether the policy's quorum holds on :attr:`note` (None without a policy)."""
        return None if self.policy is None else self.policy.quorum

    @property
    def failures(self) -> dict[str, str]:
        """Witness name → why it did not cosign."""
        return self.gathered.failures


def endpoints_from_policy(policy: Policy) -> list[WitnessEndpoint]:
    """The policy's witnesses that have a URL, as endpoints (the others cannot be asked)."""
    return [
        WitnessEndpoint(w.url.rstrip("/"), w.key)
        for w in policy.witnesses.values()
        if w.url is not None
    ]


def witness_checkpoint(
    log: WitnessedLog,
    signed: SignedCheckpoint,
    witnesses: Sequence[WitnessEndpoint],
    policy: Policy | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
) -> WitnessOutcome:
    """Ask ``witnesses`` to cosign ``signed`` (a checkpoint of ``log``), store what they sign.

    Never raises because a witness is down, slow or refuses: each such witness is in
    :attr:`WitnessOutcome.failures`. Returns within about ``timeout`` seconds. The returned
    note holds every cosignature stored for the checkpoint's size, from this call or earlier
    ones; with a ``policy``, :attr:`WitnessOutcome.quorum` says whether it meets the quorum.
    A :class:`StoreError` only if the store cannot record the cosignatures.
    """

    def prove(old: int, new: int) -> list[bytes]:
        return log.consistency_proof(old, new)

    size = signed.checkpoint.size
    sizes = witness_sizes(log.driver)
    got = gather(signed, witnesses, prove, timeout, sizes, transport)
    lines = {c.witness.key.vkey: c.line for c in got.cosigned}
    stored = 0
    sql = _sql(log.driver)
    if sql is not None and lines:
        with sql.write() as tx:
            stored = add_cosignatures_in(tx, size, lines)
    note = cosigned_note(log.driver, signed) if sql is not None else got.note
    result = None if policy is None else policy.evaluate(note)
    return WitnessOutcome(note, got, result, stored)


def cosigned_receipt(log: Log, index: int) -> Receipt:
    """:meth:`Log.receipt` with its checkpoint carrying every stored witness cosignature."""
    rec = log.receipt(index)
    signed = open_checkpoint(rec.checkpoint, log.verifier)
    return dataclasses.replace(rec, checkpoint=cosigned_note(log.driver, signed))


# -- publishing --------------------------------------------------------------------------------


def history_index(driver: LogDriver, upto: int) -> bytes:
    """``checkpoints/index`` of the log in ``driver`` as an export of size ``upto`` writes it:
    the sizes of its signed checkpoints of at most ``upto`` entries, one decimal a line."""
    sql = _sql(driver)
    if sql is not None:
        with sql.read() as tx:
            rows = tx.execute("SELECT size FROM checkpoints WHERE size <= ? ORDER BY size", (upto,))
        sizes = [int(r[0]) for r in rows]
    else:
        sizes = [n for n, _ in driver.checkpoints() if n <= upto]
    return "".join(f"{n}\n" for n in sizes).encode()


def history_checkpoint(driver: LogDriver, size: int) -> bytes | None:
    """``checkpoints/<size>`` as an export writes it: the checkpoint the log signed at ``size``
    with every cosignature stored for it (None when it signed none of that size)."""
    sql = _sql(driver)
    if sql is not None:
        with sql.read() as tx:
            rows = tx.execute("SELECT note FROM checkpoints WHERE size = ?", (size,))
        data = bytes(rows[0][0]) if rows else None
    else:
        data = next((d for n, d in driver.checkpoints() if n == size), None)
    if data is None:
        return None
    lines = stored_cosignatures(driver, size).get(size, {})
    return _with_lines(parse(data), lines).encode()


def export_cosigned(
    log: Log, out: Path, progress: Callable[[int, int], None] | None = None
) -> dict[str, int]:
    """:func:`cvid.store.export.export_tiles` with the cosigned ``checkpoint`` and the history
    ``checkpoints/<size>`` and ``checkpoints/index`` (see the module); counts as it returns,
    plus ``history`` (checkpoint files written or rewritten with new cosignatures)."""
    counts = export_tiles(log, out, progress, lambda s: cosigned_note(log.driver, s))
    every = stored_cosignatures(log.driver)
    history = out / HISTORY_DIR
    sizes: list[int] = []
    written = 0
    size = counts["size"]
    for n, data in log.driver.checkpoints():
        if n > size:
            continue  # signed by another process after this export's checkpoint
        note = _with_lines(parse(data), every.get(n, {})).encode()
        sizes.append(n)
        path = history / str(n)
        try:
            same = path.read_bytes() == note
        except FileNotFoundError:
            same = False
        except OSError as exc:
            raise StoreError(f"{path}: cannot read it: {exc.strerror}") from None
        if not same:
            write_atomic(path, note)
            written += 1
    write_atomic(history / "index", "".join(f"{n}\n" for n in sorted(sizes)).encode())
    return {**counts, "history": written}
