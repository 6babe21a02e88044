"""``POST /v1/records`` (submit, all or nothing) and ``GET /v1/records[/{index}]`` (read).

A submission needs no account: the records' own signatures, under the ledger's admission rules
(docs/ledger.md), are what authorise it. The body is read as it arrives, under a size cap and a
deadline, so that no client can make the service hold a huge or endless body. A 201 is sent
only after the commit that logged the records returned (the writer's future), with a receipt
per record against the checkpoint that commit signed or a later one. Records committed whose
receipts cannot be made (the store failing after the commit, a full disk) are still answered
201 with their indices, no receipt, and ``receipts_error`` saying why: never a problem, which
would say nothing was written. A commit that failed is answered with a problem (507 when the
disk is full) once the batch is seen not to be in the ledger (or the ledger cannot be read).
"""

from __future__ import annotations

import asyncio
import codecs
import json
import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from cvid.agreements import checkpoint_json
from cvid.documents import record_document
from cvid.errors import Error, InputError, StoreError
from cvid.evidence import (
    MAX_LIMIT,
    Candidate,
    Kind,
    Ledger,
    LoggedRecord,
    RecordError,
    RecordQuery,
    describe,
    ledgerdb,
    observed_bounds,
    parse_json,
    prepare,
    select_listed,
    summary,
)
from cvid.tlog import Node, b64, inclusion_proof
from cvid.web.common import (
    ServiceDep,
    StrictRoute,
    json_response,
    not_found,
    receipts_for,
)
from cvid.web.problems import ProblemError, bad_parameter, from_error, from_record_error, responses
from cvid.web.service import Service
from cvid.web.writer import Busy

log = logging.getLogger("cvid.web")

router = APIRouter(route_class=StrictRoute, tags=["records"])

#: Media types a submission may have: one JSON object, or JSON Lines (one record a line).
JSON_TYPES = ("application/json",)
JSONL_TYPES = ("application/jsonl", "application/x-ndjson", "application/json-lines")
#: Bodies up to this size are parsed on the event loop (a few records: microseconds).
INLINE_PARSE = 16 * 1024


class Submitted(BaseModel):
    """What a 201 (or a 200 for an identical resubmission) says."""

    indices: list[int] = Field(description="The log index of each record, in batch order.")
    size: int | None = Field(
        description="The log's size at the checkpoint the receipts prove against (null: no "
        "receipt was made)."
    )
    checkpoint: dict[str, Any] | None = Field(
        description="That checkpoint: origin, size, root (null: no receipt was made)."
    )
    receipts: dict[str, str] = Field(
        description="A tlog-proof receipt per index (as text); empty when none could be made."
    )
    receipts_error: str | None = Field(
        default=None,
        description="Present when the records were committed but no receipt could be made "
        "(the store failing after the commit): why. The records are admitted all the same; "
        "GET /v1/records/{index} answers each with its receipt later.",
    )


class RecordsPage(BaseModel):
    """One page of ``GET /v1/records``."""

    format: str = "cvid-records/1"
    checkpoint: dict[str, Any] | None = Field(
        description="The checkpoint every proof on the page is against (null: none yet)."
    )
    signed_checkpoint: str | None = Field(description="That checkpoint's signed note.")
    records: list[dict[str, Any]] = Field(
        description="`cvid evidence list --json` rows, each with leaf_hash and inclusion_proof."
    )
    next: int | None = Field(
        description="Pass as `after` for the next page; null when this is the last."
    )


# -- submitting --------------------------------------------------------------------------------


def _media_type(request: Request) -> str:
    raw = request.headers.get("content-type", "")
    media, _, params = raw.partition(";")
    media = media.strip().lower()
    for p in params.split(";"):
        k, _, v = p.partition("=")
        if k.strip().lower() == "charset" and v.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise ProblemError(
                415, "unsupported-media-type", f"charset {v.strip()!r}: records are UTF-8 JSON"
            )
    if media not in JSON_TYPES + JSONL_TYPES:
        raise ProblemError(
            415,
            "unsupported-media-type",
            f"content type {media or '(none)'!r}: send application/json (one record) or "
            "application/jsonl (JSON Lines, one record a line)",
        )
    return media


async def read_body(request: Request, cap: int, deadline: float) -> bytes:
    """The request body, read as it arrives; 413 past ``cap`` bytes, 408 past ``deadline`` s.

    A declared ``Content-Length`` over the cap is refused before anything is read.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ProblemError(
                400, "malformed", f"Content-Length {declared[:40]!r} is not a number"
            )
        if int(declared) > cap:
            raise ProblemError(
                413,
                "too-large",
                f"the body is {int(declared):,} bytes, over the {cap:,}-byte limit",
                limit=cap,
            )
    chunks: list[bytes] = []
    total = 0
    try:
        async with asyncio.timeout(deadline):
            async for chunk in request.stream():
                total += len(chunk)
                if total > cap:
                    raise ProblemError(
                        413, "too-large", f"the body exceeds the {cap:,}-byte limit", limit=cap
                    )
                chunks.append(chunk)
    except TimeoutError:
        raise ProblemError(
            408,
            "timeout",
            f"the body did not arrive within {deadline:g} s",
            headers={"Connection": "close"},
        ) from None
    except ClientDisconnect:
        raise ProblemError(400, "malformed", "the client went away before the body ended") from None
    return b"".join(chunks)


def parse_body(data: bytes, media: str) -> list[Candidate]:
    """The batch in a body: one JSON value (``application/json``) or one a line (JSON Lines).

    Raises :class:`RecordError` (check ``json``) for a body that is not UTF-8, holds no
    record, or (``application/json``) is not exactly one JSON value. A JSON Lines line that
    is not JSON is left to admission, which names its line.
    """
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError("json", "request body", f"not UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise RecordError("json", "request body", "holds no record")
    if media in JSON_TYPES:
        try:
            obj = parse_json(text)
        except json.JSONDecodeError as exc:
            extra = "; several records go as application/jsonl" if exc.msg == "Extra data" else ""
            raise RecordError(
                "json",
                "request body",
                f"not valid JSON: {exc.msg} (line {exc.lineno} column {exc.colno}){extra}",
            ) from None
        except ValueError as exc:
            raise RecordError("json", "request body", f"not valid JSON: {exc}") from None
        return [Candidate("", obj=obj)]
    return [
        Candidate(f"line {n}", text=line)
        for n, line in enumerate(data.split(b"\n"), 1)
        if line.strip()
    ]


def already_logged(ledger: Ledger, batch: list[Candidate]) -> list[int] | None:
    """The indices of ``batch`` if every record of it is logged exactly as sent, else None.

    "Exactly": the logged entry has the same bytes (the same content signed again with another
    signature is a replay, not a resubmission). The same record twice in the batch is not a
    resubmission of anything.
    """
    prepared = []
    for n, c in enumerate(batch, 1):
        try:
            prepared.append(prepare(c, describe(n, len(batch), c.origin), verify=False))
        except RecordError:
            return None
    with ledger.driver.read() as tx:
        present = ledgerdb.digests_present(tx, [p.digest for p in prepared])
        indices = [present.get(p.digest) for p in prepared]
        if None in indices or len(set(indices)) != len(indices):
            return None
        found = [i for i in indices if i is not None]
        entries = ledgerdb.entries_at(tx, found)
    if any(entries[i] != p.entry for i, p in zip(found, prepared, strict=True)):
        return None
    return found


def _position(exc: RecordError, batch: list[Candidate]) -> int | None:
    """Which record of ``batch`` a refusal names (1-based), from its ``where``."""
    for n, c in enumerate(batch, 1):
        if exc.where == describe(n, len(batch), c.origin):
            return n
    return None


def _answer(svc: Service, indices: list[int], status: int) -> Response:
    # The writer's ledger: its tree is the one just committed, so no reload of the tree's edge.
    made = svc.writer.receipts(indices) if status == 201 else None
    cp, receipts = made or receipts_for(svc.ledger, indices, svc.latest(svc.ledger))
    doc = {
        "indices": indices,
        "size": cp.checkpoint.size,
        "checkpoint": checkpoint_json(cp.checkpoint),
        "receipts": receipts,
    }
    headers = {"Location": f"/v1/records/{indices[0]}"} if len(indices) == 1 else {}
    return json_response(doc, status, {"Cache-Control": "no-store", **headers})


def _admitted(indices: list[int], exc: Error) -> Response:
    """The 201 of records committed whose receipts could not be made (a store failing after
    the commit: a full disk, say): admitted, at these indices, and why there is no receipt.
    Never a problem: the client must not take committed records for refused ones."""
    doc: dict[str, Any] = {
        "indices": indices,
        "size": None,
        "checkpoint": None,
        "receipts": {},
        "receipts_error": (
            f"the records are admitted, but their receipts were not made: {exc.diagnostics()}; "
            "GET /v1/records/{index} answers each record with its receipt once the store can"
        ),
    }
    headers = {"Location": f"/v1/records/{indices[0]}"} if len(indices) == 1 else {}
    return json_response(doc, 201, {"Cache-Control": "no-store", **headers})


def _answer_admitted(svc: Service, indices: list[int], status: int) -> Response:
    """:func:`_answer`, or :func:`_admitted` if the receipts cannot be made."""
    try:
        return _answer(svc, indices, status)
    except Error as exc:
        log.warning("receipts of admitted records %s: %s", indices[:8], exc)
        return _admitted(indices, exc)


def _committed_despite(svc: Service, batch: list[Candidate], exc: Error) -> list[int] | None:
    """After the commit raised ``exc``: the batch's indices if it is in the ledger all the
    same (the store failed after committing), else None (or when that cannot be read)."""
    try:
        return already_logged(svc.reader, batch)
    except Error as again:
        log.warning("after a failed commit (%s), the ledger cannot be read: %s", exc, again)
        return None


@router.post(
    "/v1/records",
    status_code=201,
    response_model=Submitted,
    responses={
        200: {"model": Submitted, "description": "The same records again: their indices"},
        **responses(400, 408, 409, 413, 415, 422, 503, 507),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "One signed record (application/json) or a batch, one record a "
            "line (application/jsonl or application/x-ndjson). All or nothing.",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/jsonl": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
async def submit(request: Request, svc: ServiceDep) -> Response:
    """Admit signed records, all or nothing, and answer with a receipt for each.

    201 once committed; 200 with the original indices when every record is already logged
    exactly as sent; a problem (nothing written) otherwise.
    """
    media = _media_type(request)
    state = request.app.state
    data = await read_body(request, state.max_body, state.body_timeout)
    try:
        # A small body parses faster than a hop to the thread pool; a large one would hold
        # up the event loop.
        small = len(data) <= INLINE_PARSE
        batch = (
            parse_body(data, media) if small else await run_in_threadpool(parse_body, data, media)
        )
    except RecordError as exc:
        raise from_record_error(exc) from None
    del data
    try:
        outcome = await asyncio.wrap_future(svc.writer.submit(batch))
    except InputError as exc:
        # Refusals come back as outcomes; an input error raised by the commit itself (the
        # ledger's signing keys unreadable, say) is the service's trouble, not the client's.
        raise ProblemError(
            503, "unavailable", exc.diagnostics(), headers={"Retry-After": "1"}
        ) from None
    except Error as exc:
        if isinstance(exc, StoreError) and not isinstance(exc, Busy):
            # Before saying nothing was written, look: a store may fail after its commit.
            logged = await run_in_threadpool(_committed_despite, svc, batch, exc)
            if logged is not None:
                return await run_in_threadpool(_answer_admitted, svc, logged, 201)
        raise from_error(exc) from None
    if isinstance(outcome, RecordError):
        logged = await run_in_threadpool(already_logged, svc.reader, batch)
        if logged is not None:
            return await run_in_threadpool(_answer_admitted, svc, logged, 200)
        raise from_record_error(outcome, _position(outcome, batch))
    return await run_in_threadpool(_answer_admitted, svc, outcome, 201)


# -- reading -----------------------------------------------------------------------------------


def _bounds(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """``since``/``until`` as ``cvid evidence list`` reads them; a 400 naming the bad one."""
    try:
        lo, _ = observed_bounds(since, None)
    except InputError as exc:
        raise bad_parameter("since", exc.diagnostics()) from None
    try:
        _, hi = observed_bounds(None, until)
    except InputError as exc:
        raise bad_parameter("until", exc.diagnostics()) from None
    return lo, hi


def _with_proof(logged: LoggedRecord, leaf: bytes, proof: list[bytes]) -> dict[str, Any]:
    return {**summary(logged), "leaf_hash": b64(leaf), "inclusion_proof": [b64(h) for h in proof]}


@router.get("/v1/records", response_model=RecordsPage, responses=responses(400, 503))
def list_records(
    svc: ServiceDep,
    kind: Annotated[Kind | None, Query(description="Only records of this kind.")] = None,
    party: Annotated[str | None, Query(description="About or by this party.")] = None,
    submitter: Annotated[str | None, Query(description="By this submitter.")] = None,
    subject: Annotated[str | None, Query(description="About this subject.")] = None,
    speaker: Annotated[str | None, Query(description="Quoting this speaker.")] = None,
    since: Annotated[str | None, Query(description="observed_at from (date or instant).")] = None,
    until: Annotated[
        str | None, Query(description="observed_at up to (a date: its whole day).")
    ] = None,
    after: Annotated[
        int | None, Query(ge=-1, description="Only indices above this (the `next` cursor).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="At most this many.")] = 100,
) -> Response:
    """Records as `cvid evidence list --json` lists them, each with its inclusion proof
    against the latest checkpoint; paged by `after` (follow `next` until it is null)."""
    lo, hi = _bounds(since, until)
    ledger = svc.reader
    cp = svc.latest()
    if cp is None:
        return json_response(
            {
                "format": "cvid-records/1",
                "checkpoint": None,
                "signed_checkpoint": None,
                "records": [],
                "next": None,
            }
        )
    n = cp.checkpoint.size
    q = RecordQuery(
        kind=kind.value if kind is not None else None,
        submitter=submitter,
        subject=subject,
        speaker=speaker,
        since=lo,
        until=hi,
        after=after,
        upto=n,
        limit=limit,
    )
    with ledger.driver.read() as tx:
        indices = select_listed(tx, q, party)
    got = ledger.records_at(indices, n)
    tree = ledger.log.reader(n)
    leaves = tree.read_hashes([Node(0, i) for i in indices])
    rows = [
        _with_proof(r, leaf, inclusion_proof(r.index, n, tree))
        for r, leaf in zip(got, leaves, strict=True)
    ]
    return json_response(
        {
            "format": "cvid-records/1",
            "checkpoint": checkpoint_json(cp.checkpoint),
            "signed_checkpoint": cp.encode().decode(),
            "records": rows,
            "next": indices[-1] if len(indices) == limit else None,
        }
    )


@router.get("/v1/records/{index}", responses=responses(400, 404, 503))
def show_record(
    svc: ServiceDep,
    index: Annotated[int, Path(ge=0, description="The record's log index.")],
) -> Response:
    """One record as `cvid evidence show --json` shows it (as signed, marks, logged time),
    with its tlog-proof receipt against the latest checkpoint."""
    ledger = svc.reader
    cp = svc.latest()
    size = cp.checkpoint.size if cp is not None else 0
    if index >= size:
        raise not_found(f"no record {index} (the ledger holds {size})")
    logged = ledger.records_at([index], size)[0]
    _, receipts = receipts_for(ledger, [index], cp)
    return json_response({**record_document(logged), "receipt": receipts[str(index)]})
