"""Fuzz target: a served tiles tree — hash tiles and entry bundles — audited
(:func:`cvid.audit.audit` over :class:`cvid.transport.MemoryTransport`).

The input packs several files (:func:`fuzzkit.pack_files`): ``checkpoint`` holds checkpoint
*text*, which the harness signs with its log key (a fuzzer cannot forge a signature, and the
audit stops at a bad one); ``tile/...`` files are served as given. Entry bundles and tiles
are also decoded on their own.
"""

from __future__ import annotations

from fuzzkit import fuzz, instrumented, unpack_files

with instrumented(__name__ == "__main__"):
    from cvid.audit import TileSource, audit
    from cvid.errors import FormatError
    from cvid.tlog import note
    from cvid.tlog.tiles import decode_bundle, parse_path, split_hashes
    from cvid.transport import MemoryTransport

SIGNER = note.Signer.generate("fuzz.example/log")


def one_input(data: bytes) -> None:
    files = unpack_files(data)
    served: dict[str, bytes] = {}
    for name, body in files.items():
        if name == "checkpoint":
            served[name] = note.sign(body.decode("utf-8", "replace"), SIGNER).encode()
            continue
        served[name] = body
        try:
            entries, tile = parse_path(name)
        except FormatError:  # a name that is no tile path is served as is
            continue
        if entries:
            decode_bundle(body, name)
        elif len(body) == tile.width * 32:
            split_hashes(body, tile)
    if "checkpoint" not in served:
        return
    with TileSource("fuzz", MemoryTransport(served)) as source:
        report = audit(source, SIGNER.verifier)
    assert report.ok or report.problems


if __name__ == "__main__":
    fuzz(one_input)
