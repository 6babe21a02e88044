"""Pure transparency-log formats and proofs: no disk, no network.

- :mod:`cvid.tlog.merkle`: RFC 9162 hashing, inclusion and consistency proofs.
- :mod:`cvid.tlog.note`: C2SP signed notes with Ed25519 keys.
- :mod:`cvid.tlog.checkpoint`: C2SP checkpoints.
- :mod:`cvid.tlog.cosignature`: C2SP tlog-cosignature v1 (timestamped Ed25519 cosignatures).
- :mod:`cvid.tlog.tiles`: C2SP tlog-tiles layout and entry bundles.
- :mod:`cvid.tlog.receipt`: C2SP tlog-proof receipts.

Example::

    from cvid.tlog import MemoryHashes, leaf_hash, inclusion_proof, verify_inclusion
    tree = MemoryHashes([leaf_hash(e) for e in (b"a", b"b", b"c")])
    proof = inclusion_proof(1, tree.size, tree)
    verify_inclusion(1, tree.size, leaf_hash(b"b"), proof, tree.root())
"""

from typing import TYPE_CHECKING

from cvid import _lazy

if TYPE_CHECKING:
    from cvid.tlog.checkpoint import Checkpoint, SignedCheckpoint, open_checkpoint, sign_checkpoint
    from cvid.tlog.cosignature import CosignerKey, cosign, verify_cosignature
    from cvid.tlog.edge import TreeEdge
    from cvid.tlog.merkle import (
        EMPTY_ROOT,
        HASH_SIZE,
        HashReader,
        MemoryHashes,
        Node,
        consistency_proof,
        inclusion_proof,
        leaf_hash,
        node_hash,
        root_of,
        tree_hash,
        verify_consistency,
        verify_inclusion,
    )
    from cvid.tlog.note import (
        SIG_PREFIX,
        Note,
        NoteSignature,
        Signer,
        Verifier,
        b64,
        check_key_name,
        open_note,
        parse,
        unb64,
        verify_ed25519,
    )
    from cvid.tlog.receipt import Receipt, verify_receipt
    from cvid.tlog.tiles import (
        MAX_ENTRY_SIZE,
        TILE_HEIGHT,
        TILE_WIDTH,
        HashView,
        Tile,
        TileHashReader,
        decode_bundle,
        encode_bundle,
        parse_path,
        split_hashes,
        tile_for_size,
        tile_nodes_size,
        tiles_for_size,
    )

_lazy.install(
    __name__,
    {
        "cvid.tlog.checkpoint": [
            "Checkpoint",
            "SignedCheckpoint",
            "open_checkpoint",
            "sign_checkpoint",
        ],
        "cvid.tlog.cosignature": ["CosignerKey", "cosign", "verify_cosignature"],
        "cvid.tlog.edge": ["TreeEdge"],
        "cvid.tlog.merkle": [
            "EMPTY_ROOT",
            "HASH_SIZE",
            "HashReader",
            "MemoryHashes",
            "Node",
            "consistency_proof",
            "inclusion_proof",
            "leaf_hash",
            "node_hash",
            "root_of",
            "tree_hash",
            "verify_consistency",
            "verify_inclusion",
        ],
        "cvid.tlog.note": [
            "SIG_PREFIX",
            "Note",
            "NoteSignature",
            "Signer",
            "Verifier",
            "b64",
            "check_key_name",
            "open_note",
            "parse",
            "unb64",
            "verify_ed25519",
        ],
        "cvid.tlog.receipt": ["Receipt", "verify_receipt"],
        "cvid.tlog.tiles": [
            "MAX_ENTRY_SIZE",
            "TILE_HEIGHT",
            "TILE_WIDTH",
            "HashView",
            "Tile",
            "TileHashReader",
            "decode_bundle",
            "encode_bundle",
            "parse_path",
            "split_hashes",
            "tile_for_size",
            "tile_nodes_size",
            "tiles_for_size",
        ],
    },
)

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_ENTRY_SIZE",
    "SIG_PREFIX",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "Checkpoint",
    "CosignerKey",
    "HashReader",
    "HashView",
    "MemoryHashes",
    "Node",
    "Note",
    "NoteSignature",
    "Receipt",
    "SignedCheckpoint",
    "Signer",
    "Tile",
    "TileHashReader",
    "TreeEdge",
    "Verifier",
    "b64",
    "check_key_name",
    "consistency_proof",
    "cosign",
    "decode_bundle",
    "encode_bundle",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "open_checkpoint",
    "open_note",
    "parse",
    "parse_path",
    "root_of",
    "sign_checkpoint",
    "split_hashes",
    "tile_for_size",
    "tile_nodes_size",
    "tiles_for_size",
    "tree_hash",
    "unb64",
    "verify_consistency",
    "verify_cosignature",
    "verify_ed25519",
    "verify_inclusion",
    "verify_receipt",
]
