"""Write the seed corpora under ``fuzz/corpus/<target>/`` from real files.

The seeds are the examples' own files (``examples/``: packages, scenarios, the New START
mapping and table, the Singapore evidence) and the formats a real log makes: a log of the
Singapore evidence signed with keys generated for the occasion (only public keys and
signatures end up in the seeds; the private keys are never written), its checkpoint,
receipts, tiles and bundles, cosignatures, a witness request, a verdict and a policy::

    .venv/bin/python fuzz/make_corpus.py

Run again, it rewrites the seeds (new keys, so new bytes); the committed ones are small.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzzkit import CORPUS, ROOT, pack_files

from cvid.agreements import make_verdict, parse_package, verdict_bytes
from cvid.evidence import sign_record
from cvid.tlog import note
from cvid.tlog.checkpoint import Checkpoint, sign_checkpoint
from cvid.tlog.cosignature import CosignerKey, cosign
from cvid.tlog.merkle import (
    EMPTY_ROOT,
    MemoryHashes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
)
from cvid.tlog.receipt import Receipt
from cvid.tlog.tiles import TILE_WIDTH, encode_bundle, tiles_for_size
from cvid.witness.protocol import AddCheckpoint, format_cosignatures, format_size

EXAMPLES = ROOT / "examples"


def write(target: str, name: str, data: bytes) -> None:
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def tile_files(entries: list[bytes], cp_text: str) -> dict[str, bytes]:
    """The tiles tree of ``entries`` with ``cp_text`` (unsigned) as its checkpoint."""
    tree = MemoryHashes([leaf_hash(e) for e in entries])
    files = {"checkpoint": cp_text.encode()}
    from cvid.tlog.merkle import Node

    for tile in tiles_for_size(len(entries)):
        level = tile.level * 8
        start = tile.n * TILE_WIDTH
        nodes = [Node(level, start + i) for i in range(tile.width)]
        files[tile.path()] = b"".join(tree.read_hashes(nodes))
        if tile.level == 0:
            files[tile.entries_path()] = encode_bundle(entries[start : start + tile.width])
    return files


def main() -> None:
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    log = note.Signer.generate("fuzz.example/log")
    witness = note.Signer.generate("fuzz.example/witness")
    submitter = note.Signer.generate("fuzz-submitter")

    # Records: the Singapore example's evidence, signed as a party would.
    lines = (EXAMPLES / "singapore-2018" / "evidence.jsonl").read_text().splitlines()
    objs = [json.loads(line) for line in lines if line.strip()]
    signed = [sign_record({k: v for k, v in o.items() if k != "signer"}, submitter) for o in objs]
    for i, obj in enumerate(signed[:6]):
        write("record", f"singapore-{i}.json", json.dumps(obj, indent=2).encode())
        write("http_records", f"singapore-{i}.json", json.dumps(obj).encode())
    jsonl = "".join(json.dumps(o) + "\n" for o in signed[:3]).encode()
    write("record", "batch.jsonl", jsonl)
    write("http_records", "batch.jsonl", jsonl)
    write("record", "unsigned.json", lines[0].encode())

    # A log of those records: checkpoint, receipts, tiles, bundles.
    entries = [json.dumps(o, sort_keys=True, separators=(",", ":")).encode() for o in signed]
    tree = MemoryHashes([leaf_hash(e) for e in entries])
    cp = Checkpoint(log.name, tree.size, tree.root())
    signed_cp = sign_checkpoint(cp, log).encode()
    write("checkpoint", "checkpoint.txt", cp.text().encode())
    write("checkpoint", "checkpoint-signed", signed_cp)
    write("checkpoint", "empty.txt", Checkpoint(log.name, 0, EMPTY_ROOT).text().encode())
    write("note", "checkpoint", signed_cp)
    write("note", "plain", note.sign("hello\nworld\n", log, witness).encode())
    for i in (0, tree.size // 2, tree.size - 1):
        proof = tuple(inclusion_proof(i, tree.size, tree))
        write("receipt", f"receipt-{i}", Receipt(i, proof, signed_cp).encode())
    write("receipt", "extra", Receipt(0, (), signed_cp, extra=b"fuzz").encode())

    stamp = 1_764_000_000
    cosig = cosign(cp.text(), witness, stamp)
    parsed = note.parse(signed_cp)
    cosigned = note.Note(parsed.text, (*parsed.signatures, cosig)).encode()
    write("cosignature", "cosigned", cosigned)
    write("note", "cosigned", cosigned)

    for target in ("tile_path",):
        for tile in tiles_for_size(tree.size)[:4]:
            write(target, tile.path().replace("/", "_"), tile.path().encode())
            if tile.level == 0:
                write(target, tile.entries_path().replace("/", "_"), tile.entries_path().encode())
        write(target, "deep", b"tile/2/x001/x234/067.p/8")
    small = [f"entry {i}".encode() for i in range(3)]
    small_tree = MemoryHashes([leaf_hash(e) for e in small])
    write(
        "tiles",
        "three",
        pack_files(tile_files(small, Checkpoint(log.name, 3, small_tree.root()).text())),
    )
    many = [f"e{i}".encode() for i in range(TILE_WIDTH + 5)]
    many_tree = MemoryHashes([leaf_hash(e) for e in many])
    cp_many = Checkpoint(log.name, len(many), many_tree.root()).text()
    write("tiles", "two-tiles", pack_files(tile_files(many, cp_many)))

    # Key texts.
    write("vkey", "verifier", log.verifier.vkey.encode())
    write("vkey", "cosigner", CosignerKey.of(witness).vkey.encode())
    write("vkey", "record-signer", submitter.verifier.vkey.encode())
    # The shape of a private key text, with no key in it (a 1-byte "key").
    write("vkey", "skey-shape", b"PRIVATE+KEY+no-key+00000000+AQ==")

    # Witness request bodies: from size 0, and a consistent extension (checkpoint unsigned:
    # the harness signs it with its log key).
    half = MemoryHashes([leaf_hash(e) for e in entries[: tree.size // 2]])
    proof = tuple(consistency_proof(half.size, tree.size, tree))
    write("witness", "from-zero", AddCheckpoint(0, (), cp.text().encode()).encode())
    write("witness", "extend", AddCheckpoint(half.size, proof, cp.text().encode()).encode())
    write("witness", "signed", AddCheckpoint(0, (), signed_cp).encode())
    write("witness", "cosignatures", format_cosignatures([cosig]))
    write("witness", "size", format_size(half.size))

    # Policy.
    policy = (
        f"log {log.verifier.vkey}\n"
        f"witness W1 {CosignerKey.of(witness).vkey} https://w1.example/\n"
        "group all-of-them all W1\nquorum all-of-them\n"
    )
    write("policy", "policy", policy.encode())
    write("policy", "none", f"log {log.verifier.vkey}\nquorum none\n".encode())

    # Agreement packages and scenarios: the examples, verbatim.
    for example in ("new-start", "singapore-2018"):
        write("package", example, (EXAMPLES / example / "agreement.yaml").read_bytes())
    for path in sorted((EXAMPLES / "new-start" / "scenarios").glob("*.yaml")):
        write("scenario", path.stem, path.read_bytes())

    # Table imports: the New START mapping with the head of its table.
    mapping = (EXAMPLES / "new-start" / "mapping.yaml").read_bytes()
    table = (EXAMPLES / "new-start" / "data" / "aggregates.csv").read_bytes()
    head = b"\n".join(table.split(b"\n")[:5]) + b"\n"
    write("csv", "new-start", pack_files({"mapping.yaml": mapping, "table.csv": head}))

    # A verdict over an empty log (the one the harness compares with) and one over the
    # ledger's checkpoint.
    pkg = parse_package((EXAMPLES / "new-start" / "agreement.yaml").read_text())
    empty = Checkpoint("fuzz.example/log", 0, EMPTY_ROOT)
    write("verdict", "empty", verdict_bytes(make_verdict(pkg, [], "2018-02-05", "now", empty)))
    write("verdict", "then", verdict_bytes(make_verdict(pkg, [], "2012-01-01", "then", empty)))

    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    digest = hashlib.sha256(b"".join(sorted(p.name.encode() for p in CORPUS.rglob("*"))))
    print(f"corpus: {sum(1 for _ in CORPUS.rglob('*'))} paths, {total:,} bytes", digest.hexdigest())


if __name__ == "__main__":
    main()
