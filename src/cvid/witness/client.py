"""The log's side of ``tlog-witness``: ask witnesses to cosign a checkpoint, gather the answers.

For each witness, :func:`add_checkpoint` sends the checkpoint with a consistency proof from the
size that witness last cosigned (0 when unknown). A 409 reports the size the witness has; the
client then retries once with a proof from there. The returned cosignature is verified with the
witness's key before it is accepted. :func:`gather` asks every witness at once, each bounded by
a timeout: a witness that is down, slow or wrong is reported and skipped, never fatal.

Example::

    endpoints = [WitnessEndpoint.parse("http://127.0.0.1:7380=w1+1234abcd+BAx...")]
    result = gather(signed, endpoints, prove=log.consistency_proof, timeout=2.0)
    result.note           # the checkpoint with the log's signature first, then cosignatures
    result.failures       # {witness name: why}

The transport is injectable (``httpx.MockTransport`` in tests).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import httpx

from cvid.errors import Error, FormatError, InputError, VerificationError
from cvid.tlog import CosignerKey, Note, NoteSignature, SignedCheckpoint
from cvid.witness.protocol import (
    MAX_RESPONSE_BYTES,
    SIZE_CONTENT_TYPE,
    AddCheckpoint,
    parse_cosignatures,
    parse_size,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "Cosigned",
    "Gathered",
    "Prover",
    "WitnessEndpoint",
    "add_checkpoint",
    "gather",
    "gather_async",
]

#: Seconds one witness may take, both attempts together: a witness on another continent
#: answers in well under a second; one that does not is skipped, the log goes on.
DEFAULT_TIMEOUT = 5.0

#: ``prove(old_size, new_size)``: the RFC 9162 consistency proof between two sizes of the log.
Prover = Callable[[int, int], Sequence[bytes]]


@dataclass(frozen=True)
class WitnessEndpoint:
    """A witness: its submission prefix URL and its cosigner key."""

    url: str
    key: CosignerKey

    @property
    def name(self) -> str:
        """The witness's key name."""
        return self.key.name

    @classmethod
    def parse(cls, text: str) -> WitnessEndpoint:
        """Parse ``URL=VKEY`` (``--witness``); :class:`InputError` saying what is wrong.

        A vkey ends in base64 padding, so the split is at the first ``=`` whose right side is a
        cosigner vkey.
        """
        last: Error | None = None
        for i, c in enumerate(text):
            if c != "=":
                continue
            url, vkey = text[:i], text[i + 1 :]
            if not url.startswith(("http://", "https://")):
                break
            try:
                return cls(url.rstrip("/"), CosignerKey.from_vkey(vkey))
            except Error as exc:
                last = exc
        why = f": {last.diagnostics()}" if last is not None else ""
        raise InputError(f"witness {text[:120]!r} is not URL=VKEY with an http(s) URL{why}")


@dataclass(frozen=True)
class Cosigned:
    """A witness's verified cosignature and the size it has now cosigned."""

    witness: WitnessEndpoint
    signature: NoteSignature
    timestamp: int

    @property
    def line(self) -> str:
        """The signature line, without its newline."""
        return self.signature.line()


@dataclass
class Gathered:
    """What :func:`gather` got: the cosigned note and, per witness, its cosignature or failure."""

    checkpoint: SignedCheckpoint
    cosigned: list[Cosigned] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def note(self) -> bytes:
        """The checkpoint's note with every signature it had (the log's first) and the new
        cosignatures after, one per witness, in the order the witnesses were given."""
        n = self.checkpoint.note
        have = {(s.name, s.key_id) for s in n.signatures}
        extra = tuple(
            c.signature for c in self.cosigned if (c.signature.name, c.signature.key_id) not in have
        )
        return Note(n.text, n.signatures + extra).encode()


def _verify(endpoint: WitnessEndpoint, signed: SignedCheckpoint, body: bytes) -> Cosigned:
    """The witness's cosignature in a 200 body, verified; :class:`VerificationError` if none."""
    sigs = parse_cosignatures(body)
    kid = endpoint.key.key_id
    mine = [s for s in sigs if s.name == endpoint.key.name and s.key_id == kid]
    if not mine:
        raise VerificationError("its answer holds no cosignature by its key")
    n = signed.note
    # One of the lines must verify; others by its key are ignored as the spec says of unknown.
    last: Error | None = None
    for s in mine:
        try:
            t = endpoint.key.verify(Note(n.text, (s,)))
            return Cosigned(endpoint, s, t)
        except Error as exc:
            last = exc
    assert last is not None
    raise VerificationError(f"its cosignature does not verify: {last.diagnostics()}")


async def add_checkpoint(
    client: httpx.AsyncClient,
    endpoint: WitnessEndpoint,
    signed: SignedCheckpoint,
    prove: Prover,
    old_size: int = 0,
) -> Cosigned:
    """Ask one witness to cosign ``signed``, sending a proof from ``old_size``.

    On a 409 the witness's size is read and the request sent once more with a proof from it.
    Returns the verified cosignature; raises :class:`VerificationError` (the witness refused or
    answered wrongly) or :class:`InputError` (it could not be reached) saying why.
    """
    size = signed.checkpoint.size
    url = endpoint.url + "/add-checkpoint"
    for attempt in (1, 2):
        if old_size > size:
            raise VerificationError(
                f"it has cosigned size {old_size}, larger than this checkpoint's {size}: "
                "it saw a larger tree of this log (a rollback, or another view)"
            )
        proof = tuple(prove(old_size, size)) if 0 < old_size < size else ()
        body = AddCheckpoint(old_size, proof, signed.encode()).encode()
        try:
            resp = await client.post(url, content=body, headers={"Content-Type": "text/plain"})
            data = await _read(resp)
        except httpx.HTTPError as exc:
            raise InputError(f"cannot reach {url}: {type(exc).__name__} {exc}".strip()) from None
        if resp.status_code == 200:
            return _verify(endpoint, signed, data)
        if resp.status_code == 409 and attempt == 1:
            ctype = resp.headers.get("content-type", "").split(";")[0].strip()
            if ctype != SIZE_CONTENT_TYPE:
                raise VerificationError(f"409 without Content-Type {SIZE_CONTENT_TYPE}")
            try:
                old_size = parse_size(data)
            except FormatError as exc:
                raise VerificationError(f"409 body: {exc.diagnostics()}") from None
            continue
        text = data[:300].decode("utf-8", "replace").strip()
        raise VerificationError(f"HTTP {resp.status_code} from {url}: {text}")
    raise VerificationError(f"{url} answered 409 twice")  # pragma: no cover - loop bound


async def _read(resp: httpx.Response) -> bytes:
    """The response body, refused past :data:`MAX_RESPONSE_BYTES` (a witness answers little)."""
    out = bytearray()
    async for chunk in resp.aiter_bytes():
        out += chunk
        if len(out) > MAX_RESPONSE_BYTES:
            await resp.aclose()
            raise httpx.DecodingError(f"answer over {MAX_RESPONSE_BYTES} bytes")
    return bytes(out)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One verifying TLS context for every gathering: building one loads the CA bundle, which
    costs tens of milliseconds, more than a round trip to a witness."""
    return httpx.create_ssl_context()


async def gather_async(
    signed: SignedCheckpoint,
    witnesses: Sequence[WitnessEndpoint],
    prove: Prover,
    timeout: float = DEFAULT_TIMEOUT,
    known_sizes: Mapping[str, int] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Gathered:
    """Ask every witness at once; each gets ``timeout`` seconds for both its attempts.

    ``known_sizes`` (by witness vkey) are the sizes each witness last cosigned, as far as the
    log knows (a start that saves the 409 round trip). Never raises for a witness's failure:
    it is in :attr:`Gathered.failures` by witness name.
    """
    result = Gathered(signed)
    sizes = known_sizes or {}
    limits = httpx.Timeout(timeout)
    # Plain-HTTP witnesses need no CA bundle; https ones share the one context.
    tls: ssl.SSLContext | bool = (
        _tls() if any(w.url.startswith("https:") for w in witnesses) else False
    )
    async with httpx.AsyncClient(transport=transport, timeout=limits, verify=tls) as client:

        async def one(w: WitnessEndpoint) -> Cosigned | str:
            try:
                start = sizes.get(w.key.vkey, 0)
                if start > signed.checkpoint.size:
                    start = 0  # the log's own record is ahead of this checkpoint: ask afresh
                return await asyncio.wait_for(
                    add_checkpoint(client, w, signed, prove, start), timeout
                )
            except TimeoutError:
                return f"no answer within {timeout:g} s"
            except Error as exc:
                return exc.diagnostics()

        answers = await asyncio.gather(*(one(w) for w in witnesses))
    for w, a in zip(witnesses, answers, strict=True):
        if isinstance(a, str):
            # Two witnesses may share a key name; the URL tells their failures apart.
            label = w.name if w.name not in result.failures else f"{w.name} ({w.url})"
            result.failures[label] = a
        else:
            result.cosigned.append(a)
    return result


def gather(
    signed: SignedCheckpoint,
    witnesses: Sequence[WitnessEndpoint],
    prove: Prover,
    timeout: float = DEFAULT_TIMEOUT,
    known_sizes: Mapping[str, int] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Gathered:
    """:func:`gather_async` from synchronous code (also when an event loop runs in this thread:
    then in a worker thread). Returns within about ``timeout`` seconds whatever witnesses do."""
    coro = gather_async(signed, witnesses, prove, timeout, known_sizes, transport)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
