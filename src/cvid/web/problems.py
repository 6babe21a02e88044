"""Refusals and errors as RFC 9457 problem details (``application/problem+json``).

Every answer that is not a success is a problem document: ``type`` (a URI reference,
``/v1/problems/<name>``, which the service also answers with a description), ``title``,
``status``, ``detail`` (one line for a person; for cvid's own errors their
``diagnostics()``), and members of cvid's own: ``check`` and ``record`` for an admission
refusal (docs/ledger.md), ``parameter`` for a bad query parameter. A traceback never reaches
the client; unexpected errors are logged by the service and answered with a bare 500.

How cvid's errors map (docs/service.md), each status the error class's ``http_status``:

- :class:`~cvid.evidence.signing.RecordError`: check ``json`` → 400, ``replay`` → 409,
  every other check → 422;
- a :class:`~cvid.errors.LimitError` → 413 (``too-large``); another
  :class:`~cvid.errors.InputError` → 400 (422 where a handler says so);
- :class:`~cvid.errors.VerificationError` → 500: nothing a client sends is verified by a
  read, so a failed check means the ledger fails its own verification;
- :class:`~cvid.store.driver.ConflictError` → 409; a :class:`~cvid.errors.StoreError` saying
  the store's disk is full (:func:`disk_full`) → 507 (``disk-full``, RFC 4918's Insufficient
  Storage); another :class:`~cvid.errors.StoreError` → 503 with ``Retry-After``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from cvid.errors import Error, InputError, StoreError, VerificationError
from cvid.evidence import RecordError
from cvid.store import ConflictError

MEDIA_TYPE = "application/problem+json"
PREFIX = "/v1/problems/"


@dataclass(frozen=True)
class ProblemType:
    """One kind of problem: its name (the last part of its ``type``), title and meaning."""

    name: str
    title: str
    description: str

    @property
    def uri(self) -> str:
        """The ``type`` member: a URI reference the service resolves."""
        return PREFIX + self.name


#: Every problem type the service answers with, by name (docs/service.md lists them too).
TYPES: dict[str, ProblemType] = {
    t.name: t
    for t in (
        ProblemType(
            "malformed",
            "Malformed request body",
            "The body is not JSON (application/json) or JSON Lines (application/jsonl), or "
            "holds no record. Nothing was written.",
        ),
        ProblemType(
            "admission",
            "Record refused",
            "A record failed an admission check (member check: schema, signature, "
            "key-unknown, ...; member record: which record). The batch is all or nothing: "
            "nothing was written.",
        ),
        ProblemType(
            "replay",
            "Record already logged",
            "A record of the batch is already in the ledger (or twice in the batch), and the "
            "batch is not exactly a resubmission of logged records. Nothing was written.",
        ),
        ProblemType(
            "conflict",
            "Conflicting write",
            "Another writer changed the store while this one wrote; nothing was written. "
            "Submit again.",
        ),
        ProblemType(
            "too-large",
            "Request body too large",
            "The body exceeds the service's limit (member limit, bytes). Nothing was written.",
        ),
        ProblemType(
            "unsupported-media-type",
            "Unsupported content type",
            "POST /v1/records takes application/json (one record) or application/jsonl "
            "(JSON Lines; application/x-ndjson too).",
        ),
        ProblemType(
            "timeout",
            "Request body too slow",
            "The body did not arrive within the service's deadline. Nothing was written.",
        ),
        ProblemType(
            "no-checkpoint",
            "No checkpoint yet",
            "The ledger has no signed checkpoint yet (no record was ever admitted), so there "
            "is nothing to bind a verdict to.",
        ),
        ProblemType(
            "bad-parameter",
            "Bad query parameter",
            "A query or path parameter is malformed, out of range, repeated or unknown "
            "(member parameter names it).",
        ),
        ProblemType("not-found", "Not found", "Nothing is served at this path."),
        ProblemType(
            "method-not-allowed", "Method not allowed", "The path does not take this method."
        ),
        ProblemType(
            "bad-input",
            "Bad input",
            "cvid refused the request's input (detail says why).",
        ),
        ProblemType(
            "unavailable",
            "Service unavailable",
            "The store refused or failed, or the writer's queue is full, or the service is "
            "stopping. Nothing was written; try again after Retry-After seconds.",
        ),
        ProblemType(
            "disk-full",
            "The store's disk is full",
            "The store refused the commit for lack of space and rolled it back: nothing was "
            "written. Submit again once its operator has freed space.",
        ),
        ProblemType(
            "verification",
            "Ledger failed verification",
            "The ledger's own data failed a check while answering (detail says which); its "
            "operator should run `cvid ledger verify`.",
        ),
        ProblemType("internal", "Internal error", "An unexpected error; the service logged it."),
    )
}


class Problem(BaseModel):
    """An RFC 9457 problem document as the service writes it."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A URI reference naming the problem type (/v1/problems/…).")
    title: str
    status: int
    detail: str
    check: str | None = Field(
        default=None, description="The admission check a refused record failed."
    )
    record: str | None = Field(
        default=None, description="Which record was refused: 'record K of N (line K)'."
    )
    reason: str | None = Field(default=None, description="Why the record was refused.")
    position: int | None = Field(
        default=None, description="The refused record's number in the batch (1-based)."
    )
    parameter: str | None = Field(default=None, description="The bad query parameter.")
    limit: int | None = Field(default=None, description="The body limit in bytes (413).")


class ProblemError(Exception):
    """Answer with a problem: raise it from a handler."""

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        **members: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = TYPES[kind]
        self.detail = detail
        self.headers = dict(headers or {})
        self.members = members


def bad_parameter(name: str, detail: str) -> ProblemError:
    """A 400 naming query parameter ``name``."""
    return ProblemError(400, "bad-parameter", f"{name}: {detail}", parameter=name)


def problem_response(exc: ProblemError, redact: Callable[[str], str] = str) -> Response:
    """The problem+json response of ``exc``; ``redact`` cleans text of server paths."""
    body: dict[str, Any] = {
        "type": exc.kind.uri,
        "title": exc.kind.title,
        "status": exc.status,
        "detail": redact(exc.detail),
    }
    for k, v in exc.members.items():
        body[k] = redact(v) if isinstance(v, str) else v
    headers = {"Cache-Control": "no-store", **exc.headers}
    return Response(
        json.dumps(body, ensure_ascii=False).encode(),
        status_code=exc.status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def from_record_error(exc: RecordError, position: int | None = None) -> ProblemError:
    """The problem for an admission refusal (``position``: the record's number in the batch)."""
    if exc.check == "json":
        status, kind = 400, "malformed"
    elif exc.check == "replay":
        status, kind = 409, "replay"
    else:
        status, kind = 422, "admission"
    members: dict[str, Any] = {"check": exc.check, "record": exc.where, "reason": exc.detail}
    if position is not None:
        members["position"] = position
    return ProblemError(status, kind, exc.diagnostics(), **members)


#: How the stores say their disk is full: SQLite (cvid.store.sqlite, "database or disk is
#: full"), PostgreSQL's disk_full (SQLSTATE 53100) and the system's ENOSPC text.
DISK_FULL = ("disk is full", "PostgreSQL error 53100", "No space left on device")

#: Seconds a client is asked to wait before submitting again to a full disk.
DISK_FULL_RETRY = 60


def disk_full(exc: Error) -> bool:
    """Whether ``exc`` is a store's refusal for lack of space."""
    text = str(exc)
    return isinstance(exc, StoreError) and any(s in text for s in DISK_FULL)


def from_error(exc: Error, input_status: int = 400) -> ProblemError:
    """The problem for one of cvid's errors: its status is the error class's ``http_status``
    (cvid.errors), ``input_status`` standing in for a plain ``InputError``'s 400 where a
    handler says so; the problem type follows from the class (see the module's docstring)."""
    if isinstance(exc, RecordError):
        return from_record_error(exc)  # its status depends on the check that refused it
    status = exc.http_status
    if isinstance(exc, InputError) and status == InputError.http_status:
        status = input_status
    if isinstance(exc, ConflictError):
        return ProblemError(status, "conflict", exc.diagnostics())
    if disk_full(exc):
        detail = exc.diagnostics()
        if "disk is full" not in detail:  # PostgreSQL's words: "No space left on device"
            detail = (
                f"the disk is full; the transaction was rolled back, nothing was written: {detail}"
            )
        return ProblemError(507, "disk-full", detail, headers={"Retry-After": str(DISK_FULL_RETRY)})
    if isinstance(exc, StoreError):
        return ProblemError(status, "unavailable", exc.diagnostics(), headers={"Retry-After": "1"})
    if isinstance(exc, VerificationError):
        return ProblemError(status, "verification", exc.diagnostics())
    if isinstance(exc, InputError):
        kind = "too-large" if status == 413 else "bad-input"
        return ProblemError(status, kind, exc.diagnostics())
    return ProblemError(status, "internal", exc.diagnostics())


def validation_problem(exc: RequestValidationError) -> ProblemError:
    """A 400 naming the first query or path parameter FastAPI refused."""
    errors = exc.errors()
    first = errors[0] if errors else {}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("query", "path")]
    name = ".".join(loc) or "request"
    msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    got = first.get("input")
    if isinstance(got, str):
        msg += f" (got {got[:80]!r})"
    return bad_parameter(name, msg)


def http_problem(exc: StarletteHTTPException) -> ProblemError:
    """Starlette's own errors (no route, wrong method) as problems."""
    if exc.status_code == 404:
        return ProblemError(404, "not-found", "nothing is served at this path")
    if exc.status_code == 405:
        return ProblemError(405, "method-not-allowed", "this path does not take this method")
    return ProblemError(exc.status_code, "bad-input", str(exc.detail))


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the problem statuses a route answers with."""
    return {
        s: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": _WHY.get(s, "Problem")}
        for s in statuses
    }


_WHY = {
    400: "Malformed input or a bad query parameter",
    404: "Not found",
    409: "A replay of logged records that is not an identical resubmission, or a conflict",
    413: "Body over the limit",
    415: "Unsupported content type",
    408: "Body too slow",
    422: "A record failed an admission check",
    500: "The ledger failed its own verification, or an internal error",
    503: "The store is unavailable or the writer busy",
    507: "The store's disk is full: nothing was written",
}


async def problem_handler(request: Request, exc: Exception) -> Response:
    """Exception handler: every error becomes problem+json, redacted."""
    redact: Callable[[str], str] = getattr(request.app.state, "redact", str)
    if isinstance(exc, ProblemError):
        return problem_response(exc, redact)
    if isinstance(exc, RequestValidationError):
        return problem_response(validation_problem(exc), redact)
    if isinstance(exc, StarletteHTTPException):
        return problem_response(http_problem(exc), redact)
    if isinstance(exc, Error):
        return problem_response(from_error(exc), redact)
    raise exc  # pragma: no cover - only registered for the types above
