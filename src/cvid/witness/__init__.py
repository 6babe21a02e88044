"""Witnessing a log (C2SP ``tlog-witness``, ``tlog-cosignature``, ``tlog-policy``).

- :mod:`cvid.witness.protocol`: the ``add-checkpoint`` request and response bodies (pure).
- :mod:`cvid.witness.policy`: ``tlog-policy`` files and their quorum (pure).
- :mod:`cvid.witness.witness`, :mod:`cvid.witness.state`, :mod:`cvid.witness.app`: a witness
  server (``cvid witness``) over its SQLite state.
- :mod:`cvid.witness.client`: ask witnesses to cosign a checkpoint, concurrently, bounded.
- :mod:`cvid.witness.publish`: the log's side: store the cosignatures, export them.
- :mod:`cvid.witness.remember`: what a verifier remembers; split views it can prove.

The log's side in one call::

    from cvid.witness import WitnessEndpoint, parse_policy, witness_checkpoint

    outcome = witness_checkpoint(log, log.checkpoint(), endpoints, policy)
    outcome.note, outcome.quorum, outcome.failures
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cvid import _lazy

if TYPE_CHECKING:
    from cvid.witness.client import WitnessEndpoint, gather
    from cvid.witness.policy import Policy, parse_policy
    from cvid.witness.publish import (
        WitnessOutcome,
        cosigned_note,
        export_cosigned,
        witness_checkpoint,
    )

# Each name is imported when first asked for (cvid._lazy): the client and the log's side need
# httpx, which a command that only reads a policy (every ledger reads its package's) never loads.
_lazy.install(
    __name__,
    {
        "cvid.witness.client": ["WitnessEndpoint", "gather"],
        "cvid.witness.policy": ["Policy", "parse_policy"],
        "cvid.witness.publish": [
            "WitnessOutcome",
            "cosigned_note",
            "export_cosigned",
            "witness_checkpoint",
        ],
    },
)

__all__ = [
    "Policy",
    "WitnessEndpoint",
    "WitnessOutcome",
    "cosigned_note",
    "export_cosigned",
    "gather",
    "parse_policy",
    "witness_checkpoint",
]
