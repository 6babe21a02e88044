"""Key files: a private key is written owner-only and never replaced; both kinds read back."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from cvid.errors import FormatError, InputError
from cvid.keyfiles import read_signer, read_vkey, write_signer
from cvid.tlog.note import Signer

SIGNER = Signer("example.org/log", hashlib.sha256(b"log key").digest())


def test_private_key_file_is_owner_only_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "k"
    write_signer(SIGNER, path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text() == SIGNER.skey + "\n"
    assert read_signer(path) == SIGNER


def test_a_key_file_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "k"
    path.write_text("mine\n")
    with pytest.raises(InputError, match="refusing to overwrite"):
        write_signer(SIGNER, path)
    assert path.read_text() == "mine\n"
    with pytest.raises(InputError, match="cannot write private key"):
        write_signer(SIGNER, tmp_path / "no" / "such" / "dir" / "k")


def test_unreadable_or_wrong_private_key_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"cannot read private key .*missing"):
        read_signer(tmp_path / "missing")
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(InputError, match="not UTF-8"):
        read_signer(binary)
    vkey_file = tmp_path / "vkey"
    vkey_file.write_text(SIGNER.verifier.vkey + "\n")
    with pytest.raises(FormatError):
        read_signer(vkey_file)


def test_the_pure_signer_has_no_file_methods() -> None:
    # Key files are cvid.keyfiles' business; the tlog package touches no disk.
    assert not hasattr(SIGNER, "write") and not hasattr(type(SIGNER), "read")


def test_read_vkey_takes_text_or_a_file(tmp_path: Path) -> None:
    vkey = SIGNER.verifier.vkey
    assert read_vkey(vkey) == SIGNER.verifier
    path = tmp_path / "log.vkey"
    path.write_text(vkey + "\n")
    assert read_vkey(str(path)) == SIGNER.verifier
    with pytest.raises(InputError, match=r"cannot read verifier key file .*nope"):
        read_vkey(str(tmp_path / "nope"))
    path.write_text("not+a+vkey\n")
    with pytest.raises(FormatError):
        read_vkey(str(path))
