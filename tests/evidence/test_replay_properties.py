"""Replaying admission over a ledger's log gives exactly what the ledger admitted at submission.

Hypothesis generates sequences of batches mixing good records, refusals of every kind (bad
signatures, unknown or revoked keys, replays, times just past the allowed skew, references to
nothing), key registrations and revocations, corrections and disputes, under a clock that is
not on a whole second. The replay of the resulting log from the package alone admits exactly
the indices the submissions were given, finds nothing, and ends with the same key registry.
"""

from __future__ import annotations

import contextlib
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from evidence_kit import NOW, World, fixed_key, write_package
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvid.evidence import Ledger, RecordError, format_utc, load_parties
from cvid.evidence.replay import replay

KEYS = {n: fixed_key(n) for n in ("us-admin", "us-decl", "ru-decl", "us-new", "stranger")}
#: The ledger's clock: not on a whole second, so the logged time (whole seconds) is earlier.
CLOCK = NOW + timedelta(milliseconds=700)

ACTIONS = [
    "us",
    "ru",
    "new-key",
    "register-new",
    "revoke-decl",
    "revoke-new",
    "stranger",
    "bad-signature",
    "replay",
    "future",
    "skew-edge",
    "supersede",
    "dispute",
    "dangling",
]


#: Mostly records that pass (a batch with one refusal is refused whole), some that do not.
ACTION = st.one_of(
    st.sampled_from(["us", "ru", "register-new", "new-key"]), st.sampled_from(ACTIONS)
)


def build(world: World, action: str, n: int, seen: list[dict[str, Any]]) -> dict[str, Any]:
    """The record for ``action`` (``n`` makes it unique; ``seen`` are earlier submissions)."""
    summary = f"record {n}"
    if action == "us":
        return world.signed(summary=summary)
    if action == "ru":
        return world.signed("ru-decl", submitter="RU", party="RU", summary=summary)
    if action == "new-key":
        return world.signed("us-new", summary=summary)
    if action in ("register-new", "revoke-decl", "revoke-new"):
        if action == "register-new":
            grant = {"vkey": KEYS["us-new"].verifier.vkey, "party": "US", "kinds": ["declaration"]}
            fields: dict[str, Any] = {"kind": "key_registration", "key": grant}
        else:
            which = "us-decl" if action == "revoke-decl" else "us-new"
            fields = {"kind": "key_revocation", "revokes": KEYS[which].verifier.vkey}
        return world.signed("us-admin", values={}, subject="keys", summary=summary, **fields)
    if action == "stranger":
        return world.signed("stranger", summary=summary)
    if action == "bad-signature":
        obj = world.signed(summary=summary)
        return {**obj, "summary": summary + " (changed after signing)"}
    if action == "replay" and seen:
        return seen[n % len(seen)]
    if action == "future":
        return world.signed(summary=summary, reported_at=format_utc(NOW + timedelta(minutes=6)))
    if action == "skew-edge":
        # Within 5 minutes of the clock, but not of the whole second the commit is logged at.
        late = NOW + timedelta(minutes=5, milliseconds=300)
        return world.signed(summary=summary, reported_at=format_utc(late))
    if action in ("supersede", "dispute", "dangling"):
        ref = n % 7 if action != "dangling" else 10_000
        if action == "dispute":
            return world.signed(
                "ru-decl", submitter="RU", party="RU", summary=summary, disputes=ref
            )
        return world.signed(summary=summary, supersedes=ref)
    return world.signed(summary=summary)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(st.lists(ACTION, min_size=1, max_size=3), max_size=12))
def test_replay_admits_exactly_what_submission_admitted(batches: list[list[str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        world = World(write_package(Path(tmp) / "package", KEYS, {}), KEYS)
        admitted: list[int] = []
        seen: list[dict[str, Any]] = []
        with Ledger.create(Path(tmp) / "ledger", world.package, clock=lambda: CLOCK) as ledger:
            n = 0
            for actions in batches:
                batch = []
                for action in actions:
                    batch.append(build(world, action, n, seen))
                    n += 1
                seen.extend(batch)
                with contextlib.suppress(RecordError):  # refused: nothing of it is logged
                    admitted.extend(ledger.submit(batch))
            entries = ledger.log.read_entries(0, ledger.size)
            times = ledger.logged_times()
            registry = ledger.registry
        out = replay(load_parties(world.package), entries, times)
        assert out.findings == []
        assert [i for i, _ in out.records] == admitted == list(range(len(entries)))
        assert out.registry == registry
        with Ledger.open(Path(tmp) / "ledger", readonly=True) as again:
            assert again.registry == registry  # opening replays the key records alike
