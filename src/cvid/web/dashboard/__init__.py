"""The analyst's dashboard (docs/dashboard.md): static pages under ``/dashboard/``.

The pages are plain HTML, CSS and JavaScript shipped in this package (no build step, nothing
fetched from elsewhere). Every status, finding, step, timeline and series they show comes
from the view model (``/v1/view``, docs/view-model.md); they also read ``/v1/records``,
``/v1/ledger``, the log's tiles under ``/v1/log/``, and one document this module adds for
them: ``/dashboard/policy`` (the package's witnesses as a C2SP ``tlog-policy``). In the
browser they check the checkpoint's signature, the witnesses' cosignatures under that policy
and a record's inclusion from the tiles, with WebCrypto (``verify.js``).

None of these routes is part of the ``/v1/`` API: they are left out of the OpenAPI document.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from cvid.web.common import NO_CACHE, ServiceDep, StrictRoute
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
    from cvid.evidence import witness_policy_text as text_of

    text = text_of(svc.reader.parties, svc.reader.log.verifier.vkey)
    return text or None


@router.get("/dashboard/policy")
def dashboard_policy(svc: ServiceDep) -> Response:
    """The package's witnesses as a ``tlog-policy`` (404 when it names none)."""
    text = witness_policy_text(svc)
    if text is None:
        raise ProblemError(404, "not-found", "the ledger's package names no witnesses")
    return Response(text, media_type="text/plain; charset=utf-8", headers=NO_CACHE)


# Last: the routes above take their own names first.
@router.get("/dashboard/{name}")
def dashboard_asset(name: str) -> Response:
    """One of the dashboard's files (:data:`ASSETS`); 404 for anything else."""
    if name not in ASSETS:
        raise ProblemError(404, "not-found", f"no dashboard file {name!r}")
    return _asset(name)
