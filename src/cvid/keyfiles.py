"""Key files: private signing keys and verifier keys on disk.

The text of a key is parsed and written by the pure :mod:`cvid.tlog.note`
(:meth:`~cvid.tlog.note.Signer.from_skey`, :attr:`~cvid.tlog.note.Signer.skey`,
:meth:`~cvid.tlog.note.Verifier.from_vkey`); this module is the only place that reads or writes
the files holding it::

    from pathlib import Path
    from cvid.keyfiles import read_signer, write_signer
    from cvid.tlog.note import Signer

    write_signer(Signer.generate("us-declarations"), Path("us.key"))   # mode 0600, never replaces
    signer = read_signer(Path("us.key"))

A private key file holds one line, the key text as Go's ``note.GenerateKey`` writes it; a
verifier key file holds the ``name+hexid+base64key`` line. Every failure is an
:class:`~cvid.errors.InputError` naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path

from cvid.errors import InputError
from cvid.tlog import Signer, Verifier

__all__ = ["read_signer", "read_vkey", "write_signer"]


def write_signer(signer: Signer, path: Path) -> None:
    """Write ``signer``'s private key text to a new file readable by its owner only (0600).

    Never replaces a file: :class:`InputError` if ``path`` exists or cannot be created. The
    mode is set when the file is created, so the key is never readable by others, not even
    for a moment.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(f"{path} exists; refusing to overwrite a key") from None
    except OSError as exc:
        raise InputError(f"cannot write private key {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as f:
        f.write(signer.skey + "\n")


def read_signer(path: Path) -> Signer:
    """The signer in a private key file written by :func:`write_signer` (or Go's ``note``).

    :class:`InputError` if it cannot be read; :class:`~cvid.errors.FormatError` if its text is
    not an Ed25519 private key.
    """
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InputError(f"cannot read private key {path}: {reason}") from None
    return Signer.from_skey(text)


def read_vkey(value: str) -> Verifier:
    """A verifier from vkey text, or from a file holding it (``--vkey`` takes either).

    ``value`` is read as a file name when it has no ``+`` (no vkey text does) or names an
    existing file. :class:`InputError` naming the file if it cannot be read;
    :class:`~cvid.errors.FormatError` if the text is not a verifier key.
    """
    path = Path(value)
    if "+" not in value or path.is_file():
        try:
            value = path.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise InputError(f"cannot read verifier key file {value}: {reason}") from None
    return Verifier.from_vkey(value)
