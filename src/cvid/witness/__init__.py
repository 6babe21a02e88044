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
    from cvid.witness.app import create_app
    from cvid.witness.client import WitnessEndpoint, gather
    from cvid.witness.loopback import RunningWitness, loopback_witnesses
    from cvid.witness.policy import Policy, parse_policy
    from cvid.witness.protocol import origin_hash
    from cvid.witness.publish import (
        HISTORY_DIR,
        WitnessOutcome,
        cosigned_note,
        cosigned_receipt,
        endpoints_from_policy,
        export_cosigned,
        history_checkpoint,
        history_index,
        witness_checkpoint,
    )
    from cvid.witness.remember import (
        CheckpointMemory,
        check_consistency,
        compare,
        default_state_dir,
    )
    from cvid.witness.witness import Witness

# Each name is imported when first asked for (cvid._lazy): the client and the log's side need
# httpx, which a command that only reads a policy (every ledger reads its package's) never loads.
_lazy.install(
    __name__,
    {
        "cvid.witness.app": ["create_app"],
        "cvid.witness.client": ["WitnessEndpoint", "gather"],
        "cvid.witness.loopback": ["RunningWitness", "loopback_witnesses"],
        "cvid.witness.policy": ["Policy", "parse_policy"],
        "cvid.witness.protocol": ["origin_hash"],
        "cvid.witness.publish": [
            "HISTORY_DIR",
            "WitnessOutcome",
            "cosigned_note",
            "cosigned_receipt",
            "endpoints_from_policy",
            "export_cosigned",
            "history_checkpoint",
            "history_index",
            "witness_checkpoint",
        ],
        "cvid.witness.remember": [
            "CheckpointMemory",
            "check_consistency",
            "compare",
            "default_state_dir",
        ],
        "cvid.witness.witness": ["Witness"],
    },
)

__all__ = [
    "HISTORY_DIR",
    "CheckpointMemory",
    "Policy",
    "RunningWitness",
    "Witness",
    "WitnessEndpoint",
    "WitnessOutcome",
    "check_consistency",
    "compare",
    "cosigned_note",
    "cosigned_receipt",
    "create_app",
    "default_state_dir",
    "endpoints_from_policy",
    "export_cosigned",
    "gather",
    "history_checkpoint",
    "history_index",
    "loopback_witnesses",
    "origin_hash",
    "parse_policy",
    "witness_checkpoint",
]
