"""Errors of agreement packages: a package that cannot be loaded is bad input (exit 2)."""

from __future__ import annotations

from cvid.errors import InputError


class PackageError(InputError):
    """An agreement package that is malformed, contradicts itself or has a bad condition.

    The message names the package file, the line, the term or step and, for a CEL condition,
    the position in the expression.
    """
