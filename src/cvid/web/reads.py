"""The read routes: status, timeline, verdict, report, keys, and what the ledger is.

Each answers with exactly the document the matching command prints (docs/status.md,
docs/ledger.md), built by the same functions (:mod:`cvid.documents`). Every read runs in the
thread pool on the service's read-only ledger: reads never write.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from cvid import __version__
from cvid.agreements import (
    View,
    make_verdict,
    status_under_versions,
    timeline_under_versions,
    verdict_bytes,
)
from cvid.documents import keys_document
from cvid.report import render_report, section_for_source
from cvid.sources import source_of
from cvid.tlog import Checkpoint
from cvid.web.common import (
    NO_CACHE,
    ServiceDep,
    StrictRoute,
    instant_param,
    json_bytes,
    json_response,
)
from cvid.web.problems import TYPES, ProblemError, bad_parameter, responses

router = APIRouter(route_class=StrictRoute, tags=["reads"])

AsOf = Annotated[str, Query(description="A date (00:00Z) or an RFC 3339 instant with a zone.")]
ViewQ = Annotated[
    View, Query(description="now: every record observed by the date; then: as known then.")
]

#: The report is self-contained (inline CSS and SVG, no script): forbid anything else.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"

#: The format of ``GET /v1/ledger``.
LEDGER_INFO = "cvid-ledger-info/1"


def base_url(request: Request) -> str:
    """The service's public URL: ``--public-url`` when given, else as the request reached it."""
    configured: str | None = request.app.state.public_url
    return (configured or str(request.base_url)).rstrip("/")


@router.get("/v1/status", responses=responses(400, 503))
def status(svc: ServiceDep, as_of: AsOf, view: ViewQ = View.NOW) -> Response:
    """`cvid status --json`: each term's status per party and each step's state."""
    t = instant_param("as_of", as_of)

    def compute() -> tuple[Checkpoint | None, bytes]:
        # Under the package version in force at t (docs/amendments.md).
        source, doc = status_under_versions(svc.reader, svc.package, t, view)
        return source.checkpoint, json_bytes(doc)

    return _json(svc.answer(("status", t, view), compute))


@router.get("/v1/timeline", responses=responses(400, 503))
def timeline(
    svc: ServiceDep,
    start: Annotated[
        str | None, Query(alias="from", description="Start (default: the first record).")
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", description="End (default: the last record's instant).")
    ] = None,
    view: ViewQ = View.NOW,
) -> Response:
    """`cvid timeline --json`: every change of status between two instants."""
    if start is not None:
        instant_param("from", start)
    if end is not None:
        instant_param("to", end)

    def compute() -> tuple[Checkpoint | None, bytes]:
        source, doc = timeline_under_versions(
            svc.reader, svc.package, start, end, view, where="the ledger", names=("from", "to")
        )
        return source.checkpoint, json_bytes(doc)

    return _json(svc.answer(("timeline", start, end, view), compute))


@router.get("/v1/verdict", responses=responses(400, 409, 500, 503))
def verdict(svc: ServiceDep, as_of: AsOf, view: ViewQ = View.NOW) -> Response:
    """The verdict `cvid verdict create` writes (RFC 8785 JSON and a newline), byte for byte.

    Rests on every entry the latest checkpoint covers, each re-read and re-checked.
    """
    t = instant_param("as_of", as_of)

    def compute() -> tuple[Checkpoint | None, bytes]:
        source = source_of(svc.reader, package=svc.package, verify=True)
        if source.checkpoint is None:
            raise ProblemError(409, "no-checkpoint", "no signed checkpoint to bind the verdict to")
        doc = make_verdict(svc.package, source.records, t, view, source.checkpoint)
        return source.checkpoint, verdict_bytes(doc)

    return _json(svc.answer(("verdict", t, view), compute))


@router.get("/v1/view", responses=responses(400, 503))
def view(
    svc: ServiceDep,
    at: Annotated[str, Query(description="A date (00:00Z) or an RFC 3339 instant with a zone.")],
    views: Annotated[
        str, Query(description="The views, comma-separated, the primary first.")
    ] = "now,then",
) -> Response:
    """`cvid view --json`: the view model the report and the dashboard draw (docs/view-model.md)."""
    from cvid.view import view_of_ledger

    t = instant_param("at", at)
    try:
        chosen = tuple(dict.fromkeys(View(v.strip()) for v in views.split(",")))
    except ValueError:
        raise bad_parameter("views", "each view is then or now, comma-separated") from None

    def compute() -> tuple[Checkpoint | None, bytes]:
        # Each view under the version in force in its own chain (docs/amendments.md).
        source, model = view_of_ledger(svc.reader, svc.package, t, chosen)
        return source.checkpoint, json_bytes(model.to_json())

    return _json(svc.answer(("view", t, chosen), compute))


@router.get("/v1/report", response_class=HTMLResponse, responses=responses(400, 503))
def report(request: Request, svc: ServiceDep, as_of: AsOf, view: ViewQ = View.NOW) -> Response:
    """The self-contained HTML report `cvid report` writes (no script, nothing fetched)."""
    t = instant_param("as_of", as_of)
    base = base_url(request)

    def compute() -> tuple[Checkpoint | None, bytes]:
        source = source_of(svc.reader, package=svc.package)
        section = section_for_source(
            source,
            t,
            view,
            package=svc.package,
            ledger=base,
            notes=[f"Served by cvid serve at {base}; its tiles are at {base}/v1/log."],
        )
        return source.checkpoint, render_report([section]).encode()

    return HTMLResponse(
        svc.answer(("report", t, view, base), compute),
        headers={**NO_CACHE, "Content-Security-Policy": REPORT_CSP},
    )


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json", headers=NO_CACHE)


@router.get("/v1/keys", responses=responses(503))
def keys(svc: ServiceDep) -> Response:
    """`cvid ledger keys --json`: every key, where it was registered, when revoked."""
    with svc.keys_lock:
        # A read-only ledger takes other writers' key records into its registry when it
        # checks a batch: an empty one brings it up to date and writes nothing.
        svc.reader.check([])
        states = svc.reader.registry.states()
    return json_response(keys_document(states))


@router.get("/v1/ledger", responses=responses(503))
def ledger_info(svc: ServiceDep) -> Response:
    """What the ledger is: agreement, log origin and key, clock, package hash, size."""
    ledger = svc.reader
    meta = ledger.meta
    cp = svc.latest()
    return json_response(
        {
            "format": LEDGER_INFO,
            "agreement": meta.get("agreement"),
            "title": meta.get("title"),
            "origin": meta.get("origin"),
            "log_vkey": meta.get("log_vkey"),
            "clock": ledger.clock_mode,
            "clock_vkey": meta.get("clock_vkey"),
            "package_sha256": ledger.package_sha256,
            "size": cp.checkpoint.size if cp is not None else 0,
            "tiles": "/v1/log",
            "version": __version__,
        }
    )


@router.get("/v1/package", responses=responses(503))
def package(svc: ServiceDep) -> Response:
    """The ledger's copy of its agreement package: each file's bytes in base64, by path."""
    files = svc.reader.package_files
    return json_response(
        {
            "package_sha256": svc.reader.package_sha256,
            "files": {p: base64.b64encode(files[p]).decode() for p in sorted(files)},
        }
    )


@router.get("/v1/problems/{name}", response_class=Response, responses=responses(404))
def problem_type(name: str) -> Response:
    """What a problem ``type`` means (the type URIs of this service resolve here)."""
    kind = TYPES.get(name)
    if kind is None:
        raise ProblemError(404, "not-found", f"no problem type {name!r}")
    return Response(
        f"{kind.title}\n\n{kind.description}\n",
        media_type="text/plain; charset=utf-8",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(request: Request, svc: ServiceDep) -> Response:
    """A page of links for a person who opened the service in a browser (`--open`)."""
    meta = svc.reader.meta
    today = dt.datetime.now(dt.UTC).date().isoformat()
    links = [
        (f"/v1/report?as_of={today}", "report as of today (HTML)"),
        (f"/v1/status?as_of={today}", "status as of today (JSON)"),
        ("/v1/timeline", "timeline (JSON)"),
        ("/v1/records", "records, with inclusion proofs (JSON)"),
        ("/v1/keys", "keys (JSON)"),
        ("/v1/ledger", "the ledger: log key, clock, package hash (JSON)"),
        ("/v1/log/checkpoint", "the latest signed checkpoint (tlog-tiles under /v1/log/)"),
        ("/v1/openapi.json", "the API (OpenAPI)"),
    ]
    items = "".join(f'<li><a href="{html.escape(u)}">{html.escape(t)}</a></li>' for u, t in links)
    title = html.escape(f"cvid: {meta.get('title') or meta.get('agreement')}")
    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body><h1>{title}</h1><p>Log <code>{html.escape(meta.get('origin', ''))}"
        f"</code>, key <code>{html.escape(meta.get('log_vkey', ''))}</code></p><ul>{items}</ul>"
        "</body></html>"
    )
    return HTMLResponse(body, headers={**NO_CACHE, "Content-Security-Policy": REPORT_CSP})
