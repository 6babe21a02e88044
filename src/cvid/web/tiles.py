"""The log as C2SP ``tlog-tiles`` under ``/v1/log/``: what ``cvid log export`` writes, served.

``checkpoint`` is the latest signed (and clock-cosigned) checkpoint; ``tile/<L>/<N>`` and
``tile/entries/<N>``, full or partial (``.p/<W>``), are those of the tree that checkpoint
covers, built by the same functions as the static export (:mod:`cvid.tlog.tiles`), so a served
tree and an exported one are byte for byte the same and either passes ``cvid audit``.

A tile of width ``W`` is served whenever the checkpoint's tree has at least ``W`` hashes in
that tile: a client holding an older checkpoint still finds the partial tiles of its size.
Full tiles and bundles never change (``immutable``); a partial one's bytes never change either,
but it may stop being served by a static host once its tile is full, so it is cached briefly.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from cvid.errors import FormatError, StoreError
from cvid.tlog import TILE_HEIGHT, TILE_WIDTH, encode_bundle, parse_path
from cvid.web.common import ServiceDep, StrictRoute, not_found
from cvid.witness import cosigned_note, history_checkpoint, history_index

router = APIRouter(route_class=StrictRoute, tags=["tiles"])

OCTETS = "application/octet-stream"
#: Public data, the same for everyone: any page may read it (browsers checking proofs).
CORS = {"Access-Control-Allow-Origin": "*"}
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable", **CORS}
PARTIAL = {"Cache-Control": "public, max-age=60", **CORS}
NO_CACHE = {"Cache-Control": "no-cache", **CORS}


@router.get(
    "/v1/log/checkpoint",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "The latest signed checkpoint"},
        404: {"description": "No checkpoint yet"},
    },
)
def checkpoint(svc: ServiceDep) -> Response:
    """The latest signed checkpoint (C2SP signed note): the log's signature, the clock's
    cosignature and every witness cosignature gathered for it so far."""
    cp = svc.latest()
    if cp is None:
        raise not_found("the ledger has no signed checkpoint yet")
    return Response(
        cosigned_note(svc.reader.driver, cp),
        media_type="text/plain; charset=utf-8",
        headers={"Cache-Control": "no-cache", **CORS},
    )


@router.get(
    "/v1/log/checkpoints/index",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "The history's sizes"}},
)
def history(svc: ServiceDep) -> Response:
    """The sizes of every checkpoint the log signed up to the latest, one decimal a line
    (the export's ``checkpoints/index``)."""
    cp = svc.latest()
    data = history_index(svc.reader.driver, cp.checkpoint.size if cp is not None else -1)
    return Response(data, media_type="text/plain; charset=utf-8", headers=NO_CACHE)


@router.get(
    "/v1/log/checkpoints/{size}",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "A checkpoint of the history"},
        404: {"description": "The log signed no checkpoint of that size"},
    },
)
def history_file(
    svc: ServiceDep, size: Annotated[str, PathParam(description="A decimal tree size.")]
) -> Response:
    """The checkpoint the log signed at ``size`` with every cosignature gathered for it (the
    export's ``checkpoints/<size>``); cosignatures may still be added, so not cached long."""
    if not size.isdigit() or (len(size) > 1 and size[0] == "0") or len(size) > 19:
        raise not_found(f"checkpoints/{size[:40]} is not a decimal size")
    data = history_checkpoint(svc.reader.driver, int(size))
    if data is None:
        raise not_found(f"the log signed no checkpoint of size {size}")
    return Response(data, media_type="text/plain; charset=utf-8", headers=NO_CACHE)


def _load(svc: ServiceDep, path: str) -> Response:
    try:
        is_entries, t = parse_path("tile/" + path)
    except FormatError:
        raise not_found(f"tile/{path[:200]} is not a tlog-tiles path") from None
    ledger = svc.reader
    cp = svc.latest()
    size = cp.checkpoint.size if cp is not None else 0
    # How many hashes the tile holds in the checkpoint's tree (<= 0: none at all).
    have = min(TILE_WIDTH, (size >> (TILE_HEIGHT * t.level)) - t.n * TILE_WIDTH)
    if t.width > have:
        raise not_found(f"tile/{path} is not in the tree of size {size}")
    if is_entries:
        start = t.n * TILE_WIDTH
        entries = ledger.log.read_entries(start, start + t.width)
        if len(entries) != t.width:
            raise StoreError(f"tile/{path}: the store holds {len(entries)} of its entries")
        data = encode_bundle(entries)
    else:
        hashes = ledger.log.reader(size).tile(t.level, t.n)
        data = b"".join(hashes[: t.width])
    if not t.is_partial:
        svc.tiles.put(path, data)
    return Response(data, media_type=OCTETS, headers=PARTIAL if t.is_partial else IMMUTABLE)


@router.get(
    "/v1/log/tile/{path:path}",
    response_class=Response,
    responses={
        200: {"content": {OCTETS: {}}, "description": "A hash tile or an entry bundle"},
        404: {"description": "No such tile in the tree (or not a tlog-tiles path)"},
    },
)
async def tile(
    svc: ServiceDep,
    path: Annotated[
        str, PathParam(description="`<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`, N as x001/234")
    ],
) -> Response:
    """A hash tile `tile/<L>/<N>[.p/<W>]` or an entry bundle `tile/entries/<N>[.p/<W>]`."""
    # A full tile served once is served from memory, on the event loop; anything else reads
    # the store on a worker thread.
    cached = svc.tiles.get(path)
    if cached is not None:
        return Response(cached, media_type=OCTETS, headers=IMMUTABLE)
    return await run_in_threadpool(_load, svc, path)
