"""Fuzz target: key texts — note verifier keys, cosigner keys (type 0x04), private key text
and a record's ``signer`` (:meth:`Verifier.from_vkey`, :meth:`CosignerKey.from_vkey`,
:meth:`Signer.from_skey`, :func:`cvid.evidence.signing.verifier_of`).

A key that parses must give back its own text's key.
"""

from __future__ import annotations

import contextlib

from fuzzkit import fuzz, instrumented, text

with instrumented(__name__ == "__main__"):
    from cvid.errors import FormatError, InputError
    from cvid.evidence.signing import verifier_of
    from cvid.tlog.cosignature import CosignerKey
    from cvid.tlog.note import Signer, Verifier


def one_input(data: bytes) -> None:
    value = text(data)
    if value is None:
        return
    try:
        v = Verifier.from_vkey(value)
        assert Verifier.from_vkey(v.vkey) == v, "a verifier key does not parse back"
    except FormatError:
        pass
    try:
        c = CosignerKey.from_vkey(value)
        assert CosignerKey.from_vkey(c.vkey) == c, "a cosigner key does not parse back"
    except FormatError:
        pass
    try:
        s = Signer.from_skey(value)
        assert Signer.from_skey(s.skey) == s, "a private key text does not parse back"
    except FormatError:
        pass
    with contextlib.suppress(InputError):
        verifier_of(value, "fuzz")


if __name__ == "__main__":
    fuzz(one_input)
