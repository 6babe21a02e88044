"""C2SP ``tlog-policy``: which logs and witnesses a verifier trusts, and the quorum it needs.

::

    log <vkey> [<url>]
    witness <name> <vkey> [<url>]
    group <name> all|any|<k> <member>...
    quorum <name>|none

Lines are separated by LF, fields by spaces and tabs; blank lines and ``#`` comments are
ignored. A group or the quorum names only witnesses and groups defined on earlier lines, each
member at most once; exactly one quorum line. Log keys are Ed25519 note keys (type 0x01),
witness keys Ed25519 ``cosignature/v1`` keys (type 0x04); two lines wrapping one public key are
refused. Pure: :func:`parse_policy` reads text, :meth:`Policy.evaluate` a signed note.

Example::

    policy = parse_policy(Path("policy.txt").read_bytes(), "policy.txt")
    result = policy.evaluate(note_bytes)      # which cosignatures verify, is there a quorum
    policy.require(note_bytes)                # VerificationError naming what is missing
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cvid.errors import Error, FormatError, VerificationError
from cvid.tlog import Checkpoint, CosignerKey, Note, Verifier, open_note, parse

__all__ = ["Group", "Policy", "PolicyResult", "PolicyWitness", "parse_policy"]

#: Bounds on what one policy may define (the spec recommends supporting at least 32 of each).
MAX_LOGS = 256
MAX_WITNESSES = 256
MAX_GROUPS = 256
MAX_POLICY_BYTES = 256 * 1024
NONE = "none"


@dataclass(frozen=True)
class PolicyWitness:
    """A witness of a policy: its name in the policy, its cosigner key, its optional URL."""

    name: str
    key: CosignerKey
    url: str | None = None


@dataclass(frozen=True)
class Group:
    """A k-of-n group of witnesses and groups (named earlier in the policy)."""

    name: str
    threshold: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class PolicyResult:
    """What a policy says of one checkpoint note."""

    checkpoint: Checkpoint
    #: Names of the policy's witnesses whose cosignature verifies on the note, with its time.
    cosigned: dict[str, int]
    #: Whether the quorum holds.
    quorum: bool
    #: Why the quorum does not hold (empty when it does).
    missing: str = ""


@dataclass(frozen=True)
class Policy:
    """A parsed ``tlog-policy``: logs, witnesses, groups and the quorum (a name or ``none``)."""

    logs: tuple[Verifier, ...]
    witnesses: dict[str, PolicyWitness]
    groups: dict[str, Group]
    quorum: str
    log_urls: dict[str, str] = field(default_factory=dict)

    def _holds(self, name: str, cosigned: dict[str, int]) -> bool:
        if name == NONE:
            return True
        if name in self.witnesses:
            return name in cosigned
        g = self.groups[name]
        return sum(self._holds(m, cosigned) for m in g.members) >= g.threshold

    def _explain(self, name: str, cosigned: dict[str, int]) -> str:
        """Why ``name`` does not hold, in a sentence naming the members missing."""
        if name in self.witnesses:
            return f"no valid cosignature from witness {name}"
        g = self.groups[name]
        have = [m for m in g.members if self._holds(m, cosigned)]
        lacking = [m for m in g.members if m not in have]
        return (
            f"group {name} needs {g.threshold} of {len(g.members)} "
            f"({', '.join(g.members)}) and has {len(have)}"
            + (f": missing {', '.join(lacking)}" if lacking else "")
        )

    def evaluate(self, data: bytes | str | Note) -> PolicyResult:
        """Check a signed checkpoint note against the policy.

        The note must carry a valid signature from one of the policy's logs (any log, when the
        policy lists none: the caller then checks the log itself), else
        :class:`VerificationError`. Then each of the policy's witnesses counts if exactly one
        valid cosignature of its key is on the note; a witness line that is present but does not
        verify counts as missing, never as an error. Cosignatures of unknown keys are ignored.
        """
        n = data if isinstance(data, Note) else parse(data)
        if self.logs:
            n = open_note(n.encode(), list(self.logs))
        cp = Checkpoint.parse(n.text)
        if self.logs and cp.origin not in {v.name for v in self.logs}:
            raise VerificationError(
                f"checkpoint origin {cp.origin!r} is not the key name of a log of the policy"
            )
        cosigned: dict[str, int] = {}
        for w in self.witnesses.values():
            try:
                cosigned[w.name] = w.key.verify(n)
            except Error:
                continue
        ok = self._holds(self.quorum, cosigned)
        return PolicyResult(cp, cosigned, ok, "" if ok else self._explain(self.quorum, cosigned))

    def quorum_time(self, cosigned: dict[str, int]) -> int | None:
        """The earliest time at which the quorum held, by the cosignatures' own timestamps:
        the smallest ``t`` such that the witnesses of ``cosigned`` (name → timestamp) that
        cosigned at or before ``t`` meet the quorum. None when they never do, or when the
        quorum is ``none`` (no witness attests anything)."""
        if self.quorum == NONE:
            return None
        have: dict[str, int] = {}
        for name, t in sorted(cosigned.items(), key=lambda item: item[1]):
            have[name] = t
            if self._holds(self.quorum, have):
                return t
        return None

    def require(self, data: bytes | str | Note, where: str = "checkpoint") -> PolicyResult:
        """:meth:`evaluate`, raising :class:`VerificationError` naming what is missing unless
        the quorum holds."""
        result = self.evaluate(data)
        if not result.quorum:
            raise VerificationError(
                f"{where}: the witness policy's quorum is not met: {result.missing}"
            )
        return result


def _fields(line: str) -> list[str]:
    # The spec's whitespace is spaces and tabs only.
    return line.replace("\t", " ").split()


def parse_policy(data: bytes | str, where: str = "policy") -> Policy:
    """Parse a ``tlog-policy`` file; :class:`FormatError` naming ``where`` and the line."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    if len(data) > MAX_POLICY_BYTES:
        raise FormatError(f"{where}: {len(data):,} bytes, over {MAX_POLICY_BYTES:,}")
    # Octets with the high bit set are opaque to the format; surrogateescape keeps them so.
    text = data.decode("utf-8", "surrogateescape")
    logs: list[Verifier] = []
    log_urls: dict[str, str] = {}
    witnesses: dict[str, PolicyWitness] = {}
    groups: dict[str, Group] = {}
    quorum: str | None = None
    keys_seen: dict[bytes, int] = {}

    for n, raw in enumerate(text.split("\n"), 1):

        def bad(why: str, n: int = n) -> FormatError:
            return FormatError(f"{where} line {n}: {why}")

        if any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in raw):
            raise bad("has a control character (only tab and newline are allowed)")
        f = _fields(raw)
        if not f or f[0].startswith("#"):
            continue
        kind, args = f[0], f[1:]

        def key_once(public: bytes, n: int = n) -> None:
            if public in keys_seen:
                raise bad(f"the same public key as line {keys_seen[public]}")
            keys_seen[public] = n

        def defined(name: str) -> None:
            if name == NONE:
                raise bad("'none' is predefined and cannot be redefined")
            if name in witnesses or name in groups:
                raise bad(f"name {name!r} is already defined")

        try:
            if kind == "log":
                if len(args) not in (1, 2):
                    raise bad("expected 'log <vkey> [<url>]'")
                v = Verifier.from_vkey(args[0])
                key_once(v.public_key)
                logs.append(v)
                if len(args) == 2:
                    log_urls[v.name] = args[1]
                if len(logs) > MAX_LOGS:
                    raise bad(f"more than {MAX_LOGS} logs")
            elif kind == "witness":
                if len(args) not in (2, 3):
                    raise bad("expected 'witness <name> <vkey> [<url>]'")
                defined(args[0])
                wkey = CosignerKey.from_vkey(args[1])
                key_once(wkey.public_key)
                url = args[2] if len(args) == 3 else None
                witnesses[args[0]] = PolicyWitness(args[0], wkey, url)
                if len(witnesses) > MAX_WITNESSES:
                    raise bad(f"more than {MAX_WITNESSES} witnesses")
            elif kind == "group":
                if len(args) < 3:
                    raise bad("expected 'group <name> all|any|<k> <member>...'")
                name, k_text, members = args[0], args[1], tuple(args[2:])
                defined(name)
                for m in members:
                    if m == NONE:
                        raise bad("'none' cannot be a group member")
                    if m not in witnesses and m not in groups:
                        raise bad(f"member {m!r} is not a witness or group defined above")
                if len(set(members)) != len(members):
                    raise bad("a member is listed more than once")
                if k_text == "all":
                    k = len(members)
                elif k_text == "any":
                    k = 1
                elif k_text.isascii() and k_text.isdigit() and k_text[0] != "0":
                    k = int(k_text)
                    if not 1 <= k <= len(members):
                        raise bad(f"threshold {k} is not between 1 and {len(members)}")
                else:
                    raise bad(f"threshold {k_text!r} is not 'all', 'any' or a decimal number")
                groups[name] = Group(name, k, members)
                if len(groups) > MAX_GROUPS:
                    raise bad(f"more than {MAX_GROUPS} groups")
            elif kind == "quorum":
                if len(args) != 1:
                    raise bad("expected 'quorum <name>'")
                if quorum is not None:
                    raise bad("a second quorum line")
                if args[0] != NONE and args[0] not in witnesses and args[0] not in groups:
                    raise bad(f"quorum {args[0]!r} is not a witness or group defined above")
                quorum = args[0]
            else:
                raise bad(f"unknown line type {kind!r} (log, witness, group or quorum)")
        except FormatError as exc:
            if exc.diagnostics().startswith(f"{where} line "):
                raise
            raise bad(exc.diagnostics()) from None
    if quorum is None:
        raise FormatError(f"{where}: no quorum line (use 'quorum none' to require no witness)")
    return Policy(tuple(logs), witnesses, groups, quorum, log_urls)
