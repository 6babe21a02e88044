"""The error tree of cvid.

::

    Error                      anything cvid reports to a person instead of a traceback
    ├── InputError             bad input: malformed file, bad signature, oversized entry (exit 2)
    │   └── FormatError        a note, checkpoint, tile, proof or receipt that does not parse
    ├── VerificationError      a proof, signature or audit that does not hold (exit 1)
    └── StoreError             the store refused an operation or is inconsistent

Every error carries the text a person reads, via :meth:`Error.diagnostics`, naming what is wrong
and where.
"""

from __future__ import annotations


class Error(Exception):
    """Base of every error cvid raises on purpose; ``diagnostics()`` is what a person reads."""

    exit_code: int = 2

    def diagnostics(self) -> str:
        """Return the message for a person: what is wrong and where."""
        return str(self)


class InputError(Error):
    """Bad input from the user: the command changes nothing and exits 2."""

    exit_code = 2


class FormatError(InputError):
    """A note, checkpoint, tile, proof or receipt that does not follow its format."""


class VerificationError(Error):
    """A proof, signature, consistency or audit check failed: a finding, exit 1."""

    exit_code = 1


class StoreError(Error):
    """The log store refused an operation (append-only rules, a checkpoint that would fork)."""

    exit_code = 2
