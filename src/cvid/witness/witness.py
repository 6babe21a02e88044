"""A ``tlog-witness``: verify a log's new checkpoint against the last one cosigned, cosign it.

:meth:`Witness.add_checkpoint` takes the body of a ``POST add-checkpoint`` and returns the
answer the spec requires, in its order of checks:

==== ========================================================================================
400  the body, its note or its checkpoint is malformed; or the old size exceeds the new size
404  the checkpoint's origin is not a log this witness witnesses
403  no signature from the log's key, or one that matches the key's name and ID fails
409  the old size is not the size last cosigned (body: that size, ``text/x.tlog.size``)
422  a size-0 checkpoint without the empty root; a proof from size 0; a consistency proof that
     does not verify from the root last cosigned; the same size with another root
200  the cosignature line (``cosignature/v1``, timestamped, never time 0)
==== ========================================================================================

The check against the last cosigned state and the update to the new one are one transaction
(:meth:`cvid.witness.state.WitnessState.update`), committed before the answer: never two
inconsistent checkpoints of one origin, never a smaller tree after a larger, across restarts.
A 422 on a checkpoint the log did sign is kept as evidence (``refused``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cvid.errors import Error, FormatError, InputError
from cvid.keyfiles import read_signer, write_signer
from cvid.tlog import (
    EMPTY_ROOT,
    Checkpoint,
    CosignerKey,
    Note,
    Signer,
    Verifier,
    cosign,
    open_note,
    parse,
    verify_consistency,
)
from cvid.witness.protocol import (
    SIZE_CONTENT_TYPE,
    AddCheckpoint,
    format_cosignatures,
    format_size,
    origin_hash,
)
from cvid.witness.state import Refusal, WitnessState

__all__ = ["DB_NAME", "KEY_NAME", "Answer", "Witness"]

KEY_NAME = "witness.key"
DB_NAME = "witness.db"
TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, content type and body."""

    status: int
    body: bytes
    content_type: str = TEXT


def _plain(status: int, why: str) -> Answer:
    return Answer(status, (why + "\n").encode())


class Witness:
    """A witness signing with ``signer`` over ``state``; ``clock`` gives POSIX seconds."""

    def __init__(
        self, state: WitnessState, signer: Signer, clock: Callable[[], float] = time.time
    ) -> None:
        self.state = state
        self.signer = signer
        self.key = CosignerKey.of(signer)
        self._clock = clock

    # -- the directory -------------------------------------------------------------------

    @classmethod
    def create(cls, directory: Path, name: str) -> Witness:
        """Make a witness in ``directory`` (new or empty): its key (mode 0600) and state."""
        directory.mkdir(parents=True, exist_ok=True)
        if (directory / KEY_NAME).exists() or (directory / DB_NAME).exists():
            raise InputError(f"{directory}: a witness already exists there")
        signer = Signer.generate(name)
        write_signer(signer, directory / KEY_NAME)
        key = CosignerKey.of(signer)
        meta = {"name": name, "vkey": key.vkey}
        state = WitnessState(directory / DB_NAME, create=True, meta=meta)
        return cls(state, signer)

    @classmethod
    def open(cls, directory: Path, clock: Callable[[], float] = time.time) -> Witness:
        """Open the witness in ``directory``; :class:`InputError` if its key does not match."""
        state = WitnessState(directory / DB_NAME)
        try:
            signer = read_signer(directory / KEY_NAME)
            if CosignerKey.of(signer).vkey != state.meta().get("vkey"):
                raise InputError(f"{directory / KEY_NAME}: not the key of this witness's state")
        except BaseException:
            state.close()
            raise
        return cls(state, signer, clock)

    def close(self) -> None:
        """Close the state."""
        self.state.close()

    # -- add-checkpoint ------------------------------------------------------------------

    def add_checkpoint(self, body: bytes) -> Answer:
        """Answer one ``add-checkpoint`` request (see the module's table)."""
        try:
            req = AddCheckpoint.parse(body)
            note = parse(req.checkpoint)
            cp = Checkpoint.parse(note.text)
        except FormatError as exc:
            return _plain(400, exc.diagnostics())
        vkey = self.state.logs().get(cp.origin)
        if vkey is None:
            return _plain(404, f"unknown log origin {cp.origin!r}")
        log_key = Verifier.from_vkey(vkey)
        if log_key.name != cp.origin:
            return _plain(404, f"unknown log origin {cp.origin!r}")
        try:
            verified = open_note(req.checkpoint, [log_key])
        except Error as exc:
            return _plain(403, exc.diagnostics())
        if req.old_size > cp.size:
            return _plain(400, f"old size {req.old_size} exceeds the checkpoint size {cp.size}")
        # Only the log's own signatures are kept beside the cosignature (the monitoring
        # endpoint serves what this witness verified, nothing it did not).
        log_kid = log_key.key_id
        log_sigs = tuple(
            s for s in verified.signatures if s.name == log_key.name and s.key_id == log_kid
        )
        with self.state.update() as tx:
            last = tx.latest(cp.origin)
            have = 0 if last is None else last.size
            if req.old_size != have:
                return Answer(409, format_size(have), SIZE_CONTENT_TYPE)
            problem = self._inconsistency(req, cp, last.root if last is not None else None)
            if problem is not None:
                now = int(self._clock())
                tx.refused(
                    Refusal(cp.origin, now, req.old_size, cp.size, cp.root, req.checkpoint, problem)
                )
                return _plain(422, problem)
            # Never 0 (the spec), and never before the last cosignature of this log: a clock
            # stepped back must not make a larger tree look known earlier than a smaller one.
            stamp = max(1, int(self._clock()), last.time if last is not None else 0)
            sig = cosign(note.text, self.signer, stamp)
            served = Note(note.text, (*log_sigs, sig)).encode()
            tx.cosigned(cp.origin, cp.size, cp.root, served, stamp)
        return Answer(200, format_cosignatures([sig]))

    @staticmethod
    def _inconsistency(req: AddCheckpoint, cp: Checkpoint, old_root: bytes | None) -> str | None:
        """Why ``cp`` does not extend the last cosigned (``old_root`` at ``req.old_size``)."""
        if cp.size == 0 and cp.root != EMPTY_ROOT:
            return "a checkpoint of size 0 must have the root of the empty tree"
        if req.old_size == 0:
            if req.proof:
                return "a consistency proof from size 0 must be empty"
            return None
        assert old_root is not None
        if req.old_size == cp.size and cp.root != old_root:
            return (
                f"the log signed another root at size {cp.size} than the one this witness "
                "cosigned: a fork"
            )
        try:
            verify_consistency(req.old_size, cp.size, old_root, cp.root, req.proof)
        except Error as exc:
            return (
                f"not consistent with the checkpoint of size {req.old_size} this witness "
                f"cosigned: {exc.diagnostics()}"
            )
        return None

    def checkpoint_of(self, origin_digest: str) -> bytes | None:
        """The latest cosigned note of the log whose origin hashes to ``origin_digest``."""
        for latest in self.state.all_latest():
            if origin_hash(latest.origin) == origin_digest:
                return latest.note
        return None
