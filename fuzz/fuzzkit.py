"""What every harness under ``fuzz/`` shares.

A harness is a script ``fuzz/fuzz_<target>.py`` with a function ``one_input(data: bytes)``
that feeds ``data`` to one parser of outside input. :func:`refusing` wraps it: a
:class:`cvid.errors.Error` (``InputError``, ``FormatError``, ``VerificationError``, ...) is the
parser refusing the input cleanly; any other exception — a ``ValueError``, ``KeyError``,
``RecursionError``, an ``AssertionError`` from a harness's own round-trip check — propagates
and is a crash. Run as a script, a harness hands itself to atheris (libFuzzer's flags:
``-atheris_runs=N``, ``-max_len=N``, ``-timeout=S``, corpus directories); imported (the
regression test), nothing is instrumented and atheris is not needed.

Keys the harnesses sign with are generated when the harness starts: no key is stored here.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cvid.errors import Error

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "corpus"
REGRESSIONS = Path(__file__).resolve().parent / "regressions"

OneInput = Callable[[bytes], None]


def instrumented(main: bool) -> contextlib.AbstractContextManager[Any]:
    """Instrument the ``cvid`` modules imported inside for coverage when ``main`` (the harness
    runs as a script under atheris); otherwise do nothing."""
    if not main:
        return contextlib.nullcontext()
    import atheris

    return atheris.instrument_imports(include=["cvid"])


def refusing(one_input: OneInput) -> OneInput:
    """``one_input`` with cvid's own errors (a clean refusal) swallowed; all else propagates.

    With ``CVID_FUZZ_COLLECT=<folder>`` in the environment a crash does not stop the run: the
    first input of each distinct crash (exception type and the innermost ``cvid`` line) is
    written to the folder with its traceback, and fuzzing goes on. For exploring only: a run
    that collects reports no crash to libFuzzer.
    """
    collect = os.environ.get("CVID_FUZZ_COLLECT")
    seen: set[str] = set()

    def run(data: bytes) -> None:
        with contextlib.suppress(Error):
            if collect is None:
                one_input(data)
                return
            try:
                one_input(data)
            except Error:
                raise
            except Exception as exc:
                _collect(Path(collect), seen, exc, data)

    return run


def _collect(folder: Path, seen: set[str], exc: Exception, data: bytes) -> None:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/cvid/" in f.filename]
    where = f"{frames[-1].filename.rsplit('/cvid/', 1)[1]}:{frames[-1].lineno}" if frames else "?"
    key = f"{type(exc).__name__} {where}"
    if key in seen:
        return
    seen.add(key)
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(key.encode()).hexdigest()[:12]
    (folder / f"{name}.input").write_bytes(data)
    text = "".join(traceback.format_exception(exc))
    (folder / f"{name}.txt").write_text(f"{key}\n\n{text}", encoding="utf-8")


def fuzz(one_input: OneInput) -> None:
    """Hand the harness to atheris with the command line's libFuzzer flags; never returns."""
    import atheris

    atheris.Setup(sys.argv, refusing(one_input))
    atheris.Fuzz()


def text(data: bytes) -> str | None:
    """``data`` as UTF-8 text, or None when it is not (the callers read text, not bytes)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def pack_files(files: dict[str, bytes]) -> bytes:
    """Several named files in one fuzz input: (uint8 name length, name, uint32 size, bytes)*."""
    out = bytearray()
    for name, body in files.items():
        raw = name.encode()
        out += struct.pack(">B", len(raw)) + raw + struct.pack(">I", len(body)) + body
    return bytes(out)


def unpack_files(data: bytes) -> dict[str, bytes]:
    """The inverse of :func:`pack_files`; a truncated tail is dropped, a short body kept."""
    files: dict[str, bytes] = {}
    pos = 0
    while pos < len(data):
        n = data[pos]
        pos += 1
        name = data[pos : pos + n].decode("utf-8", "replace")
        pos += n
        if pos + 4 > len(data):
            break
        (size,) = struct.unpack_from(">I", data, pos)
        pos += 4
        files[name] = data[pos : pos + size]
        pos += size
    return files
