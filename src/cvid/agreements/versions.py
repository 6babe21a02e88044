"""Package versions: amendments recorded in the log, and the version in force at an instant.

An agreement changes (extensions, protocols). A ledger starts from the package it was created
for (its *first version*, kept in the ledger's metadata); every later version is an
**amendment**: signed ``statement`` records in the log, one per consenting party, each carrying

- ``subject``: ``agreement-package`` and no ``party`` (it concerns no party's obligation);
- ``values``: ``amendment_sha256`` (the new version's package SHA-256),
  ``amendment_previous`` (the SHA-256 of the version it replaces: a hash chain),
  ``amendment_effective`` (the RFC 3339 instant it is in force from) and, for every file of
  the new package, ``amendment_file:<relative path>``: the file's bytes in base64, so the
  log alone holds every version's exact bytes (at most :data:`MAX_AMENDMENT_BYTES` in all).

**Who may amend.** An agreement is amended by its parties' consent, not by one of them: a
version enters the chain when every party of the version in force with the role
``inspected_party`` or ``counterparty`` (every party, if none has either) has logged a record
naming the same new SHA-256, previous SHA-256 and effective instant. Admission has already
checked that each record is signed by a key of its ``submitter`` that may sign statements.

The chain is one pure function of the log (:func:`version_chain`), so anyone holding the
entries recomputes it. An amendment record is *ignored* (and listed with the reason) when its
files do not hash to its SHA-256, exceed the size limit or do not compile, when its previous
SHA-256 is not the version in force at that point of the log, when its effective instant is
before that version's, when its package names other parties, or when its submitter is not a
party whose consent is needed. Admission refuses all of these (the record's shape with its
schema, :mod:`cvid.evidence.reserved`; the rest against the log before it,
:class:`PackageRecordCheck`), so only a log written otherwise holds an ignored record;
``cvid ledger amend`` refuses them too (and a package whose scenarios fail) before writing
anything.

The version in force at T is the last one in the chain whose effective instant is at or
before T (the first version from the beginning of time).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import gc
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvid.agreements.evidence_index import Evidence, View
from cvid.agreements.instants import parse_instant, rfc3339, to_us
from cvid.agreements.package import Package, load_package, package_from_files
from cvid.agreements.timeline import Change, timeline
from cvid.errors import Error
from cvid.evidence import (
    AMENDMENT_SUBJECT,
    MAX_AMENDMENT_BYTES,
    Kind,
    Record,
    RecordError,
    Role,
    files_sha256,
    reserved,
)

if TYPE_CHECKING:
    from cvid.evidence import Ledger
    from cvid.sources import Source

__all__ = [
    "AMENDMENT_SUBJECT",
    "MAX_AMENDMENT_BYTES",
    "Amendment",
    "Chain",
    "PackageVersion",
    "amendment_values",
    "check_follows",
    "consenting_parties",
    "describe_parts",
    "ledger_chain",
    "opened_ledger",
    "parse_amendment",
    "status_under_versions",
    "timeline_under_versions",
    "version_chain",
    "versioned_timeline",
]

# The names amendment records use, and their limits, are admission's (the record's shape is
# checked there: :mod:`cvid.evidence.reserved`).
#: When an entry no clock-cosigned checkpoint covers yet is known: never.
NEVER_KNOWN = 2**62


def _manifest(files: Mapping[str, bytes]) -> str:
    """The lines ``<sha256 hex>  <path>`` sorted by path: the text whose SHA-256 is the
    package's (:func:`cvid.evidence.parties.files_sha256`)."""
    lines = [f"{hashlib.sha256(d).hexdigest()}  {n}\n" for n, d in files.items()]
    return "".join(sorted(lines, key=lambda line: line[66:]))


def amendment_values(
    files: Mapping[str, bytes],
    previous: str,
    effective: int,
    *,
    part_bytes: int = reserved.PART_BYTES,
) -> list[dict[str, str]]:
    """The ``values`` of the amendment records of one party for a package given as its
    files: the files in parts of at most ``part_bytes`` each (a record fits in the log's
    64 KiB). :class:`Error` for a file larger than a part."""
    head = {
        reserved.SHA256: files_sha256(files),
        reserved.PREVIOUS: previous,
        reserved.EFFECTIVE: rfc3339(effective),
        reserved.MANIFEST: _manifest(files),
    }
    parts: list[dict[str, str]] = []
    used = part_bytes
    for name in sorted(files):
        data = files[name]
        if len(data) > part_bytes:
            raise Error(f"{name}: {len(data):,} bytes, over the {part_bytes:,} a record carries")
        if used + len(data) > part_bytes:
            parts.append(dict(head))
            used = 0
        parts[-1][reserved.FILE_PREFIX + name] = base64.b64encode(data).decode("ascii")
        used += len(data)
    return parts or [dict(head)]


@dataclass(frozen=True)
class Amendment:
    """What one amendment record says (not yet judged against the chain)."""

    index: int
    party: str
    sha256: str
    previous: str
    effective: int
    files: Mapping[str, bytes]
    #: Every file of the package (the manifest's paths), carried here or in other parts.
    names: frozenset[str] = frozenset()


def is_amendment(record: Record) -> bool:
    """Whether ``record`` is an amendment record (well formed or not)."""
    return (
        record.kind is Kind.STATEMENT
        and record.subject == AMENDMENT_SUBJECT
        and record.party is None
        and reserved.SHA256 in record.values
    )


def _hex64(value: object) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


def parse_amendment(index: int, record: Record) -> Amendment:
    """The amendment ``record`` (at log ``index``) says; :class:`Error` naming what is wrong."""
    v = record.values
    sha, prev, eff = v.get(reserved.SHA256), v.get(reserved.PREVIOUS), v.get(reserved.EFFECTIVE)
    if not _hex64(sha) or not _hex64(prev):
        raise Error(
            f"entry {index}: {reserved.SHA256} and {reserved.PREVIOUS} must be 64 lowercase "
            "hex digits"
        )
    if not isinstance(eff, str):
        raise Error(f"entry {index}: {reserved.EFFECTIVE} must be an RFC 3339 instant")
    try:
        effective = parse_instant(eff)
    except ValueError as exc:
        raise Error(f"entry {index}: {reserved.EFFECTIVE} {eff!r}: {exc}") from None
    files: dict[str, bytes] = {}
    total = 0
    for name, text in v.items():
        if not name.startswith(reserved.FILE_PREFIX):
            continue
        if not isinstance(text, str):
            raise Error(f"entry {index}: {name} must be base64 text")
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise Error(f"entry {index}: {name} is not base64") from None
        total += len(data)
        if total > MAX_AMENDMENT_BYTES:
            raise Error(f"entry {index}: the package is over {MAX_AMENDMENT_BYTES:,} bytes")
        files[name[len(reserved.FILE_PREFIX) :]] = data
    manifest = v.get(reserved.MANIFEST)
    if not isinstance(manifest, str) or hashlib.sha256(manifest.encode()).hexdigest() != sha:
        raise Error(
            f"entry {index}: its {reserved.MANIFEST} does not hash to its {reserved.SHA256}"
        )
    listed = {line[66:]: line[:64] for line in manifest.splitlines()}
    for name, data in files.items():
        if listed.get(name) != hashlib.sha256(data).hexdigest():
            raise Error(
                f"entry {index}: its file {name} is not the one its {reserved.MANIFEST} lists"
            )
    assert isinstance(sha, str) and isinstance(prev, str)
    return Amendment(index, record.submitter, sha, prev, effective, files, frozenset(listed))


@dataclass(frozen=True)
class PackageVersion:
    """One version of the agreement's package: ``index`` is the log entry that completed its
    consent (None for the first version), ``effective`` the instant it is in force from (None:
    from the beginning), ``files`` its bytes (None for a first version known only by hash)."""

    sha256: str
    previous: str | None
    effective: int | None
    index: int | None
    package: Package
    files: Mapping[str, bytes] | None = None
    signed_by: tuple[int, ...] = ()
    #: As known then: when the last of its records became known (None: not restricted).
    known: int | None = None

    @property
    def start(self) -> int | None:
        """When it is in force from in this chain's view: ``effective``, or (as known then)
        not before its records were known."""
        if self.effective is None or self.known is None:
            return self.effective
        return max(self.effective, self.known)

    def to_json(self) -> dict[str, Any]:
        """``{sha256, previous, effective, index, signed_by}`` (docs/amendments.md)."""
        return {
            "sha256": self.sha256,
            "previous": self.previous,
            "effective": None if self.effective is None else rfc3339(self.effective),
            "index": self.index,
            "signed_by": list(self.signed_by),
        }


@dataclass(frozen=True)
class Chain:
    """The package versions in log order, and the amendment records ignored (with why)."""

    versions: tuple[PackageVersion, ...]
    ignored: tuple[tuple[int, str], ...] = ()
    pending: Mapping[tuple[str, str, int], tuple[int, ...]] = field(default_factory=dict)

    @property
    def head(self) -> PackageVersion:
        """The latest version."""
        return self.versions[-1]

    def position(self, at: int) -> int:
        """The position in :attr:`versions` of the version in force at ``at``."""
        pos = 0
        for i, v in enumerate(self.versions):
            if v.start is None or v.start <= at:
                pos = i
        return pos

    def known_then(self, known: Callable[[int], int]) -> Chain:
        """This chain as known then: a version is in force only from when every record that
        recorded it was known (``known(index)``: the instant entry ``index`` became known)."""
        versions = tuple(
            v if v.index is None else replace(v, known=max(known(i) for i in v.signed_by))
            for v in self.versions
        )
        return replace(self, versions=versions)

    def at(self, at: int) -> PackageVersion:
        """The version in force at ``at``."""
        return self.versions[self.position(at)]

    def upto_json(self, at: int) -> list[dict[str, Any]]:
        """Every version up to the one in force at ``at``, as JSON (what a verdict carries)."""
        return [v.to_json() for v in self.versions[: self.position(at) + 1]]

    def to_json(self) -> list[dict[str, Any]]:
        """Every version, as JSON."""
        return [v.to_json() for v in self.versions]


def consenting_parties(package: Package) -> frozenset[str]:
    """The parties whose consent an amendment of ``package`` needs."""
    bound = {Role.INSPECTED_PARTY, Role.COUNTERPARTY}
    needed = frozenset(p for p, roles in package.roles.items() if roles & bound)
    return needed or frozenset(package.roles)


@functools.lru_cache(maxsize=32)
def _compiled(files: tuple[tuple[str, bytes], ...], where: str) -> Package:
    return package_from_files(dict(files), where)


def version_chain(first: Package, records: Iterable[tuple[int, Record]]) -> Chain:
    """The chain of package versions ``records`` (log order) define over ``first``."""
    builder = ChainBuilder(first)
    for index, record in records:
        builder.feed(index, record)
    return builder.chain()


class ChainBuilder:
    """The chain of package versions, built one log entry at a time (:func:`version_chain`).

    :meth:`feed` takes an entry as the chain does (an amendment record that cannot be a
    version is ignored, with the reason); :meth:`take` takes a new record only if the chain
    would not ignore it, else says why: what admission refuses (:class:`PackageRecordCheck`).
    """

    def __init__(self, first: Package) -> None:
        assert first.sha256 is not None
        self.versions = [PackageVersion(first.sha256, None, None, None, first)]
        self.ignored: list[tuple[int, str]] = []
        self.pending: dict[tuple[str, str, int], _Pending] = {}
        #: The term and step ids of every version so far (what a notice's scope may name).
        self.ids = _ids(first)

    def chain(self) -> Chain:
        """The chain so far."""
        return Chain(
            tuple(self.versions),
            tuple(self.ignored),
            {k: tuple(v.indexes) for k, v in self.pending.items() if v.indexes},
        )

    def _step(self, index: int, record: Record) -> _Step:
        """What taking amendment ``record`` would do. Changes nothing."""
        try:
            a = parse_amendment(index, record)
        except Error as exc:
            return _Step(str(exc))
        head = self.versions[-1]
        key = (a.sha256, a.previous, a.effective)
        if head.index is not None and key == (head.sha256, head.previous, head.effective):
            # A further part or consent of the version just recorded (its parties' parts in
            # one batch, the last after the one that completed it): it adds nothing.
            needed = consenting_parties(self.versions[-2].package)
            if a.party not in needed:
                return _Step(
                    f"entry {index}: {a.party} is not a party whose consent amends it "
                    f"({', '.join(sorted(needed))})"
                )
            return _Step()
        old = self.pending.get(key, _Pending())
        problem = _problem(a, head) or old.conflict(a)
        if problem is not None:
            return _Step(f"entry {index}: {problem}")
        p = old.plus(a)
        if not consenting_parties(head.package) <= p.parties.keys():
            return _Step(key=key, pending=p)  # consents still to come
        if not a.names <= p.files.keys():
            return _Step(key=key, pending=p)  # parts still to come
        try:
            pkg = _compiled(tuple(sorted(p.files.items())), f"log entry {index}")
        except Error as exc:
            return _Step(f"entry {index}: its package does not compile: {exc}", key)
        if frozenset(pkg.roles) != frozenset(head.package.roles):
            return _Step(
                f"entry {index}: its package's parties ({', '.join(sorted(pkg.roles))}) are not "
                f"the agreement's ({', '.join(sorted(head.package.roles))})",
                key,
            )
        version = PackageVersion(
            a.sha256, a.previous, a.effective, index, pkg, dict(p.files), tuple(p.indexes)
        )
        return _Step(key=key, pending=p, version=version)

    def _apply(self, index: int, step: _Step) -> None:
        if step.ignored is not None:
            self.ignored.append((index, step.ignored))
            if step.key is not None:
                self.pending.pop(step.key, None)
        elif step.key is None or step.pending is None:
            pass  # a further part of the version in force: nothing changes
        elif step.version is None:
            self.pending[step.key] = step.pending
        else:
            self.versions.append(step.version)
            self.ids |= _ids(step.version.package)
            self.pending.clear()

    def feed(self, index: int, record: Record) -> str | None:
        """Take the entry at ``index`` into the chain; the reason when an amendment record is
        ignored (it then changes nothing, but a package that does not compile drops the
        pending amendment it completes)."""
        if not is_amendment(record):
            return None
        step = self._step(index, record)
        self._apply(index, step)
        return step.ignored

    def take(self, index: int, record: Record) -> str | None:
        """Take the entry at ``index`` unless the chain would ignore it: then the reason, and
        the chain is unchanged."""
        if not is_amendment(record):
            return None
        step = self._step(index, record)
        if step.ignored is None:
            self._apply(index, step)
        return step.ignored


@dataclass(frozen=True)
class _Step:
    """What one amendment record does to the chain: why it is ignored (None: taken), the
    pending amendment it belongs to and that amendment's state after it, and the version it
    completes."""

    ignored: str | None = None
    key: tuple[str, str, int] | None = None
    pending: _Pending | None = None
    version: PackageVersion | None = None


def _ids(package: Package) -> set[str]:
    """The ids of ``package``'s terms and steps."""
    return {t.id for t in package.terms} | {s.id for s in package.steps}


class PackageRecordCheck:
    """Admission's checks of amendment parts and notices of effect against the log so far.

    Over the amendment records logged before (``records``, log order), :meth:`check` refuses
    (check ``agreement``) an amendment part the chain would ignore (docs/amendments.md: it does
    not follow the version in force, its submitter's consent is not needed, its parts conflict
    or exceed the size limit, or the package it completes does not compile or names other
    parties) and a notice whose ``scope`` names an id that is no term or step of any version
    of the package so far. Their shapes were checked already (:mod:`cvid.evidence.reserved`).
    """

    def __init__(self, first: Package, records: Iterable[tuple[int, Record]] = ()) -> None:
        self.builder = ChainBuilder(first)
        for index, record in records:
            self.builder.feed(index, record)

    def check(self, index: int, record: Record, where: str) -> None:
        """Refuse (:class:`RecordError`) or take the record at log ``index``."""
        if is_amendment(record):
            problem = self.builder.take(index, record)
            if problem is not None:
                detail = problem.removeprefix(f"entry {index}: ")
                raise RecordError("agreement", where, f"amendment part: {detail}")
        elif reserved.is_notice_of_effect(record):
            scope = record.values.get("scope")
            if not isinstance(scope, str):
                return
            unknown = [x for x in reserved.scope_ids(scope) if x not in self.builder.ids]
            if unknown:
                raise RecordError(
                    "agreement",
                    where,
                    f"values.scope: {', '.join(unknown)[:200]}: no term or step of the "
                    "agreement's package has that id",
                )


@dataclass
class _Pending:
    """An amendment's records so far: the parties that consented, the files carried."""

    parties: dict[str, int] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    indexes: list[int] = field(default_factory=list)

    def conflict(self, a: Amendment) -> str | None:
        for name, data in a.files.items():
            if name in self.files and self.files[name] != data:
                return f"it carries other bytes for {name} than an earlier part"
        total = sum(len(d) for d in {**self.files, **a.files}.values())
        if total > MAX_AMENDMENT_BYTES:
            return f"the package is over {MAX_AMENDMENT_BYTES:,} bytes"
        return None

    def plus(self, a: Amendment) -> _Pending:
        """These records and ``a`` (a new state; this one is unchanged)."""
        return _Pending(
            {**self.parties, a.party: self.parties.get(a.party, a.index)},
            {**self.files, **a.files},
            [*self.indexes, a.index],
        )


def _problem(a: Amendment, head: PackageVersion) -> str | None:
    """Why amendment ``a`` cannot follow ``head`` (None: it can)."""
    if a.previous != head.sha256:
        return f"its previous SHA-256 {a.previous} is not the version in force ({head.sha256})"
    if a.sha256 == head.sha256:
        return "it names the version already in force"
    if head.effective is not None and a.effective < head.effective:
        return (
            f"it is effective from {rfc3339(a.effective)}, before the version it replaces "
            f"({rfc3339(head.effective)})"
        )
    needed = consenting_parties(head.package)
    if a.party not in needed:
        return f"{a.party} is not a party whose consent amends it ({', '.join(sorted(needed))})"
    return None


def check_follows(a: Amendment, head: PackageVersion) -> str | None:
    """:func:`_problem`, for ``cvid ledger amend``'s refusals."""
    return _problem(a, head)


def describe_parts(rows: Iterable[tuple[int, str, Mapping[str, Any]]]) -> dict[int, str]:
    """What each amendment record among ``rows`` is, in words, never its files' bytes.

    ``rows`` are ``(index, submitter, values)`` of records about :data:`AMENDMENT_SUBJECT`,
    in log order (a listing's, as JSON). Each gets one line: the version it records (its
    SHA-256, the one it replaces, from when), which of its submitter's parts of that version
    it is (``part i of n``, n counting the parts among ``rows``), and each file it carries by
    path, size and SHA-256::

        version 1a2b3c4d5e6f (replaces 9f8e7d6c5b4a, effective 2021-02-03T00:00:00Z), part 1
        of 2 from US: agreement.yaml (12,345 bytes, SHA-256 ab12cd34ef56); 1 of 4 files
    """
    rows = list(rows)
    parts: dict[tuple[str, str, str, str], list[int]] = {}
    heads: dict[int, tuple[str, str, str, str]] = {}
    for index, submitter, values in rows:
        sha, prev, eff = (
            str(values.get(name, "?"))
            for name in (reserved.SHA256, reserved.PREVIOUS, reserved.EFFECTIVE)
        )
        heads[index] = key = (sha, prev, eff, submitter)
        parts.setdefault(key, []).append(index)
    out: dict[int, str] = {}
    for index, _, values in rows:
        sha, prev, eff, submitter = heads[index]
        mine = parts[heads[index]]
        files = []
        for name in sorted(values):
            if not name.startswith(reserved.FILE_PREFIX):
                continue
            try:
                data = base64.b64decode(str(values[name]), validate=True)
            except (binascii.Error, ValueError):
                files.append(f"{name[len(reserved.FILE_PREFIX) :]} (not base64)")
                continue
            digest = hashlib.sha256(data).hexdigest()[:12]
            files.append(
                f"{name[len(reserved.FILE_PREFIX) :]} ({len(data):,} bytes, SHA-256 {digest})"
            )
        manifest = values.get(reserved.MANIFEST)
        listed = len(str(manifest).splitlines()) if isinstance(manifest, str) else 0
        carried = "; ".join(files) if files else "no file (consent only)"
        out[index] = (
            f"version {sha[:12]} (replaces {prev[:12]}, effective {eff}), part "
            f"{mine.index(index) + 1} of {len(mine)} from {submitter}: {carried}; "
            f"{len(files)} of {listed} files"
        )
    return out


def versioned_timeline(
    chain: Chain,
    records_for: Callable[[Package], Evidence | Sequence[tuple[int, Record]]],
    lo: int,
    hi: int,
    view: View | str,
) -> list[Change]:
    """The timeline from ``lo`` to ``hi``, each stretch under the version in force there.

    ``records_for(package)`` gives the records an evaluation of ``package`` needs. At each
    version change the window splits: a term or step whose status carries on unchanged is not
    repeated; one the new version does not have turns ``not_in_force``; one only a later
    version has is ``not_in_force`` from ``lo`` until that version is in force.
    """
    cuts = [lo]
    cuts += [v.start for v in chain.versions if v.start is not None and lo < v.start <= hi]
    cuts = sorted(set(cuts))
    seen: dict[tuple[str, str, str | None], str] = {}
    out: list[Change] = []
    stretches: list[list[Change]] = []
    for i, a in enumerate(cuts):
        b = cuts[i + 1] - 1 if i + 1 < len(cuts) else hi
        pkg = chain.at(a).package
        stretches.append(timeline(pkg, records_for(pkg), a, b, view))
    every = {(c.subject, c.id, c.party) for s in stretches for c in s}
    for i, changes in enumerate(stretches):
        a = cuts[i]
        here = {(c.subject, c.id, c.party) for c in changes}
        sha = chain.at(a).sha256
        for key in sorted(every - here, key=str):
            before = seen.get(key)
            if before == "not_in_force":
                continue
            why = f"not in the package version in force from {rfc3339(a)} ({sha[:12]})"
            out.append(Change(a, key[0], key[1], key[2], before, "not_in_force", (), why))
            seen[key] = "not_in_force"
        for c in changes:
            key = (c.subject, c.id, c.party)
            if c.at == a and c.before is None and i > 0:
                if seen.get(key) == c.after:
                    continue
                c = replace(c, before=seen.get(key))
            out.append(c)
            seen[key] = c.after
    out.sort(key=lambda c: c.at)
    return out


def ledger_chain(
    ledger: Ledger, first: Package | None = None, view: View | str = View.NOW
) -> Chain:
    """The chain of an open ledger over the entries its latest checkpoint covers.

    ``first`` is the first version (default: the ledger's own package copy). The amendment
    records are read through the ledger's index (kind ``statement``, subject
    :data:`AMENDMENT_SUBJECT`); ``cvid verdict verify`` instead recomputes the chain from every
    entry, re-checked.
    """
    latest = ledger.latest_checkpoint()
    size = latest.checkpoint.size if latest is not None else 0
    if first is None:
        first = package_from_files(ledger.package_files, f"{ledger.where} (the ledger's package)")
    found = ledger.statements_about(AMENDMENT_SUBJECT, size)
    chain = version_chain(first, ((r.index, r.record) for r in found))
    if View(view) is not View.THEN:
        return chain
    # Known then: reported (and, under the clock 'log', logged) by then, as for every record.
    by_log = ledger.meta.get("clock") == "log"
    known: dict[int, int] = {}
    for r in found:
        t = max(to_us(r.record.observed_at), to_us(r.record.reported_at))
        if by_log:
            t = max(t, to_us(r.logged_at)) if r.logged_at is not None else NEVER_KNOWN
        known[r.index] = t
    return chain.known_then(known.__getitem__)


@contextlib.contextmanager
def opened_ledger(location: str, package: Path | None) -> Iterator[tuple[Ledger, Package | None]]:
    """The ledger at ``location``, open read-only, and ``package`` loaded (the first version
    an evaluation starts from; None: the ledger's own copy)."""
    from cvid.evidence import Ledger  # the I/O side

    pkg = load_package(package) if package is not None else None
    enabled = gc.isenabled()
    # The records read live until the evaluation ends: keep the collector from re-scanning
    # them while it runs (they hold no cycles).
    gc.disable()
    try:
        with Ledger.open(location, readonly=True) as ledger:
            yield ledger, pkg
    finally:
        if enabled:
            gc.enable()


def status_under_versions(
    ledger: Ledger, package: Package | None, as_of: int, view: View
) -> tuple[Source, dict[str, Any]]:
    """The source read and the status document (docs/status.md) at ``as_of`` under the
    version in force then; with ``package_versions`` when the ledger has amendments."""
    from cvid.documents import status_document
    from cvid.sources import source_of

    chain = ledger_chain(ledger, package, view)
    pkg = chain.at(as_of).package
    source = source_of(ledger, package=pkg)
    doc = status_document(source, pkg, as_of, view)
    if len(chain.versions) > 1:
        doc["package_versions"] = chain.upto_json(as_of)
    return source, doc


def timeline_under_versions(
    ledger: Ledger,
    package: Package | None,
    start: str | None,
    end: str | None,
    view: View,
    *,
    where: str,
    names: tuple[str, str] = ("--from", "--to"),
) -> tuple[Source, dict[str, Any]]:
    """The source read and the timeline document, each stretch under its version
    (:func:`versioned_timeline`); a ledger without amendments gives exactly
    :func:`cvid.documents.timeline_document`'s."""
    from cvid.documents import source_checkpoint, timeline_document, timeline_window
    from cvid.sources import source_of

    chain = ledger_chain(ledger, package, view)
    first = chain.versions[0].package
    source = source_of(ledger, package=first)
    if len(chain.versions) == 1:
        return source, timeline_document(source, first, start, end, view, where=where, names=names)
    sources: dict[str | None, Source] = {first.sha256: source}

    def records_for(pkg: Package) -> list[tuple[int, Record]]:
        if pkg.sha256 not in sources:
            sources[pkg.sha256] = source_of(ledger, package=pkg)
        return sources[pkg.sha256].records

    every = (r for v in chain.versions for _, r in records_for(v.package))
    lo, hi = timeline_window(every, start, end, view, where=where, names=names)
    changes = versioned_timeline(chain, records_for, lo, hi, view)
    last = chain.at(hi).package
    return source, {
        "format": "cvid-timeline/1",
        "agreement": last.id,
        "package_sha256": last.sha256,
        "checkpoint": source_checkpoint(source),
        "view": view.value,
        "from": rfc3339(lo),
        "to": rfc3339(hi),
        "changes": [c.to_json() for c in changes],
        "package_versions": chain.upto_json(hi),
    }
