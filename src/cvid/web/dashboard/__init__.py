"""The analyst's dashboard (docs/dashboard.md): static pages under ``/dashboard/``.

The pages are plain HTML, CSS and JavaScript shipped in this package (no build step, nothing
fetched from elsewhere). They read the JSON API (``/v1/status``, ``/v1/timeline``,
``/v1/records``, ``/v1/ledger``), the log's tiles under ``/v1/log/``, and two documents this
module adds for them: ``/dashboard/policy`` (the package's witnesses as a C2SP ``tlog-policy``)
and ``/dashboard/series`` (each limit term's reported quantities against its limit). In the
browser they check the checkpoint's signature, the witnesses' cosignatures under that policy
and a record's inclusion from the tiles, with WebCrypto (``verify.js``).

None of these routes is part of the ``/v1/`` API: they are left out of the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse, Response

from cvid.agreements.evidence_index import Evidence, View
from cvid.agreements.instants import from_us, show
from cvid.agreements.package import Package
from cvid.agreements.terms import CompiledTerm
from cvid.agreements.verdict import checkpoint_json
from cvid.errors import InputError
from cvid.evidence.record import Quantity, Record
from cvid.evidence.units import convert
from cvid.sources import source_of
from cvid.tlog.checkpoint import Checkpoint
from cvid.web.common import NO_CACHE, ServiceDep, StrictRoute, instant_param, json_bytes
from cvid.web.problems import ProblemError
from cvid.web.service import Service

router = APIRouter(route_class=StrictRoute, include_in_schema=False)

#: The files served under /dashboard/, with their media types.
ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "charts.js": "text/javascript; charset=utf-8",
    "verify.js": "text/javascript; charset=utf-8",
}

#: Scripts and styles from this origin only, fetches to it only, no inline code, no frames.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

#: The format of ``GET /dashboard/series``.
SERIES_FORMAT = "cvid-dashboard-series/1"

#: How a record's kind is drawn: what its submitter says it is.
EVIDENCE_CLASS = {
    "declaration": "declared",
    "material_balance_report": "declared",
    "statement": "declared",
    "observation": "observed",
    "notice": "observed",
    "inspection_finding": "verified",
    "measurement": "verified",
}

AsOf = Annotated[str, Query(description="A date (00:00Z) or an RFC 3339 instant with a zone.")]


def asset(name: str) -> bytes:
    """The bytes of a shipped dashboard file."""
    return resources.files(__name__).joinpath(name).read_bytes()


@router.get("/dashboard")
def dashboard_root() -> Response:
    """``/dashboard`` is ``/dashboard/``."""
    return RedirectResponse("/dashboard/", status_code=308)


@router.get("/dashboard/")
def dashboard_index() -> Response:
    """The dashboard's page."""
    return _asset("index.html")


def _asset(name: str) -> Response:
    return Response(
        asset(name),
        media_type=ASSETS[name],
        headers={**NO_CACHE, "Content-Security-Policy": CSP},
    )


def witness_policy_text(svc: Service) -> str | None:
    """The ledger's witnesses as ``tlog-policy`` text with its log line, or None."""
    from cvid.evidence.parties import witness_policy_text as text_of

    text = text_of(svc.reader.parties, svc.reader.log.verifier.vkey)
    return text or None


def series_document(
    package: Package,
    records: Iterable[tuple[int, Record]],
    t: int,
    view: View,
    checkpoint: Checkpoint | None,
) -> dict[str, Any]:
    """Each limit term's quantities per party, as known at ``t`` in ``view``, with its limits.

    A point is a record of one of the term's kinds (and subject) whose value of the term's
    quantity is a quantity, in the term's unit (converted as the engine converts; a value
    that cannot be converted is left out, as the status explains). Pure.
    """
    ev = Evidence(records)
    terms = []
    for term in package.terms:
        if term.kind != "limit" or term.parameter is None:
            continue
        unit = term.unit or term.parameter.unit or ""
        limits = [
            {"from": show(s), "value": v}
            for s, v in zip(term.parameter.starts, term.parameter.values, strict=True)
        ]
        terms.append(
            {
                "term": term.id,
                "title": term.title,
                "unit": unit,
                "bound": term.bound,
                "limits": limits,
                "series": [
                    {"party": p, "points": _points(package, term, ev, view, t, p)}
                    for p in term.parties
                ],
            }
        )
    return {
        "format": SERIES_FORMAT,
        "agreement": package.id,
        "checkpoint": checkpoint_json(checkpoint) if checkpoint is not None else None,
        "as_of": show(t),
        "view": view.value,
        "terms": terms,
    }


def _points(
    package: Package, term: CompiledTerm, ev: Evidence, view: View, t: int, party: str
) -> list[dict[str, Any]]:
    series = ev.by_value.get((party, term.quantity))
    out: list[dict[str, Any]] = []
    for p in series.pos if series else ():
        r = ev.records[p]
        if ev.vis[view][p] > t or r.kind not in term.kinds:
            continue
        if term.subject is not None and r.subject != term.subject:
            continue
        q = r.values[term.quantity]
        if not isinstance(q, Quantity):
            continue
        if term.unit is not None and q.unit != term.unit:
            try:
                q = convert(q, term.unit, material=term.material)
            except InputError:
                continue
        roles = sorted(str(x) for x in package.roles.get(r.submitter, ()))
        out.append(
            {
                "at": show(ev.obs[p]),
                "value": float(q.value),
                "uncertainty": float(q.uncertainty) if q.uncertainty is not None else None,
                "index": ev.index[p],
                "kind": str(r.kind),
                "class": EVIDENCE_CLASS.get(str(r.kind), "observed"),
                "submitter": r.submitter,
                "roles": roles,
                "superseded": ev.superseded(view, p, t),
            }
        )
    return out


@router.get("/dashboard/policy")
def dashboard_policy(svc: ServiceDep) -> Response:
    """The package's witnesses as a ``tlog-policy`` (404 when it names none)."""
    text = witness_policy_text(svc)
    if text is None:
        raise ProblemError(404, "not-found", "the ledger's package names no witnesses")
    return Response(text, media_type="text/plain; charset=utf-8", headers=NO_CACHE)


@router.get("/dashboard/series")
def dashboard_series(svc: ServiceDep, as_of: AsOf, view: View = View.NOW) -> Response:
    """Each limit term's reported quantities against its limit (:func:`series_document`)."""
    t = instant_param("as_of", as_of)

    def compute() -> tuple[Checkpoint | None, bytes]:
        source = source_of(svc.reader, package=svc.package, until=from_us(t))
        doc = series_document(svc.package, source.records, t, view, source.checkpoint)
        return source.checkpoint, json_bytes(doc)

    body = svc.answer(("dashboard-series", t, view), compute)
    return Response(body, media_type="application/json", headers=NO_CACHE)


# Last: the routes above take their own names first.
@router.get("/dashboard/{name}")
def dashboard_asset(name: str) -> Response:
    """One of the dashboard's files (:data:`ASSETS`); 404 for anything else."""
    if name not in ASSETS:
        raise ProblemError(404, "not-found", f"no dashboard file {name!r}")
    return _asset(name)
