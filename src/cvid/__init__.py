"""cvid: complete, verifiable, irreversible.

Agreements as executable terms over signed evidence kept in a public, append-only,
cryptographically verifiable log (RFC 9162 Merkle tree, C2SP checkpoints, tiles and proofs).

The public faces are the subpackages: :mod:`cvid.tlog` (pure log formats and proofs),
:mod:`cvid.store` (durable logs on SQLite), :mod:`cvid.accountancy` (material balances).
"""

__version__ = "0.1.0"
