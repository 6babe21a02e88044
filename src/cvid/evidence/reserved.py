"""The records whose values cvid reads itself, and the shape admission requires of them.

Two kinds of record change what the engine does, not only what it knows: **amendment parts**
(``statement`` records about :data:`AMENDMENT_SUBJECT`: a new version of the agreement's
package, docs/amendments.md) and **notices of effect** (``notice`` records with a value
``notice``: withdrawal, suspension, countermeasure, resumption; docs/agreements.md). A record
that looks like one but is malformed would otherwise be admitted and then silently ignored,
so :func:`check_reserved` refuses it at admission (check ``schema``), naming the value that is
wrong. It needs the record alone, so the ledger's write path and every replay of the log run
it alike (:func:`cvid.evidence.admission.prepare`).

What needs the log too (does the amendment follow the version in force, do its parts
compile, does a notice's scope name terms of the package) is checked by
:mod:`cvid.agreements.versions` (``PackageRecordCheck``), which the ledger runs in order.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import cast

from cvid.errors import InputError
from cvid.evidence.record import Kind, Record
from cvid.evidence.signing import RecordError

#: The subject of every amendment record (and of no other record).
AMENDMENT_SUBJECT = "agreement-package"
#: The most bytes (the files' total, before base64) one amendment may carry.
MAX_AMENDMENT_BYTES = 1024 * 1024
#: The most bytes of files one amendment record carries (base64 makes them 4/3 as many).
PART_BYTES = 36_000

SHA256 = "amendment_sha256"
PREVIOUS = "amendment_previous"
EFFECTIVE = "amendment_effective"
MANIFEST = "amendment_manifest"
FILE_PREFIX = "amendment_file:"
#: Every value name an amendment record may carry besides its files.
AMENDMENT_VALUES = (SHA256, PREVIOUS, EFFECTIVE, MANIFEST)

#: The value that makes a ``notice`` record a notice of effect, and the effects it may name.
NOTICE = "notice"
EFFECTS = ("withdrawal", "suspension", "countermeasure", "resumption")
#: A term or step id, as packages write them (a notice's ``scope`` lists them).
ITEM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

_HEX64 = re.compile(r"[0-9a-f]{64}")
_MANIFEST_LINE = re.compile(r"([0-9a-f]{64})  (\S(?:.*\S)?)")


def is_amendment_like(record: Record) -> bool:
    """Whether ``record`` claims to be an amendment part: its subject is
    :data:`AMENDMENT_SUBJECT` or one of its values is named ``amendment_...``."""
    return record.subject == AMENDMENT_SUBJECT or any(
        name.startswith("amendment_") for name in record.values
    )


def is_notice_of_effect(record: Record) -> bool:
    """Whether ``record`` claims to be a notice of effect (a ``notice`` with a value ``notice``)."""
    return record.kind is Kind.NOTICE and NOTICE in record.values


def manifest_paths(manifest: str) -> dict[str, str]:
    """The ``path → sha256 hex`` a well-formed manifest lists; ValueError saying what is wrong.

    Well formed: one line ``<64 lowercase hex>  <path>`` per file, each ended by a newline,
    sorted by path, each path once (exactly what ``cvid ledger amend`` writes).
    """
    if not manifest.endswith("\n"):
        raise ValueError("must be lines '<sha256 hex>  <path>', each ended by a newline")
    out: dict[str, str] = {}
    last = ""
    for n, line in enumerate(manifest[:-1].split("\n"), 1):
        m = _MANIFEST_LINE.fullmatch(line)
        if m is None:
            raise ValueError(f"line {n} is not '<sha256 hex>  <path>'")
        digest, path = m.groups()
        problem = _path_problem(path)
        if problem is not None:
            raise ValueError(f"line {n}: {path[:80]!r} {problem}")
        if out and path <= last:
            raise ValueError(f"line {n}: {path!r} is not after {last!r} (sorted by path, once)")
        out[path] = digest
        last = path
    return out


def _path_problem(path: str) -> str | None:
    """Why ``path`` is not a package file's path (relative POSIX, as
    :func:`cvid.evidence.parties.read_package_files` gives them), or None."""
    if any(ord(c) < 32 or ord(c) == 127 for c in path) or "\\" in path:
        return "holds a control character or a backslash"
    if any(not part or part.startswith(".") for part in path.split("/")):
        return "is not a relative path of a package's file (no empty, hidden, '.' or '..' part)"
    return None


def amendment_problem(record: Record) -> str | None:
    """What is malformed in amendment part ``record`` (``values.<name>: ...``), or None."""
    if record.kind is not Kind.STATEMENT or record.subject != AMENDMENT_SUBJECT:
        return (
            f"an amendment part is a statement with subject {AMENDMENT_SUBJECT!r} (this is a "
            f"{record.kind.value} about {record.subject!r}); the subject and the amendment_ "
            "values are for amendments only"
        )
    if record.party is not None:
        return "party: an amendment part concerns the agreement, not one party (omit party)"
    v = record.values
    for name, value in v.items():
        if name not in AMENDMENT_VALUES and not name.startswith(FILE_PREFIX):
            allowed = ", ".join(AMENDMENT_VALUES)
            return f"values.{name}: an amendment part carries only {allowed} and {FILE_PREFIX}*"
        if not isinstance(value, str):
            return f"values.{name}: must be text"
    for name in AMENDMENT_VALUES:
        if name not in v:
            return f"values.{name}: missing (every part carries {', '.join(AMENDMENT_VALUES)})"
    sha, prev, eff, manifest = (cast(str, v[n]) for n in AMENDMENT_VALUES)  # text, above
    for name, text in ((SHA256, sha), (PREVIOUS, prev)):
        if _HEX64.fullmatch(text) is None:
            return f"values.{name}: {text[:80]!r} is not a SHA-256 (64 lowercase hex digits)"
    if sha == prev:
        return f"values.{SHA256}: the same as {PREVIOUS} (an amendment must change the package)"
    problem = _instant_problem(EFFECTIVE, eff)
    if problem is not None:
        return problem
    try:
        listed = manifest_paths(manifest)
    except ValueError as exc:
        return f"values.{MANIFEST}: {exc}"
    if hashlib.sha256(manifest.encode()).hexdigest() != sha:
        return f"values.{MANIFEST}: does not hash to values.{SHA256} ({sha[:12]}…)"
    total = 0
    for name, value in v.items():
        if not name.startswith(FILE_PREFIX):
            continue
        path, text = name[len(FILE_PREFIX) :], cast(str, value)
        if path not in listed:
            return f"values.{name}: {path!r} is not a file its {MANIFEST} lists"
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return f"values.{name}: not base64"
        if base64.b64encode(data).decode("ascii") != text:
            return f"values.{name}: not canonical base64 (padded, no other bits)"
        total += len(data)
        if total > PART_BYTES:
            return f"values.{name}: the part carries over {PART_BYTES:,} bytes of files"
        if hashlib.sha256(data).hexdigest() != listed[path]:
            return f"values.{name}: its bytes are not the file its {MANIFEST} lists (SHA-256)"
    return None


def notice_problem(record: Record) -> str | None:
    """What is malformed in notice of effect ``record`` (``values.<name>: ...``), or None."""
    v = record.values
    effect = v.get(NOTICE)
    if not isinstance(effect, str) or effect not in EFFECTS:
        shown = effect if isinstance(effect, str) else type(effect).__name__
        return f"values.{NOTICE}: {str(shown)[:80]!r} is not one of {', '.join(EFFECTS)}"
    if record.party is None or record.party != record.submitter:
        return (
            f"party: a notice of {effect} is its party's own: party must be the submitter "
            f"({record.submitter})"
        )
    if "effective" in v:
        text = v["effective"]
        if not isinstance(text, str):
            return "values.effective: must be text (a date or an RFC 3339 instant)"
        problem = _instant_problem("effective", text)
        if problem is not None:
            return problem
    if "scope" in v:
        scope = v["scope"]
        if not isinstance(scope, str):
            return "values.scope: must be text (term and step ids, separated by commas or blanks)"
        ids = scope_ids(scope)
        if not ids:
            return "values.scope: names no term or step (omit it to cover everything)"
        bad = [x for x in ids if ITEM_ID.fullmatch(x) is None]
        if bad:
            return f"values.scope: {bad[0][:80]!r} is not a term or step id"
    return None


def _instant_problem(name: str, text: str) -> str | None:
    """What is wrong with ``text`` as the date or instant ``values.<name>``, or None."""
    from cvid.agreements import parse_as_of  # the engine's reading of instants, when needed

    try:
        parse_as_of(text[:100])
    except InputError as exc:
        return f"values.{name}: {exc}"
    return None


def scope_ids(text: str) -> list[str]:
    """The ids a notice's ``scope`` text lists (separated by commas or blanks)."""
    return [x for x in re.split(r"[\s,]+", text) if x]


def check_reserved(record: Record, where: str) -> None:
    """Refuse (:class:`RecordError`, check ``schema``) a malformed amendment part or notice of
    effect; any other record passes."""
    problem = None
    if is_amendment_like(record):
        problem = amendment_problem(record)
    elif is_notice_of_effect(record):
        problem = notice_problem(record)
    if problem is not None:
        raise RecordError("schema", where, problem)
