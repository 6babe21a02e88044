"""The admission checks that depend on the log prefix: agreement, keys, replays, times, links.

:class:`BatchCheck` checks the records of one batch in order against the ledger's state plus the
batch's own earlier records, so a key registered earlier in a batch can sign later records in
it, and a record can correct one earlier in the same batch. It changes nothing in the ledger:
the ledger takes its result only when every record passed and the log append succeeded.

The same checks replay admission over a whole log (:mod:`cvid.evidence.replay`): there the
"batch" is the log itself, from index 0, and each entry is checked against its logged time.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from cvid.evidence.admission import Prepared
from cvid.evidence.parties import AgreementParties
from cvid.evidence.record import Kind, Quantity, Record, format_utc
from cvid.evidence.registry import KEY_KINDS, KeyRegistry
from cvid.evidence.signing import RecordError

#: How far in the future ``reported_at`` may be, for clocks that disagree.
CLOCK_SKEW = timedelta(minutes=5)


_KIND_TEXT = {k: k.value for k in Kind}  # plain str; Enum.value is a slow descriptor


class Link(NamedTuple):
    """What the reference checks need to know about a logged record.

    Plain strings only, so that the garbage collector stops tracking the ledger's many links.
    """

    kind: str
    submitter: str
    agreement: str

    @classmethod
    def of(cls, record: Record) -> Link:
        """The link facts of ``record``."""
        # Interned: a replay keeps a link per record, and most share a handful of texts.
        return cls(
            _KIND_TEXT[record.kind], sys.intern(record.submitter), sys.intern(record.agreement)
        )


@dataclass
class BatchCheck:
    """Stateful checks for one batch whose first record would get log index ``first``.

    ``link`` gives the facts of a record logged before the batch, or None when the index holds
    no admissible record (then a reference to it is refused). ``now`` is the time ``reported_at``
    is checked against (the commit's clock time; in a replay each entry's logged time, given
    to :meth:`check`); None skips that comparison (a log whose logged times are unknown).
    """

    parties: AgreementParties
    registry: KeyRegistry
    first: int
    logged_digests: Set[bytes]
    link: Callable[[int], Link | None]
    superseded_by: Mapping[int, int]
    now: datetime | None
    digests: set[bytes] = field(default_factory=set)
    party_ids: frozenset[str] = field(init=False)
    new_links: dict[int, Link] = field(default_factory=dict)
    new_superseded: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.party_ids = frozenset(p.id for p in self.parties.parties)

    def _link(self, index: int) -> Link | None:
        got = self.new_links.get(index)
        return got if got is not None else self.link(index)

    def check(self, position: int, p: Prepared, now: datetime | None = None) -> None:
        """Check the batch's record at ``position`` (0-based) and take it into the batch state.

        ``now``, when given, replaces the batch's ``now`` for this record (a replay's logged
        time). Raises :class:`RecordError` with check ``agreement``, ``party``, ``key-*``,
        ``replay``, ``time``, ``supersedes`` or ``disputes``; a refused record changes nothing.
        """
        index = self.first + position
        r, where = p.record, p.where
        if r.agreement != self.parties.id:
            raise RecordError(
                "agreement",
                where,
                f"record is for agreement {r.agreement!r}; this ledger is {self.parties.id!r}",
            )
        if r.party is not None and r.party not in self.party_ids:
            known = ", ".join(x.id for x in self.parties.parties)
            detail = f"party {r.party!r} is not in the agreement ({known})"
            raise RecordError("party", where, detail)
        self.registry.authorize(r, where, index)
        digest = p.digest
        if digest in self.logged_digests or digest in self.digests:
            earlier = "the ledger" if digest in self.logged_digests else "this batch"
            raise RecordError(
                "replay",
                where,
                f"the same record (SHA-256 {digest.hex()[:16]}…) is already in "
                f"{earlier}; a record is admitted once",
            )
        self._check_times(r, where, self.now if now is None else now)
        if r.supersedes is not None:
            self._check_supersedes(r, index, where)
        if r.disputes is not None:
            self._check_disputes(r, index, where)
        self.digests.add(digest)
        self.new_links[index] = Link.of(r)
        if r.supersedes is not None:
            self.new_superseded[r.supersedes] = index
        self.registry.apply(index, r)

    def _check_times(self, r: Record, where: str, now: datetime | None) -> None:
        if now is not None and r.reported_at > now + CLOCK_SKEW:
            raise RecordError(
                "time",
                where,
                f"reported_at {format_utc(r.reported_at)} is in the future (now "
                f"{format_utc(now)}; {CLOCK_SKEW.seconds // 60} minutes of clock skew "
                "allowed)",
            )
        if r.observed_at > r.reported_at:
            raise RecordError(
                "time",
                where,
                f"observed_at {format_utc(r.observed_at)} is after reported_at "
                f"{format_utc(r.reported_at)}",
            )
        for name, v in r.values.items():
            # A figure dated apart from its record (Quantity.as_of) cannot be as of a time
            # after the record was made known, any more than observed_at can.
            if type(v) is Quantity and v.as_of is not None and v.as_of > r.reported_at:
                raise RecordError(
                    "time",
                    where,
                    f"values.{name}.as_of {format_utc(v.as_of)} is after reported_at "
                    f"{format_utc(r.reported_at)}: a figure cannot be as of a time after "
                    "the record reporting it",
                )

    def _target(self, check: str, ref: int, index: int, where: str) -> Link:
        if ref >= index:
            raise RecordError(
                check, where, f"{check} {ref}: no earlier record has that index (this is {index})"
            )
        target = self._link(ref)
        if target is None:
            raise RecordError(
                check, where, f"{check} {ref}: entry {ref} is not admissible evidence"
            )
        if target.kind in KEY_KINDS:
            raise RecordError(
                check, where, f"{check} {ref}: record {ref} is a key record; revoke the key instead"
            )
        return target

    def _check_supersedes(self, r: Record, index: int, where: str) -> None:
        ref = r.supersedes
        assert ref is not None
        if r.kind in KEY_KINDS:
            raise RecordError("supersedes", where, "a key record cannot supersede a record")
        target = self._target("supersedes", ref, index, where)
        if target.agreement != r.agreement:
            raise RecordError("supersedes", where, f"record {ref} is for another agreement")
        if target.submitter != r.submitter:
            raise RecordError(
                "supersedes",
                where,
                f"record {ref} was submitted by {target.submitter}; only its submitter may "
                f"correct it ({r.submitter} may dispute it instead)",
            )
        if target.kind != r.kind:
            raise RecordError(
                "supersedes",
                where,
                f"record {ref} is a {target.kind}; a correction must be one too",
            )
        later = self.new_superseded.get(ref, self.superseded_by.get(ref))
        if later is not None:
            raise RecordError(
                "supersedes",
                where,
                f"record {ref} is already superseded by record {later}; supersede {later} instead",
            )

    def _check_disputes(self, r: Record, index: int, where: str) -> None:
        ref = r.disputes
        assert ref is not None
        if r.kind in KEY_KINDS:
            raise RecordError("disputes", where, "a key record cannot dispute a record")
        target = self._target("disputes", ref, index, where)
        if target.submitter == r.submitter:
            raise RecordError(
                "disputes",
                where,
                f"record {ref} is {r.submitter}'s own; correct it with supersedes instead",
            )
