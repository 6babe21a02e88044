"""The key registry: which key may sign what, as a function of the log prefix.

It starts from the agreement package's initial keys and changes only by records in the log:

- ``key_registration`` (``key``: a :class:`KeyGrant`) adds a key for the submitter's own party;
- ``key_revocation`` (``revokes``: a vkey) revokes a key of the submitter's own party.

Both must be signed by an unrevoked key of the same party with ``may_manage_keys``; that flag,
not ``kinds``, is what allows a key to sign key records. A key can revoke itself. A revoked key
stays revoked (it cannot be registered again); the records it signed before its revocation stay
valid, later ones are refused. Replaying the log from index 0 rebuilds the same registry.

A key's identity is its Ed25519 public key, not its vkey text: the same key under another name,
with its key ID spelled in upper case, or with surrounding blanks is the same key. So a revoked
key can never sign or be registered again under any spelling, and ``revokes`` names a key by
any of its spellings.

**Initial key registrations.** A package need not carry keys: a ledger can start from the
package as published (its SHA-256 unchanged) and get each party's first key from the log. At
the head of the log — while every earlier entry is an admitted ``key_registration``, the
*genesis* — a ``key_registration`` signed by the very key it registers is admitted for a party
of the agreement that has no key yet (neither from the package nor from the log), if the key
may manage keys (it is the party's root: further keys are registered under it as usual). One
such key per party; after the genesis, a party without a key cannot get one from the log.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from cvid.errors import FormatError
from cvid.evidence.parties import AgreementParties
from cvid.evidence.record import KeyGrant, Kind, Record
from cvid.evidence.signing import RecordError
from cvid.tlog import Verifier


@lru_cache(maxsize=4096)  # every record's signer is looked up; a ledger has few keys
def key_identity(vkey: str) -> bytes | None:
    """The 32-byte Ed25519 public key that vkey text names (its identity), or None if the
    text is not a valid Ed25519 verifier key."""
    try:
        return Verifier.from_vkey(vkey).public_key
    except FormatError:
        return None


KEY_KINDS = frozenset({Kind.KEY_REGISTRATION, Kind.KEY_REVOCATION})


@dataclass(frozen=True)
class KeyState:
    """A key's grant, where it came from (a log index, None for the package), and revocation."""

    grant: KeyGrant
    registered_at: int | None
    revoked_at: int | None = None

    @property
    def name(self) -> str:
        """The key's name (the first part of its vkey)."""
        return self.grant.vkey.split("+", 1)[0]

    def origin(self) -> str:
        """Where the key was registered, for messages."""
        if self.registered_at is None:
            return "the agreement package"
        return f"record {self.registered_at}"


class KeyRegistry:
    """Keys by public key (see the module's docstring), as of some log prefix; mutate only
    through :meth:`apply`."""

    def __init__(self, parties: AgreementParties) -> None:
        self.parties = parties
        self._keys: dict[bytes, KeyState] = {}
        # The genesis: how many entries at the head of the log are admitted key registrations.
        self.genesis = 0
        for g in parties.keys:
            identity = key_identity(g.vkey)
            if identity is not None:  # the package loader has refused malformed vkeys
                self._keys.setdefault(identity, KeyState(g, None))

    def copy(self) -> KeyRegistry:
        """An independent copy (to check a batch without touching this one)."""
        other = KeyRegistry.__new__(KeyRegistry)
        other.parties = self.parties
        other._keys = dict(self._keys)
        other.genesis = self.genesis
        return other

    def get(self, vkey: str) -> KeyState | None:
        """The state of the key this vkey text names (under any spelling), or None if it was
        never registered or the text is not a vkey."""
        identity = key_identity(vkey)
        return None if identity is None else self._keys.get(identity)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KeyRegistry):
            return NotImplemented
        return (
            self.parties == other.parties
            and self._keys == other._keys
            and self.genesis == other.genesis
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def states(self) -> list[KeyState]:
        """Every key ever known, in registration order (package keys first)."""
        return list(self._keys.values())

    def authorize(self, record: Record, where: str, index: int | None = None) -> KeyState:
        """Check that ``record``'s signer may sign it now; return the signer's state.

        ``index`` is the log index the record would get; with it, a party's initial key
        registration (see the module's docstring) is admitted at the head of the log.
        Raises :class:`RecordError` with check ``key-unknown``, ``key-revoked``, ``key-party``,
        ``key-kind``, ``key-registration`` or ``key-revocation``.
        """
        state = self.get(record.signer)
        name = record.signer.split("+", 1)[0]
        if state is None and self._is_initial(record):
            return self._authorize_initial(record, where, index)
        if state is None:
            raise RecordError(
                "key-unknown",
                where,
                f"signer key {name!r} ({record.signer[:60]}) is not registered for agreement "
                f"{self.parties.id!r} (neither in the package nor by a key_registration record)",
            )
        if state.revoked_at is not None:
            raise RecordError(
                "key-revoked",
                where,
                f"signer key {name!r} was revoked by record {state.revoked_at}; "
                "records it signs after that are refused",
            )
        grant = state.grant
        if record.submitter != grant.party:
            raise RecordError(
                "key-party",
                where,
                f"submitter {record.submitter!r} is not the party of key {name!r} "
                f"({grant.party!r})",
            )
        if record.kind in KEY_KINDS:
            if not grant.may_manage_keys:
                raise RecordError(
                    "key-kind",
                    where,
                    f"key {name!r} of {grant.party} may not manage keys (may_manage_keys false)",
                )
            self._check_key_record(record, where)
        elif record.kind not in grant.kinds:
            allowed = ", ".join(k.value for k in grant.kinds)
            raise RecordError(
                "key-kind",
                where,
                f"key {name!r} of {grant.party} may sign {allowed}; not {record.kind.value}",
            )
        return state

    @staticmethod
    def _is_initial(record: Record) -> bool:
        """Whether ``record`` registers the very key that signs it (a party's first key)."""
        if record.kind is not Kind.KEY_REGISTRATION or record.key is None:
            return False
        identity = key_identity(record.key.vkey)
        return identity is not None and identity == key_identity(record.signer)

    def _authorize_initial(self, record: Record, where: str, index: int | None) -> KeyState:
        grant = record.key
        assert grant is not None
        party = record.submitter
        name = grant.vkey.split("+", 1)[0]
        if self.parties.party(party) is None:
            known = ", ".join(p.id for p in self.parties.parties)
            raise RecordError(
                "key-registration",
                where,
                f"an initial key is for a party of the agreement; {party!r} is not one ({known})",
            )
        owned = [s for s in self._keys.values() if s.grant.party == party]
        if owned:
            raise RecordError(
                "key-registration",
                where,
                f"{party} already has key {owned[0].name!r} (from {owned[0].origin()}); "
                f"key {name!r} must be registered by a key of {party} that may manage keys, "
                "not by itself",
            )
        if index is None or index != self.genesis:
            raise RecordError(
                "key-unknown",
                where,
                f"signer key {name!r} registers itself, which only a party's first key may do, "
                "at the head of the log (while every earlier entry is a key registration); "
                f"this is entry {'?' if index is None else index} and the head ended at "
                f"{self.genesis}",
            )
        if not grant.may_manage_keys:
            raise RecordError(
                "key-registration",
                where,
                f"initial key {name!r} of {party} must have may_manage_keys: true (it is the "
                "root its party registers and revokes its other keys with)",
            )
        self._check_key_record(record, where)
        return KeyState(grant, index)

    def _check_key_record(self, record: Record, where: str) -> None:
        if record.key is not None:
            grant = record.key
            if grant.party != record.submitter:
                raise RecordError(
                    "key-registration",
                    where,
                    f"{record.submitter} may register keys for itself only, "
                    f"not for {grant.party!r}",
                )
            try:
                identity = Verifier.from_vkey(grant.vkey).public_key
            except FormatError as exc:
                raise RecordError("key-registration", where, str(exc)) from None
            old = self._keys.get(identity)
            if old is not None:
                raise RecordError(
                    "key-registration",
                    where,
                    f"key {old.name!r} is already registered (by {old.origin()})"
                    + ("" if old.revoked_at is None else " and revoked; use a new key")
                    + (
                        ""
                        if old.grant.vkey == grant.vkey
                        else "; the same public key under another name or spelling is the same key"
                    ),
                )
        if record.revokes is not None:
            target = self.get(record.revokes)
            if target is None:
                raise RecordError(
                    "key-revocation", where, f"revokes a key never registered: {record.revokes!r}"
                )
            if target.grant.party != record.submitter:
                raise RecordError(
                    "key-revocation",
                    where,
                    f"{record.submitter} may revoke its own keys only; key {target.name!r} "
                    f"belongs to {target.grant.party}",
                )
            if target.revoked_at is not None:
                raise RecordError(
                    "key-revocation",
                    where,
                    f"key {target.name!r} was already revoked by record {target.revoked_at}",
                )

    def apply(self, index: int, record: Record) -> None:
        """Take an admitted record at log ``index`` into account (key records change state)."""
        if record.kind is Kind.KEY_REGISTRATION and index == self.genesis:
            self.genesis += 1
        if record.key is not None and record.kind is Kind.KEY_REGISTRATION:
            identity = key_identity(record.key.vkey)
            if identity is not None:
                self._keys.setdefault(identity, KeyState(record.key, index))
        elif record.revokes is not None and record.kind is Kind.KEY_REVOCATION:
            identity = key_identity(record.revokes)
            state = None if identity is None else self._keys.get(identity)
            if identity is not None and state is not None and state.revoked_at is None:
                self._keys[identity] = replace(state, revoked_at=index)
