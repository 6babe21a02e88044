"""What the routes share: the service of the request, JSON answers, parameters, receipts."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Sequence
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import Response
from fastapi.routing import APIRoute

from cvid.agreements import parse_as_of
from cvid.errors import Error, InputError, StoreError
from cvid.evidence import Ledger
from cvid.tlog import Receipt, SignedCheckpoint, inclusion_proof, leaf_hash, verify_inclusion
from cvid.web.problems import ProblemError, bad_parameter
from cvid.web.service import Service
from cvid.witness import cosigned_note

#: JSON documents change as the ledger grows: a cache must ask again every time.
NO_CACHE = {"Cache-Control": "no-cache"}


async def get_service(request: Request) -> Service:
    """The service the app was created for (async: no thread-pool hop just to read it)."""
    svc: Service = request.app.state.service
    return svc


ServiceDep = Annotated[Service, Depends(get_service)]


def json_bytes(obj: Any) -> bytes:
    """``obj`` as JSON in UTF-8 (text from records is escaped by the encoder)."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=False).encode()


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``obj`` as ``application/json``."""
    return Response(
        json_bytes(obj),
        status_code=status,
        media_type="application/json",
        headers={**NO_CACHE, **(headers or {})},
    )


def instant_param(name: str, value: str) -> int:
    """A date or RFC 3339 instant query parameter, as microseconds; 400 naming it if not."""
    try:
        return parse_as_of(value)
    except InputError as exc:
        raise bad_parameter(name, exc.diagnostics()) from None


class StrictRoute(APIRoute):
    """A route that refuses query parameters it does not declare, and repeated ones.

    A misspelt parameter (``asof=``) silently ignored would answer another question than the
    one asked; a 400 naming it is what a client can act on.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        known = _query_names(self.dependant)

        async def strict(request: Request) -> Response:
            seen: set[str] = set()
            for name, _ in request.query_params.multi_items():
                if name not in known:
                    listed = ", ".join(sorted(known)) or "none"
                    raise bad_parameter(name, f"unknown parameter (this path takes: {listed})")
                if name in seen:
                    raise bad_parameter(name, "given more than once")
                seen.add(name)
            return await handler(request)

        return strict


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters a route and its dependencies declare (by alias)."""
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def receipts_for(
    ledger: Ledger, indices: Sequence[int], cp: SignedCheckpoint | None = None
) -> tuple[SignedCheckpoint, dict[str, str]]:
    """A ``tlog-proof`` receipt per index, all against one checkpoint (default: the latest).

    Like :meth:`cvid.store.log.Log.receipt`, each proof is checked against the stored entry
    before it is handed out (damaged storage is a :class:`StoreError`, never a bad receipt);
    unlike it, one checkpoint and one tile reader serve the whole batch, so a batch's receipts
    agree with each other and with the answer's ``checkpoint``.
    """
    cp = cp or ledger.latest_checkpoint()
    if cp is None or (indices and cp.checkpoint.size <= max(indices)):
        raise StoreError("no signed checkpoint covers the records yet; ask again")
    n, root = cp.checkpoint.size, cp.checkpoint.root
    tree = ledger.log.reader(n)
    note = cosigned_note(ledger.driver, cp)  # with the witnesses' cosignatures gathered yet
    entries: dict[int, bytes] = {}
    if indices:
        # A batch's indices are consecutive: read its entries in one query, not one each.
        lo, hi = min(indices), max(indices) + 1
        if hi - lo <= 4 * len(indices):
            entries = dict(zip(range(lo, hi), ledger.log.read_entries(lo, hi), strict=False))
    out: dict[str, str] = {}
    for i in indices:
        proof = inclusion_proof(i, n, tree)
        stored = [entries[i]] if i in entries else ledger.log.read_entries(i, i + 1)
        try:
            if len(stored) != 1:
                raise StoreError(f"entry {i} is missing from the store")
            verify_inclusion(i, n, leaf_hash(stored[0]), proof, root)
        except Error as exc:
            raise StoreError(
                f"the receipt for entry {i} does not verify against the checkpoint of size {n} "
                f"({exc.diagnostics()}): the stored entries or tiles are damaged"
            ) from None
        out[str(i)] = Receipt(i, tuple(proof), note).encode().decode()
    return cp, out


def not_found(detail: str) -> ProblemError:
    """A 404 problem."""
    return ProblemError(404, "not-found", detail)
