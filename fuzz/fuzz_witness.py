"""Fuzz target: a witness's ``add-checkpoint`` request bodies
(:meth:`AddCheckpoint.parse`, :meth:`cvid.witness.witness.Witness.add_checkpoint`), and the
bodies a log reads back from a witness (``parse_cosignatures``, ``parse_size``).

The witness (in a temporary folder) knows the harness's log key. When the input's checkpoint
part is note text without signatures, the harness signs it with that key, so the request
reaches the size and consistency checks a real log's requests reach. ``add_checkpoint``
answers every request with a status; an exception out of it is a crash.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import tempfile
from pathlib import Path

from fuzzkit import fuzz, instrumented

with instrumented(__name__ == "__main__"):
    from cvid.errors import FormatError
    from cvid.tlog import note
    from cvid.witness.protocol import AddCheckpoint, parse_cosignatures, parse_size
    from cvid.witness.witness import Witness

LOG = note.Signer.generate("fuzz.example/log")
_DIR = Path(tempfile.mkdtemp(prefix="cvid-fuzz-witness-"))
atexit.register(shutil.rmtree, _DIR, True)
WITNESS = Witness.create(_DIR, "fuzz.example/witness")
WITNESS.state.add_log(LOG.name, LOG.verifier.vkey)


def one_input(data: bytes) -> None:
    head, sep, rest = data.partition(b"\n\n")
    body = data
    if sep and b"\n\n" not in rest:
        try:
            body = head + sep + note.sign(rest.decode("utf-8"), LOG).encode()
        except (UnicodeDecodeError, FormatError):
            body = data
    answer = WITNESS.add_checkpoint(body)
    assert 200 <= answer.status < 500, f"add-checkpoint answered {answer.status}"
    with contextlib.suppress(FormatError):
        AddCheckpoint.parse(data)
    with contextlib.suppress(FormatError):
        parse_cosignatures(data)
    parse_size(data)


if __name__ == "__main__":
    fuzz(one_input)
