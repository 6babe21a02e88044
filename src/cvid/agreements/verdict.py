"""Verdicts: a status document bound to the package and the log checkpoint it came from.

A verdict is the status of docs/status.md with ``format: cvid-verdict/1``, the package's
SHA-256 and the checkpoint (origin, size, root) whose first ``size`` entries are the evidence.
Its bytes are the RFC 8785 (JCS) canonical JSON followed by one newline, so anyone holding the
package and the public log re-derives the same file byte for byte. Its ``clock`` says what stood
for "known then" (docs/status.md): under ``log`` a verdict as known then also rests on the
ledger's clock-cosigned checkpoints, so it re-derives from the ledger directory, not from tiles.

Its ``package_versions`` is the package hash chain (:mod:`cvid.agreements.versions`): every
version up to the one in force at ``as_of``, with its SHA-256, the previous version's,
its effective instant and the log entries that recorded it. The chain is recomputed from the
evidence itself (the first ``size`` entries), so a verdict evaluated under another version,
or naming another chain, does not re-derive (:func:`check_chain` names the difference).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import rfc8785

from cvid.agreements.engine import Instant, evaluate, instant
from cvid.agreements.evidence_index import Evidence, View
from cvid.agreements.package import Package
from cvid.agreements.versions import version_chain
from cvid.errors import InputError, VerificationError
from cvid.evidence import Record
from cvid.limits import parse_json
from cvid.tlog import Checkpoint, b64

FORMAT = "cvid-verdict/1"


def checkpoint_json(cp: Checkpoint) -> dict[str, Any]:
    """``{"origin", "size", "root"}`` with the root in base64, as in the checkpoint text."""
    return {"origin": cp.origin, "size": cp.size, "root": b64(cp.root)}


def make_verdict(
    package: Package,
    evidence: Evidence | Iterable[tuple[int, Record]],
    as_of: Instant,
    view: View | str,
    checkpoint: Checkpoint,
) -> dict[str, Any]:
    """The verdict document for ``package`` over the records of ``checkpoint`` at ``as_of``.

    ``package`` is the first version; the version in force at ``as_of`` is chosen from the
    amendments among the evidence, and the verdict carries the chain up to it.
    ``evidence`` must be exactly the first ``checkpoint.size`` log entries (indices
    0..size-1); anything else is an :class:`InputError`. Its clock and logged times (from a
    :class:`~cvid.agreements.evidence_index.LedgerRecords` or an :class:`Evidence`) decide
    the ``then`` view and the verdict's ``clock``.
    """
    ev = evidence if isinstance(evidence, Evidence) else Evidence(evidence)
    if not ev.covers(checkpoint.size):
        raise InputError(
            f"a verdict needs exactly the {checkpoint.size} records the checkpoint covers, "
            f"got {len(ev)}"
        )
    chain = version_chain(package, ev.logged())
    if View(view) is View.THEN and View.THEN in ev.vis:  # only amendments known by then
        then = ev.vis[View.THEN]
        chain = chain.known_then(lambda i: then[ev.position[i]])
    t = instant(as_of)
    doc = evaluate(chain.at(t).package, ev, as_of, view).to_json(checkpoint_json(checkpoint))
    doc["format"] = FORMAT
    doc["package_versions"] = chain.upto_json(t)
    return doc


def verdict_bytes(doc: dict[str, Any]) -> bytes:
    """The verdict file: RFC 8785 canonical JSON and a newline."""
    return bytes(rfc8785.dumps(doc)) + b"\n"


def read_verdict(data: bytes, name: str) -> dict[str, Any]:
    """Parse a verdict file; :class:`InputError` if it is not one."""
    try:
        doc = parse_json(data)
    except ValueError as exc:
        raise InputError(f"{name}: not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"{name}: not a {FORMAT} document")
    cp = doc.get("checkpoint")
    if not isinstance(cp, dict) or not {"origin", "size", "root"} <= cp.keys():
        raise InputError(f"{name}: the verdict names no checkpoint (origin, size, root)")
    return doc


def check_chain(claimed: dict[str, Any], derived: dict[str, Any], name: str) -> None:
    """:class:`VerificationError` naming how the verdict's package chain (or the version it
    was evaluated under) differs from the one re-derived from the log; nothing if they agree."""
    mine, theirs = claimed.get("package_versions"), derived.get("package_versions")
    if mine != theirs:
        if not isinstance(mine, list) or not isinstance(theirs, list):
            raise VerificationError(f"{name}: it carries no package chain (package_versions)")
        for i, (x, y) in enumerate(zip(mine, theirs, strict=False)):
            if x != y:
                raise VerificationError(
                    f"{name}: its package chain differs from the log's at version {i + 1}: "
                    f"{x} in the verdict, {y} re-derived"
                )
        raise VerificationError(
            f"{name}: its package chain has {len(mine)} versions up to its as_of, the log's "
            f"{len(theirs)}"
        )
    if claimed.get("package_sha256") != derived.get("package_sha256"):
        raise VerificationError(
            f"{name}: evaluated under package version {claimed.get('package_sha256')}, but the "
            f"version in force at {claimed.get('as_of')} is {derived.get('package_sha256')}"
        )


def compare(claimed: bytes, derived: bytes, name: str) -> None:
    """Raise :class:`VerificationError` naming the first difference if the bytes differ."""
    if claimed == derived:
        return
    try:
        a, b = parse_json(claimed), parse_json(derived)
    except ValueError:
        a, b = None, None
    detail = "its bytes differ from the re-derived verdict"
    if isinstance(a, dict) and isinstance(b, dict):
        first = (
            "checkpoint",
            "package_versions",
            "package_sha256",
            "as_of",
            "view",
            "clock",
            "terms",
            "steps",
        )
        for key in [*first, *sorted((set(a) | set(b)) - set(first))]:
            if a.get(key) != b.get(key):
                detail = f"its {key!r} differs from the re-derived verdict"
                if key == "terms" and isinstance(a[key], list) and isinstance(b.get(key), list):
                    for x, y in zip(a[key], b[key], strict=False):
                        if x != y:
                            detail += (
                                f" (term {x.get('term')} {x.get('party')}: "
                                f"{x.get('status')} in the verdict, {y.get('status')} re-derived)"
                            )
                            break
                break
    raise VerificationError(f"{name}: {detail}")
