"""What a verifier reads of a log's witnessing: the cosigned checkpoint a verdict rests on, and
the logged times re-derived from a tiles export's checkpoint history.

Both read either a ledger (directory or database URL) or a ``tlog-tiles`` tree written by
:func:`cvid.witness.publish.export_cosigned` (or served by ``cvid serve``): ``checkpoint``,
``checkpoints/<size>`` and ``checkpoints/index``.

- :func:`witnessed_note` is the checkpoint of exactly ``size`` entries with every cosignature
  gathered for it, its log signature verified; :func:`require_quorum` refuses it
  (:class:`VerificationError`) without the policy's quorum or with another root.
- :func:`history_times` is the logged time of each of the first ``size`` entries as the public
  history says: entry ``i`` was logged at the clock's cosignature time of the first checkpoint
  in the history whose size exceeds ``i`` (times never go back: the largest so far counts),
  each checkpoint's log signature and clock cosignature verified, and each checkpoint's root
  checked against the entries. Exactly what a ledger derives from its own checkpoints.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from cvid.audit import TileSource
from cvid.errors import Error, InputError, VerificationError
from cvid.tlog import CosignerKey, TreeEdge, Verifier, open_checkpoint
from cvid.witness import HISTORY_DIR, Policy, cosigned_note

__all__ = [
    "SKEW",
    "history_sizes",
    "history_times",
    "require_quorum",
    "unattested",
    "witnessed_note",
    "witnessed_times",
]


def _is_tiles(location: str) -> bool:
    from cvid.evidence import is_ledger, is_url

    if location.startswith(("http://", "https://")):
        return True
    return not is_ledger(location if is_url(location) else Path(location))


def history_sizes(src: TileSource) -> list[int] | None:
    """The sizes in ``checkpoints/index``, ascending; None when the tree has no history."""
    try:
        data = src.read(f"{HISTORY_DIR}/index")
    except InputError:
        return None
    try:
        sizes = [int(line) for line in data.decode("ascii").split("\n") if line]
    except (UnicodeDecodeError, ValueError):
        raise VerificationError(f"{src.name(HISTORY_DIR + '/index')}: not decimal sizes") from None
    if sizes != sorted(set(sizes)) or any(s < 0 for s in sizes):
        raise VerificationError(f"{src.name(HISTORY_DIR + '/index')}: sizes not ascending")
    return sizes


def witnessed_note(location: str, size: int, verifier: Verifier | None) -> bytes:
    """The checkpoint of exactly ``size`` entries at ``location`` (a ledger or tiles) with
    every cosignature gathered for it; its log signature verified with ``verifier`` (needed
    for tiles; a ledger's own log key when None).

    Tiles: ``checkpoints/<size>``, or ``checkpoint`` when its size is ``size``. A ledger: the
    stored checkpoint of that size with its stored cosignatures. :class:`VerificationError`
    when there is none, or it is not signed by the log.
    """
    if _is_tiles(location):
        if verifier is None:
            raise InputError(f"{location}: not a ledger; for tiles give the log's --vkey")
        with TileSource(location) as src:
            try:
                data = src.read(f"{HISTORY_DIR}/{size}")
            except InputError:
                data = src.read("checkpoint")
            where = src.name(f"{HISTORY_DIR}/{size}")
    else:
        from cvid.evidence import Ledger, is_url

        with Ledger.open(location if is_url(location) else Path(location), readonly=True) as led:
            verifier = verifier or led.log.verifier
            found = [d for n, d in led.driver.checkpoints() if n == size]
            if not found:
                raise VerificationError(f"{location}: no checkpoint of size {size} stored")
            signed = open_checkpoint(found[0], verifier)
            data = cosigned_note(led.driver, signed)
            where = f"{location} checkpoint {size}"
    try:
        signed = open_checkpoint(data, verifier)
    except Error as exc:
        raise VerificationError(f"{where}: {exc.diagnostics()}") from None
    if signed.checkpoint.size != size:
        raise VerificationError(
            f"{where}: no checkpoint of size {size} published (the latest has "
            f"{signed.checkpoint.size} entries and there is no {HISTORY_DIR}/ history)"
        )
    return data


def require_quorum(note: bytes, policy: Policy, root: bytes, where: str) -> list[str]:
    """Refuse (:class:`VerificationError`, naming what is missing) ``note`` unless it meets
    ``policy``'s quorum and its root is ``root``; the names of the witnesses that cosigned."""
    result = policy.require(note, where)
    if result.checkpoint.root != root:
        raise VerificationError(f"{where}: the checkpoint's root is not the verdict's")
    return sorted(result.cosigned)


def history_times(
    src: TileSource,
    verifier: Verifier,
    clock_key: CosignerKey,
    leaf_hashes: Sequence[bytes],
) -> list[dt.datetime | None] | None:
    """The logged time of each entry whose leaf hash is in ``leaf_hashes`` (the first entries
    of the log), from the tree's ``checkpoints/`` history (see the module); None when the tree
    has no history. Entries no checkpoint of at most ``len(leaf_hashes)`` covers get None.

    :class:`VerificationError` naming the checkpoint whose log signature, clock cosignature or
    root does not hold.
    """
    sizes = history_sizes(src)
    if sizes is None:
        return None
    n = len(leaf_hashes)
    times: list[dt.datetime | None] = [None] * n
    edge = TreeEdge()
    start, last = 0, 0
    for size in sizes:
        if size > n:
            break
        name = f"{HISTORY_DIR}/{size}"
        try:
            signed = open_checkpoint(src.read(name), verifier)
            t = clock_key.verify(signed.note)
        except Error as exc:
            raise VerificationError(f"{src.name(name)}: {exc.diagnostics()}") from None
        edge.extend(leaf_hashes[edge.size : size])
        if signed.checkpoint.size != size or signed.checkpoint.root != edge.root():
            raise VerificationError(
                f"{src.name(name)}: not the checkpoint of the first {size} entries served"
            )
        last = max(last, t)
        stamp = dt.datetime.fromtimestamp(last, dt.UTC)
        for i in range(start, size):
            times[i] = stamp
        start = max(start, size)
    return times


# -- "as known then", attested by the witnesses ------------------------------------------------

#: How far a witness's clock may be from the ledger's before a logged time counts as
#: unattested (seconds): witnesses cosign within seconds of the checkpoint being signed.
SKEW = 300


def _history_notes(
    location: str, size: int, verifier: Verifier | None
) -> tuple[Verifier, list[tuple[int, bytes]], list[bytes]]:
    """Every checkpoint note of at most ``size`` entries that ``location`` publishes, with its
    cosignatures, and the leaf hashes of the first ``size`` entries (read from the entries)."""
    from cvid.tlog import TILE_WIDTH, decode_bundle, leaf_hash, tile_for_size

    notes: dict[int, bytes] = {}
    hashes: list[bytes] = []
    if _is_tiles(location):
        if verifier is None:
            raise InputError(f"{location}: not a ledger; for tiles give the log's --vkey")
        with TileSource(location) as src:
            latest = src.read("checkpoint")
            try:
                served = open_checkpoint(latest, verifier).checkpoint
            except Error as exc:
                raise VerificationError(f"{src.name('checkpoint')}: {exc.diagnostics()}") from None
            if served.size <= size:
                notes[served.size] = latest
            for s in history_sizes(src) or []:
                if s <= size:
                    notes[s] = src.read(f"{HISTORY_DIR}/{s}")
            for n in range((min(size, served.size) + TILE_WIDTH - 1) // TILE_WIDTH):
                tile = tile_for_size(0, n, served.size)
                data = src.read(tile.entries_path())
                hashes.extend(leaf_hash(e) for e in decode_bundle(data, tile.entries_path()))
        return verifier, sorted(notes.items()), hashes[:size]
    from cvid.evidence import Ledger, is_url

    with Ledger.open(location if is_url(location) else Path(location), readonly=True) as led:
        verifier = verifier or led.log.verifier
        for s, note in led.driver.checkpoints():
            if s <= size:
                try:
                    signed = open_checkpoint(note, verifier)
                except Error as exc:
                    where = f"{location} checkpoint {s}"
                    raise VerificationError(f"{where}: {exc.diagnostics()}") from None
                notes[s] = cosigned_note(led.driver, signed)
        for lo in range(0, size, 65536):
            entries = led.driver.read_entries(lo, min(size, lo + 65536))
            hashes.extend(leaf_hash(e) for e in entries)
    return verifier, sorted(notes.items()), hashes


def witnessed_times(
    location: str, size: int, verifier: Verifier | None, policy: Policy
) -> list[int | None]:
    """When a quorum of ``policy``'s witnesses first attests each of the first ``size`` entries
    of the log at ``location`` (a ledger or tiles): the earliest :meth:`Policy.quorum_time`, by
    the witnesses' own timestamps, of a published checkpoint that holds it. None for an entry no
    checkpoint with a quorum holds.

    Each checkpoint's log signature is verified and its root recomputed from the entries, so
    the witnesses' word is taken only on checkpoints of this log's entries.
    :class:`VerificationError` names a checkpoint that does not hold.
    """
    verifier, notes, hashes = _history_notes(location, size, verifier)
    if len(hashes) < size:
        raise VerificationError(f"{location}: holds {len(hashes)} entries, fewer than {size}")
    edge = TreeEdge()
    quorum_at: list[tuple[int, int | None]] = []
    for s, note in notes:
        where = f"{location} checkpoint {s}"
        try:
            signed = open_checkpoint(note, verifier)
        except Error as exc:
            raise VerificationError(f"{where}: {exc.diagnostics()}") from None
        edge.extend(hashes[edge.size : s])
        if signed.checkpoint.size != s or signed.checkpoint.root != edge.root():
            raise VerificationError(f"{where}: not the checkpoint of the log's first {s} entries")
        quorum_at.append((s, policy.quorum_time(policy.evaluate(note).cosigned)))
    times: list[int | None] = [None] * size
    best: int | None = None
    hi = size
    for s, t in reversed(quorum_at):
        for i in range(s, hi):
            times[i] = best
        hi = min(hi, s)
        if t is not None and (best is None or t < best):
            best = t
    for i in range(0, hi):
        times[i] = best
    return times


def unattested(
    logged: Sequence[dt.datetime | None],
    witnessed: Sequence[int | None],
    as_of: dt.datetime,
    skew: int = SKEW,
) -> list[str]:
    """Where "as known at ``as_of``" under the ledger's clock disagrees with the witnesses.

    An entry the clock says was logged by ``as_of`` that no quorum attests until more than
    ``skew`` seconds after it (or ever) is known then on the operator's word alone; an entry
    the clock says came later (or never) that a quorum attests more than ``skew`` seconds
    before ``as_of`` was left out of what was known then. One sentence per such entry.
    """
    at = as_of.timestamp()
    out: list[str] = []
    for i, (t, w) in enumerate(zip(logged, witnessed, strict=True)):
        says = t is not None and t.timestamp() <= at
        if says and (w is None or w > at + skew):
            when = "never" if w is None else f"only at {_utc(w)}"
            assert t is not None
            out.append(
                f"entry {i}: the ledger's clock says it was logged at {t.isoformat()}, but a "
                f"quorum of the witnesses attests it {when}: counting it as known at "
                f"{as_of.isoformat()} rests on the operator's clock alone"
            )
        elif not says and w is not None and w < at - skew:
            said = "no logged time" if t is None else f"logged at {t.isoformat()}"
            out.append(
                f"entry {i}: a quorum of the witnesses attests it at {_utc(w)}, before "
                f"{as_of.isoformat()}, but the ledger's clock gives it {said}: what was known "
                "then leaves it out"
            )
    return out


def _utc(t: int) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat()
