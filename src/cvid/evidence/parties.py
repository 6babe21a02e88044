"""Parties, their roles and their initial keys, read from an agreement package.

An agreement package is a folder with ``agreement.yaml``. This loader reads only what evidence
needs and ignores every other top-level key (the agreements engine reads ``terms``,
``parameters``, ``steps`` and the rest)::

    id: new-start
    title: New START Treaty
    parties:
      - {id: US, name: United States, roles: [inspected_party, inspectorate]}
      - {id: RU, name: Russian Federation, roles: [inspected_party, inspectorate]}
    keys:
      - {party: US, vkey: "us-decl+1a2b3c4d+AW...", kinds: [declaration], may_manage_keys: true}
    witnesses:                      # optional: the regime's witnesses and the quorum it needs
      quorum: 2                     # how many of the members must cosign (default: all)
      members:
        - {name: US, vkey: "us.example/w+1f0c2a9e+BK...", url: "https://witness.us.example/"}

:func:`witness_policy_text` turns ``witnesses`` into a C2SP ``tlog-policy``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cvid.errors import FormatError, InputError
from cvid.evidence.record import KeyGrant
from cvid.evidence.signing import flatten_errors
from cvid.tlog import Verifier
from cvid.witness import parse_policy

AGREEMENT_FILE = "agreement.yaml"


class Role(StrEnum):
    """The role a party plays in an agreement."""

    INSPECTED_PARTY = "inspected_party"
    INSPECTORATE = "inspectorate"
    COUNTERPARTY = "counterparty"
    OBSERVER = "observer"


class Party(BaseModel):
    """A party to an agreement (or a body with a role in it, such as an inspectorate)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    name: str = Field(min_length=1, max_length=200)
    roles: tuple[Role, ...] = Field(min_length=1)


class WitnessDecl(BaseModel):
    """A witness of the regime: its name in the policy, its cosigner vkey, where it listens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:/-]+$")
    vkey: str = Field(min_length=1, max_length=400, description="A cosigner key (type 0x04).")
    url: str | None = Field(
        default=None, max_length=2000, pattern=r"^https?://", description="Its tlog-witness prefix."
    )


class Witnessing(BaseModel):
    """The regime's witnesses and how many of them must cosign every checkpoint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quorum: int | None = Field(
        default=None, ge=1, description="How many members must cosign (default: all of them)."
    )
    members: tuple[WitnessDecl, ...] = Field(min_length=1, max_length=64)


class AgreementParties(BaseModel):
    """What evidence needs from an agreement package: its id, parties and initial keys."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(min_length=1, max_length=100)
    title: str = Field(min_length=1, max_length=500)
    parties: tuple[Party, ...] = Field(min_length=1)
    keys: tuple[KeyGrant, ...] = ()
    witnesses: Witnessing | None = None

    def party(self, party_id: str) -> Party | None:
        """The party with id ``party_id``, or None."""
        return next((p for p in self.parties if p.id == party_id), None)


def _check(parties: AgreementParties, where: str) -> None:
    ids = [p.id for p in parties.parties]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise InputError(f"{where}: party ids appear twice: {', '.join(sorted(dup))}")
    seen: set[bytes] = set()  # public keys: a key's identity, whatever its vkey spelling
    for n, grant in enumerate(parties.keys, 1):
        if grant.party not in ids:
            raise InputError(f"{where}: keys[{n}] is for unknown party {grant.party!r}")
        try:
            identity = Verifier.from_vkey(grant.vkey).public_key
        except FormatError as exc:
            raise InputError(f"{where}: keys[{n}]: {exc}") from None
        if identity in seen:
            raise InputError(f"{where}: keys[{n}] lists a key twice (the same public key)")
        seen.add(identity)
    if parties.witnesses is not None:
        w = parties.witnesses
        if w.quorum is not None and w.quorum > len(w.members):
            raise InputError(
                f"{where}: witnesses: quorum {w.quorum} exceeds its {len(w.members)} members"
            )
        try:
            parse_policy(witness_policy_text(parties), f"{where}: witnesses")
        except FormatError as exc:
            raise InputError(str(exc)) from None


#: The name of the group :func:`witness_policy_text` defines over the package's witnesses.
WITNESS_GROUP = "regime-witnesses"


def witness_policy_text(parties: AgreementParties, log_vkey: str | None = None) -> str:
    """The package's witnesses as a C2SP ``tlog-policy`` (``""`` when it names none).

    One ``witness`` line per member (with its URL when given), one group
    :data:`WITNESS_GROUP` of ``quorum`` (default all) of them, and that group as the quorum;
    with ``log_vkey``, a ``log`` line first so a verifier also requires the log's signature.
    """
    w = parties.witnesses
    if w is None:
        return ""
    lines = [f"# The witnesses of {parties.id}, from its agreement package"]
    if log_vkey is not None:
        lines.append(f"log {log_vkey}")
    for m in w.members:
        lines.append(f"witness {m.name} {m.vkey}" + (f" {m.url}" if m.url else ""))
    k = w.quorum if w.quorum is not None else len(w.members)
    lines.append(f"group {WITNESS_GROUP} {k} " + " ".join(m.name for m in w.members))
    lines.append(f"quorum {WITNESS_GROUP}")
    return "\n".join(lines) + "\n"


def parse_parties(data: Any, where: str = AGREEMENT_FILE) -> AgreementParties:
    """Validate the parsed ``agreement.yaml`` mapping; raise :class:`InputError` naming fields."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: must be a mapping with id, title, parties and keys")
    wanted = {k: data[k] for k in ("id", "title", "parties", "keys", "witnesses") if k in data}
    for optional in ("keys", "witnesses"):
        if wanted.get(optional) is None:
            wanted.pop(optional, None)
    try:
        parties = AgreementParties.model_validate(wanted)
    except ValidationError as exc:
        raise InputError(f"{where}: {flatten_errors(exc)}") from None
    _check(parties, where)
    return parties


def load_parties(package_dir: Path) -> AgreementParties:
    """Read ``package_dir/agreement.yaml``: the agreement's id, title, parties and keys.

    Unknown top-level keys are ignored. Raises :class:`InputError` for a missing or malformed
    file, unknown roles, duplicate parties, keys of unknown parties or malformed vkeys.
    """
    path = package_dir / AGREEMENT_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read agreement package {path}: {exc.strerror}") from None
    from cvid.agreements import safe_load  # within the YAML limits

    return parse_parties(safe_load(text, str(path)), str(path))


#: The most bytes a package's files may hold together (a package is text and small tables).
MAX_PACKAGE_BYTES = 64 * 1024 * 1024


def read_package_files(package_dir: Path) -> dict[str, bytes]:
    """Every file of a package folder by relative POSIX path (hidden files skipped).

    Refuses (:class:`InputError`) a symbolic link anywhere in the package — a package never
    reaches outside its folder — and a package over :data:`MAX_PACKAGE_BYTES`.
    """
    if not package_dir.is_dir():
        raise InputError(f"{package_dir}: not an agreement package folder")
    out: dict[str, bytes] = {}
    total = 0
    for path in sorted(package_dir.rglob("*")):
        rel = path.relative_to(package_dir)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        if path.is_symlink():
            raise InputError(f"{path}: a symbolic link; a package's files must be in its folder")
        if not path.is_file():
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror}") from None
        total += len(data)
        if total > MAX_PACKAGE_BYTES:
            raise InputError(f"{package_dir}: the package is over {MAX_PACKAGE_BYTES:,} bytes")
        out[rel.as_posix()] = data
    return out


def files_sha256(files: Mapping[str, bytes]) -> str:
    """:func:`package_sha256` of a package given as its files (relative POSIX path -> bytes)."""
    lines = [f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in files.items()]
    lines.sort(key=lambda line: line[66:])
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def parties_from_files(files: Mapping[str, bytes], where: str) -> AgreementParties:
    """:func:`load_parties` of a package given as its files; ``where`` names it in messages."""
    name = f"{where}/{AGREEMENT_FILE}"
    data = files.get(AGREEMENT_FILE)
    if data is None:
        raise InputError(f"{where}: the package has no {AGREEMENT_FILE}")
    from cvid.agreements import safe_load  # libyaml's when present, within limits

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 (byte {exc.start})") from None
    return parse_parties(safe_load(text, name), name)


def package_sha256(package_dir: Path) -> str:
    """A hash of a package folder's files, names and contents, independent of where it lives.

    SHA-256 of the lines ``<sha256 hex of file>  <relative POSIX path>\\n`` sorted by path (what
    ``find . -type f | sort | xargs sha256sum`` prints, without ``./``), skipping hidden files
    and ``__pycache__``.

    Refuses what :func:`read_package_files` refuses: a symbolic link, an oversized package.
    """
    return files_sha256(read_package_files(package_dir))
