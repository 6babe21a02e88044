"""What one service process holds open: the ledger (twice) and its writer.

The ledger is opened twice: once read-write for the :class:`~cvid.web.writer.Writer` thread,
and once read-only for every read. Reads then never wait on a commit's locks in this process
(SQLite's WAL, like PostgreSQL's MVCC, gives each read its own snapshot), and a read cannot
write even by mistake: its store connection refuses.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from cvid.agreements import Package, package_from_files
from cvid.evidence import Ledger, is_url
from cvid.tlog import Checkpoint, SignedCheckpoint, open_checkpoint
from cvid.web.publisher import Publisher
from cvid.web.tilecache import TILE_CACHE_BYTES, TileCache
from cvid.web.writer import Writer


def public_name(location: str | Path) -> str:
    """How the service names its ledger to people: a URL without its password, or a path."""
    text = str(location)
    if not is_url(text):
        return text
    parts = urlsplit(text)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}@{host}" if user else host
    query = "&".join(
        p for p in parts.query.split("&") if p and p.partition("=")[0].lower() != "password"
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


#: How many documents :meth:`Service.answer` keeps.
ANSWERS = 64


class Service:
    """The ledger at ``location`` opened for serving; :meth:`close` when done.

    ``max_pending``, ``max_group`` and ``max_records`` bound the writer (see
    :class:`~cvid.web.writer.Writer`). When the agreement package names witnesses, a
    :class:`~cvid.web.publisher.Publisher` has them cosign each new checkpoint after its
    commit, waiting at most ``witness_timeout`` seconds for them.
    """

    def __init__(
        self,
        location: str | Path,
        *,
        max_pending: int = 1024,
        max_group: int = 256,
        max_records: int = 20_000,
        witness_timeout: float = 2.0,
    ) -> None:
        self.location = location
        self.reader = Ledger.open(location, readonly=True)
        try:
            self.ledger = Ledger.open(location)
        except BaseException:
            self.reader.close()
            raise
        #: Has the package's witnesses cosign each new checkpoint (None: it names none).
        self.publisher: Publisher | None = None
        try:
            if self.ledger.witness_policy() is not None:
                self.publisher = Publisher(location, witness_timeout)
        except BaseException:
            self.ledger.close()
            self.reader.close()
            raise
        self.writer = Writer(
            self.ledger,
            max_pending=max_pending,
            max_group=max_group,
            max_records=max_records,
            on_commit=self.publisher.poke if self.publisher is not None else None,
        )
        if self.publisher is not None:
            self.publisher.poke()  # a checkpoint signed before this service started
        # The registry of the read-only ledger is brought up to date under this lock, then
        # read (GET /v1/keys): two requests must not interleave the two.
        self.keys_lock = threading.Lock()
        self._closed = False
        self._latest: tuple[bytes, SignedCheckpoint] | None = None
        self._latest_lock = threading.Lock()
        #: Full tiles and bundles served lately (immutable, so never stale).
        self.tiles = TileCache(TILE_CACHE_BYTES)
        self._answers: OrderedDict[tuple[Hashable, ...], bytes] = OrderedDict()
        self._answers_lock = threading.Lock()
        # Server-side names that must not reach a client (a password in a URL, the machine's
        # paths): longest first, so that a path inside another is replaced as a whole. A bare
        # relative name ("ledger") says nothing and is too likely a word of a message.
        secret = {str(location), self.ledger.where, self.reader.where}
        secret |= {str(getattr(lg.driver, "where", "")) for lg in (self.ledger, self.reader)}
        self._hidden = sorted((s for s in secret if "/" in s or "\\" in s), key=len, reverse=True)

    @functools.cached_property
    def package(self) -> Package:
        """The ledger's own agreement package, compiled once (it never changes)."""
        return package_from_files(self.reader.package_files, "the ledger's package")

    def latest(self, ledger: Ledger | None = None) -> SignedCheckpoint | None:
        """The latest signed checkpoint of the store (read through ``ledger``, default the
        read-only one), or None while there is none.

        Read on every call (another process may have signed a newer one), but its signature is
        checked once per distinct note rather than on every request.
        """
        ledger = ledger or self.reader
        got = ledger.driver.latest_checkpoint()
        if got is None:
            return None
        note = got[1]
        with self._latest_lock:
            if self._latest is not None and self._latest[0] == note:
                return self._latest[1]
        signed = open_checkpoint(note, ledger.log.verifier)
        with self._latest_lock:
            self._latest = (note, signed)
        return signed

    def answer(
        self,
        key: tuple[Hashable, ...],
        compute: Callable[[], tuple[Checkpoint | None, bytes]],
    ) -> bytes:
        """The answer to the question ``key`` about the ledger at its latest checkpoint.

        ``compute`` returns the answer and the checkpoint it rests on. A document of the
        engine (status, timeline, verdict, report) is a pure function of the package, the log
        prefix a checkpoint covers and the question, so the answer is kept (the last
        :data:`ANSWERS` of them) and given again while that checkpoint is still the latest.
        An answer computed while a newer checkpoint was signed is not kept.
        """
        latest = self.latest()
        full = (latest.encode() if latest is not None else b"", *key)
        with self._answers_lock:
            hit = self._answers.get(full)
            if hit is not None:
                self._answers.move_to_end(full)
                return hit
        cp, body = compute()
        if cp == (latest.checkpoint if latest is not None else None):
            with self._answers_lock:
                self._answers[full] = body
                while len(self._answers) > ANSWERS:
                    self._answers.popitem(last=False)
        return body

    def redact(self, text: str) -> str:
        """``text`` with the ledger's location and store paths replaced by "the ledger"."""
        for s in self._hidden:
            text = text.replace(s, "the ledger")
        return text

    def close(self) -> None:
        """Commit every queued batch, stop the writer, and close both ledgers (once)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.writer.close()
        finally:
            try:
                if self.publisher is not None:
                    self.publisher.close()
            finally:
                self.ledger.close()
                self.reader.close()
