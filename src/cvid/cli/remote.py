"""The command line as a client of a served ledger (``cvid serve``).

Wherever a command takes a ledger directory it also takes the ``http(s)://`` URL of a served
ledger (its base, ``https://host``, or ``https://host/v1``) and prints the same output with
the same exit codes: the service answers with the very documents the command builds locally
(:mod:`cvid.documents`). A refusal (an RFC 9457 problem) becomes an :class:`Refused` input
error whose one line is the problem's ``detail`` (exit 2); so does a service that cannot be
reached or answers with something that is not cvid's.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvid.errors import InputError

if TYPE_CHECKING:
    import httpx

    from cvid.agreements import Package
    from cvid.evidence import Candidate

#: Seconds to wait for a service's answer (a large batch's commit and receipts included).
TIMEOUT = 120.0
PROBLEM = "application/problem+json"
LEDGER_INFO = "cvid-ledger-info/1"


def is_service(location: str | Path) -> bool:
    """Whether ``location`` is the URL of a served ledger rather than a directory or database."""
    return isinstance(location, str) and location.lower().startswith(("http://", "https://"))


class Refused(InputError):
    """The service refused the request; ``problem`` is its problem document (may be empty)."""

    def __init__(self, message: str, problem: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.problem: dict[str, Any] = dict(problem or {})


def base_of(url: str) -> str:
    """The service's base URL: without a trailing ``/`` or ``/v1``."""
    base = url.rstrip("/")
    return base.removesuffix("/v1")


class Service:
    """A served ledger at ``url``; every call is one HTTP request (or a page of them)."""

    def __init__(self, url: str, timeout: float = TIMEOUT) -> None:
        import httpx

        self.url = url
        self.base = base_of(url)
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int | None] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        import httpx

        url = self.base + path
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            resp = self._client.request(method, url, params=query, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise InputError(f"{url}: cannot reach the service: {exc}") from None
        if resp.status_code >= 400:
            raise _refusal(resp)
        return resp

    def _json(self, path: str, params: Mapping[str, str | int | None] | None = None) -> Any:
        resp = self._request("GET", path, params)
        try:
            return resp.json()
        except ValueError:
            raise InputError(f"{resp.url}: the answer is not JSON") from None

    # -- reads -----------------------------------------------------------------------------

    def status(self, as_of: str, view: str) -> dict[str, Any]:
        """``GET /v1/status``: the status document."""
        doc: dict[str, Any] = self._json("/v1/status", {"as_of": as_of, "view": str(view)})
        return doc

    def timeline(self, start: str | None, end: str | None, view: str) -> dict[str, Any]:
        """``GET /v1/timeline``: the timeline document."""
        doc: dict[str, Any] = self._json(
            "/v1/timeline", {"from": start, "to": end, "view": str(view)}
        )
        return doc

    def verdict(self, as_of: str, view: str) -> bytes:
        """``GET /v1/verdict``: the verdict file's bytes."""
        return self._request("GET", "/v1/verdict", {"as_of": as_of, "view": str(view)}).content

    def records(self, **filters: str | None) -> list[dict[str, Any]]:
        """Every ``GET /v1/records`` row matching ``filters``, page after page, as the
        ``cvid evidence list --json`` summaries (the proofs left out)."""
        out: list[dict[str, Any]] = []
        after: int | None = None
        while True:
            page = self._json("/v1/records", {**filters, "after": after, "limit": 10_000})
            for row in page["records"]:
                row.pop("leaf_hash", None)
                row.pop("inclusion_proof", None)
                out.append(row)
            after = page.get("next")
            if after is None:
                return out

    def record(self, index: int) -> dict[str, Any]:
        """``GET /v1/records/{index}``: ``cvid evidence show --json`` and a receipt."""
        doc: dict[str, Any] = self._json(f"/v1/records/{index}")
        return doc

    def keys(self) -> list[dict[str, Any]]:
        """``GET /v1/keys``: ``cvid ledger keys --json``."""
        doc: list[dict[str, Any]] = self._json("/v1/keys")
        return doc

    def info(self) -> dict[str, Any]:
        """``GET /v1/ledger``: the ledger's agreement, log key, clock and package hash."""
        doc: dict[str, Any] = self._json("/v1/ledger")
        return doc

    def package(self) -> Package:
        """The ledger's copy of its agreement package (``GET /v1/package``), compiled."""
        from cvid.agreements import package_from_files

        doc = self._json("/v1/package")
        try:
            files = {p: base64.b64decode(d, validate=True) for p, d in doc["files"].items()}
        except (KeyError, TypeError, AttributeError, ValueError):
            raise InputError(f"{self.base}/v1/package: not a package document") from None
        return package_from_files(files, f"{self.base}/v1/package")

    # -- submitting ------------------------------------------------------------------------

    def submit(self, batch: Sequence[Candidate]) -> dict[str, Any]:
        """``POST /v1/records`` of ``batch`` as JSON Lines, all or nothing.

        Each record goes as one line, so a refusal's ``position`` is the record's number in
        ``batch``; a refusal is re-worded as ``cvid submit`` words it for a directory (the
        records' files and lines, "nothing was written").
        """
        lines = []
        for c in batch:
            # ASCII escapes keep every string exact, lone surrogates included.
            text = c.text if c.text is not None else json.dumps(c.obj).encode()
            lines.append(text.replace(b"\r", b"").replace(b"\n", b"") + b"\n")
        try:
            resp = self._request(
                "POST",
                "/v1/records",
                content=b"".join(lines),
                headers={"Content-Type": "application/jsonl"},
            )
        except Refused as exc:
            raise _as_local(exc, batch) from None
        doc: dict[str, Any] = resp.json()
        return doc


def _refusal(resp: httpx.Response) -> Refused:
    """A :class:`Refused` for an error answer: the problem's detail, or the HTTP status."""
    kind = resp.headers.get("content-type", "").split(";")[0].strip()
    if kind == PROBLEM:
        try:
            problem = resp.json()
        except ValueError:
            problem = None
        if isinstance(problem, dict) and isinstance(problem.get("detail"), str):
            return Refused(problem["detail"], problem)
    return Refused(f"{resp.url}: HTTP {resp.status_code} {resp.reason_phrase}")


def _as_local(exc: Refused, batch: Sequence[Candidate]) -> Refused:
    """A submission's refusal named as ``cvid submit`` names it: file, line, nothing written."""
    from cvid.evidence import describe

    p = exc.problem
    position = p.get("position")
    if isinstance(position, int) and 1 <= position <= len(batch) and "check" in p:
        where = describe(position, len(batch), batch[position - 1].origin)
        return Refused(f"{where}: {p['check']}: {p.get('reason', '')}; nothing was written", p)
    return Refused(f"{exc.diagnostics()}; nothing was written", p)


def service(location: str, package: Path | None = None) -> Service:
    """The served ledger at ``location``; ``--package`` applies to local ledgers only."""
    if package is not None:
        raise InputError(
            f"--package applies to a ledger directory or database; the service at {location} "
            "evaluates its own copy of the package"
        )
    return Service(location)


def served_ledger(url: str) -> Service | None:
    """The served ledger ``url`` names, or None when it is a plain tiles prefix.

    A URL ending in ``/v1/log`` is a served ledger's tiles prefix, read as tiles; any other
    http(s) URL is a served ledger when ``/v1/ledger`` under it answers as one (one probe),
    else a tiles prefix (a static host).
    """
    if not is_service(url) or url.rstrip("/").endswith("/v1/log"):
        return None
    svc = Service(url)
    try:
        info = svc.info()
    except InputError:
        svc.close()
        return None
    if not isinstance(info, dict) or info.get("format") != LEDGER_INFO:
        svc.close()
        return None
    return svc
