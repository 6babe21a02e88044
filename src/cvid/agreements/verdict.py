"""Verdicts: a status document bound to the package and the log checkpoint it came from.

A verdict is the status of docs/status.md with ``format: cvid-verdict/1``, the package's
SHA-256 and the checkpoint (origin, size, root) whose first ``size`` entries are the evidence.
Its bytes are the RFC 8785 (JCS) canonical JSON followed by one newline, so anyone holding the
package and the public log re-derives the same file byte for byte. Its ``clock`` says what stood
for "known then" (docs/status.md): under ``log`` a verdict as known then also rests on the
ledger's clock-cosigned checkpoints, so it re-derives from the ledger directory, not from tiles.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import rfc8785

from cvid.agreements.engine import Instant, evaluate
from cvid.agreements.evidence_index import Evidence, View
from cvid.agreements.package import Package
from cvid.errors import InputError, VerificationError
from cvid.evidence.record import Record
from cvid.limits import parse_json
from cvid.tlog.checkpoint import Checkpoint
from cvid.tlog.note import b64

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

    ``evidence`` must be exactly the first ``checkpoint.size`` log entries (indices
    0..size-1); anything else is an :class:`InputError`. Its clock and logged times (from a
    :class:`~cvid.agreements.evidence_index.LedgerRecords` or an :class:`Evidence`) decide
    the ``then`` view and the verdict's ``clock``.
    """
    ev = evidence if isinstance(evidence, Evidence) else Evidence(evidence)
    if ev.index != list(range(checkpoint.size)):
        raise InputError(
            f"a verdict needs exactly the {checkpoint.size} records the checkpoint covers, "
            f"got {len(ev)}"
        )
    doc = evaluate(package, ev, as_of, view).to_json(checkpoint_json(checkpoint))
    doc["format"] = FORMAT
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
        first = ("checkpoint", "package_sha256", "as_of", "view", "clock", "terms", "steps")
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
