"""Package faces that import their submodules when a name is first asked for (PEP 562).

A package's ``__init__`` names its surface once, module by module::

    from cvid._lazy import install

    install(__name__, {"cvid.evidence.record": ["Record", "Kind"], ...})

(and imports the same names under ``TYPE_CHECKING`` for type checkers and readers; a test keeps
the two lists equal). ``from cvid.evidence import Record`` then loads ``cvid.evidence.record``
only, so ``cvid status`` does not pay for the ledger's writer, the HTTP client or the report
(issue 11), and a package may import another's face without an import cycle through its
``__init__``.

A face name equal to a submodule's name (``cvid.agreements.timeline``, the function in the
module of that name) keeps meaning the function, as an eager ``from m import f`` in
``__init__`` would: when the import system binds the submodule on its package, the package
binds the name to the submodule's attribute instead.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Mapping, Sequence


class _Face(types.ModuleType):
    """A package module whose listed names are imported on first use."""

    def __getattr__(self, name: str) -> object:
        lazy: dict[str, tuple[str, str]] = self.__dict__.get("_cvid_lazy", {})
        found = lazy.get(name)
        if found is None:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        home, attr = found
        module = importlib.import_module(home)
        value = getattr(module, attr) if attr else module
        self.__dict__[name] = value  # once: the next lookup is a plain attribute
        return value

    def __setattr__(self, name: str, value: object) -> None:
        lazy: dict[str, tuple[str, str]] = self.__dict__.get("_cvid_lazy", {})
        found = lazy.get(name)
        # The submodule ``timeline`` binds the function of that name (not a submodule entry).
        if isinstance(value, types.ModuleType) and found and found == (value.__name__, found[1]):
            value = getattr(value, found[1]) if found[1] else value
        super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        return sorted(set(self.__dict__) | set(self.__dict__.get("_cvid_lazy", {})))


def install(package: str, surface: Mapping[str, Sequence[str | tuple[str, str]]]) -> None:
    """Make ``package`` (a ``__name__``) import each submodule's listed names on first use.

    A name is a string, or ``(public, attr)`` for ``from home import attr as public``, or
    ``(public, "")`` for the submodule ``home`` itself (``from package import submodule``).
    """
    module = sys.modules[package]
    lazy: dict[str, tuple[str, str]] = {}
    for home, names in surface.items():
        for item in names:
            public, attr = (item, item) if isinstance(item, str) else item
            if public in lazy:
                raise ValueError(f"{package}: {public!r} listed twice")
            lazy[public] = (home, attr)
    module.__class__ = _Face
    module.__dict__["_cvid_lazy"] = lazy
    for public, (home, attr) in lazy.items():
        # A submodule imported before install (a cycle) is bound already: rebind its name.
        loaded = module.__dict__.get(public)
        if isinstance(loaded, types.ModuleType) and loaded.__name__ == home and attr:
            module.__dict__[public] = getattr(loaded, attr)
