"""Reading submitted records and the checks that need no ledger state.

A submission is a list of :class:`Candidate` records, each with where it came from (a file and
line) so that a refusal names it. :func:`prepare` runs the stateless checks on one candidate —
well-formed JSON, schema, size, signature — and is safe to run in threads (signature
verification releases the GIL). The ledger then runs the checks that depend on the log prefix
(agreement, keys, replays, times, references) in order. :func:`prepare_batch` is the one way
both the ledger's write path and a replay of the log (:mod:`cvid.evidence.replay`) run them.
"""

from __future__ import annotations

import codecs
import gc
import hashlib
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cvid.errors import InputError
from cvid.evidence.record import Record
from cvid.evidence.reserved import check_reserved
from cvid.evidence.signing import (
    RecordError,
    canonical,
    check_signature,
    flatten_errors,
    parse_json,
    with_signature,
)
from cvid.evidence.units import parse_unit
from cvid.tlog import MAX_ENTRY_SIZE

#: Every admission check, in the order a record meets them; a refusal's ``check`` is one of these.
CHECKS = (
    "json",
    "schema",
    "unit",
    "signer",
    "size",
    "canonical",
    "signature",
    "agreement",
    "party",
    "key-unknown",
    "key-revoked",
    "key-party",
    "key-kind",
    "key-registration",
    "key-revocation",
    "replay",
    "time",
    "supersedes",
    "disputes",
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A record as submitted: a parsed JSON value or the text of one, and where it came from."""

    origin: str
    obj: Any = None
    text: bytes | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A candidate that passed the stateless checks.

    ``unsigned`` is JCS of the record without its signature (what was signed; its SHA-256,
    ``digest``, identifies the record for replay detection) and ``entry`` is JCS of the signed
    record, the bytes to log.
    """

    where: str
    raw: dict[str, Any]
    record: Record
    unsigned: bytes
    entry: bytes

    @property
    def digest(self) -> bytes:
        """SHA-256 of the unsigned canonical record."""
        return hashlib.sha256(self.unsigned).digest()


def describe(number: int, total: int, origin: str) -> str:
    """How a refusal names a record: ``record 3 of 5 (batch.jsonl line 3)``."""
    head = f"record {number} of {total}"
    return f"{head} ({origin})" if origin else head


def _parse(c: Candidate, where: str, logged: bool) -> Any:
    if c.text is None:
        return c.obj
    try:
        # A log entry must be canonical bytes (checked below), which repeat no member name.
        return parse_json(c.text, unique_names=not logged)
    except json.JSONDecodeError as exc:
        detail = f"not valid JSON: {exc.msg} (column {exc.colno})"
        raise RecordError("json", where, detail) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecordError("json", where, f"not valid JSON: {exc}") from None


def check_units(record: Record, where: str) -> None:
    """Raise :class:`RecordError` (check ``unit``) for a quantity in an unknown unit."""
    for name, value in record.values.items():
        if isinstance(value, str | bool):
            continue
        try:
            parse_unit(value.unit)
        except InputError as exc:
            raise RecordError("unit", where, f"values.{name}: {exc}") from None


def prepare(c: Candidate, where: str, verify: bool = True, logged: bool = False) -> Prepared:
    """Run the stateless checks on one candidate, in order: JSON, schema (with the shape of
    amendment parts and notices of effect, :mod:`cvid.evidence.reserved`), units, signature
    presence, canonical form, size, then (if ``verify``) the signature.

    ``logged`` says the candidate's text is a log entry: it must then be exactly the canonical
    bytes of its signed record (check ``canonical``), as every entry the ledger writes is.
    Raises :class:`RecordError` naming the check.
    """
    obj = _parse(c, where, logged)
    if not isinstance(obj, dict):
        raise RecordError("json", where, f"must be a JSON object, not {type(obj).__name__}")
    # Raised outside the handler: a refusal raised inside it would keep pydantic's error as its
    # __context__, whose field validator's error holds frames back to the refusals kept (a
    # cycle the collector cannot see: cvid serve leaked 8 KB a refused request).
    problem = None
    try:
        record = Record.model_validate(obj)
    except ValidationError as exc:
        problem = flatten_errors(exc)
    if problem is not None:
        raise RecordError("schema", where, problem)
    check_reserved(record, where)
    check_units(record, where)
    if record.signature is None:
        raise RecordError("signature", where, "record is not signed (no 'signature' member)")
    try:
        unsigned = canonical({k: v for k, v in obj.items() if k != "signature"})
    except InputError as exc:
        raise RecordError("json", where, str(exc)) from None
    entry = with_signature(unsigned, record.signature, where)
    if len(entry) > MAX_ENTRY_SIZE:
        raise RecordError(
            "size",
            where,
            f"canonical record is {len(entry):,} bytes, over the {MAX_ENTRY_SIZE:,}-byte limit "
            "(store large documents as attachments, by SHA-256)",
        )
    if logged and c.text != entry:
        raise RecordError(
            "canonical",
            where,
            "the entry is not the canonical (RFC 8785) bytes of its signed record, which is "
            "what the ledger logs",
        )
    prepared = Prepared(where, obj, record, unsigned, entry)
    if verify:
        verify_prepared(prepared)
    return prepared


def verify_prepared(p: Prepared) -> None:
    """Check a prepared record's signature; :class:`RecordError` (check ``signature``)."""
    assert p.record.signature is not None
    check_signature(p.record.signer, p.unsigned, p.record.signature, p.where)


def prepare_all(
    items: list[tuple[Candidate, str]], verify: bool = True, logged: bool = False
) -> list[Prepared | RecordError]:
    """:func:`prepare` each (candidate, name) pair, keeping refusals in place."""
    out: list[Prepared | RecordError] = []
    for c, where in items:
        try:
            out.append(prepare(c, where, verify, logged))
        except RecordError as exc:
            out.append(exc)
    return out


#: Batches at least this long have their signatures verified on a pool.
PARALLEL_MIN = 256


def prepare_batch(
    items: list[tuple[Candidate, str]],
    pool: Executor | None,
    workers: int,
    logged: bool = False,
) -> list[Prepared | RecordError]:
    """:func:`prepare_all` with the signatures of large batches verified on ``pool``.

    The GIL-bound work (parsing, validation, canonical bytes) runs in the calling thread; only
    the signature checks, which spend nearly all their time without the GIL, go to the
    ``workers`` threads. Mixing the two in every thread makes threads wait on each other for
    the GIL. The result is the same as :func:`prepare_all`'s, refusal for refusal.
    """
    if pool is None or len(items) < PARALLEL_MIN or workers < 2:
        return prepare_all(items, logged=logged)
    prepared = prepare_all(items, verify=False, logged=logged)
    todo = [(i, p) for i, p in enumerate(prepared) if isinstance(p, Prepared)]
    size = len(todo) // workers + 1
    chunks = [[p for _, p in todo[i : i + size]] for i in range(0, len(todo), size)]
    refusals = [r for part in pool.map(verify_all, chunks) for r in part]
    for (i, _), refusal in zip(todo, refusals, strict=True):
        if refusal is not None:
            prepared[i] = refusal
    return prepared


def verify_all(batch: list[Prepared]) -> list[RecordError | None]:
    """Each record's signature refusal, or None; spends nearly all its time without the GIL."""
    out: list[RecordError | None] = []
    for p in batch:
        try:
            verify_prepared(p)
        except RecordError as exc:
            out.append(exc)
        else:
            out.append(None)
    return out


def verify_signatures(items: Sequence[tuple[str, bytes, str]]) -> list[tuple[str, str] | None]:
    """Check each ``(signer vkey, message, base64 signature)``: None when it verifies, else the
    refusal's ``(check, detail)``. Plain data in and out, so a worker process can run it."""
    out: list[tuple[str, str] | None] = []
    for vkey, message, signature in items:
        try:
            check_signature(vkey, message, signature, "")
        except RecordError as exc:
            out.append((exc.check, exc.detail))
        else:
            out.append(None)
    return out


def read_records(data: bytes, name: str) -> list[Candidate]:
    """Split a file into candidates: one JSON object (pretty-printed or not) or JSON Lines.

    A file whose whole text is one JSON value is one record; otherwise each non-blank line is
    one (``name line N``). A malformed single object is reported with its line and column.
    """
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError("json", name, f"not UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise RecordError("json", name, "file holds no record")
    try:
        obj = parse_json(text)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise RecordError(
                "json", name, f"not valid JSON: {exc.msg} (line {exc.lineno} column {exc.colno})"
            ) from None
    except ValueError as exc:
        raise RecordError("json", name, f"not valid JSON: {exc}") from None
    else:
        return [Candidate(name, obj=obj)]
    return [
        Candidate(f"{name} line {n}", text=line)
        for n, line in enumerate(data.split(b"\n"), 1)
        if line.strip()
    ]


def read_files(paths: list[Path]) -> list[Candidate]:
    """Candidates from each file in turn (see :func:`read_records`)."""
    out: list[Candidate] = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror}") from None
        out.extend(read_records(data, str(path)))
    return out


def candidates(objs: Sequence[Mapping[str, Any] | Candidate]) -> list[Candidate]:
    """Wrap plain objects as candidates (their origin is empty; the batch number names them)."""
    return [o if isinstance(o, Candidate) else Candidate("", obj=o) for o in objs]


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch is parsed and validated.

    The objects made (JSON dicts, record models) hold no reference cycles, so reference
    counting frees them; collections during a large batch would only rescan them, which
    costs about a fifth of admission time. The collector's previous state is restored when
    the last pause (of any thread) ends.
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()
