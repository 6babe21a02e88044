"""Each package's public face is its ``__all__``: every name listed exists and is documented,
and (read from the source, AST-based) modules of other packages import from a package only
names in its ``__all__``, from the package itself, not from its submodules.

None may go around a face: a package's ``__init__`` imports its names lazily
(:mod:`cvid._lazy`), so importing from the face costs no more than from the submodule.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGES = sorted(
    p.parent.relative_to(SRC).as_posix().replace("/", ".")
    for p in (SRC / "cvid").glob("*/__init__.py")
)


@pytest.mark.parametrize("name", PACKAGES)
def test_the_package_lists_its_surface_and_every_name_exists(name: str) -> None:
    if name in ("cvid.web", "cvid.view"):
        pytest.importorskip("fastapi")
    module = importlib.import_module(name)
    assert module.__doc__, f"{name} has no docstring"
    surface = getattr(module, "__all__", None)
    assert isinstance(surface, list), f"{name} has no __all__ list"
    assert len(surface) == len(set(surface)), f"{name}.__all__ names a name twice"
    for item in surface:
        obj = getattr(module, item)  # AttributeError: listed but missing
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), f"{name}.{item} has no docstring"


def _cross_imports() -> set[str]:
    """``importer -> package.submodule.name`` for each import across packages that does not
    go through the package's face (a submodule, or a name not in its ``__all__``)."""
    faces: dict[str, set[str]] = {}
    for pkg in PACKAGES:
        tree = ast.parse((SRC / pkg.replace(".", "/") / "__init__.py").read_text())
        names: set[str] = set()
        for node in tree.body:
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                    value = node.value
                    if isinstance(value, ast.List | ast.Tuple):
                        names |= {e.value for e in value.elts if isinstance(e, ast.Constant)}
        faces[pkg] = names
    found: set[str] = set()
    for path in sorted((SRC / "cvid").rglob("*.py")):
        mod = path.relative_to(SRC).with_suffix("").as_posix().replace("/", ".")
        mod = mod.removesuffix(".__init__")
        home = ".".join(mod.split(".")[:2])
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):  # import cvid.pkg.submodule [as name]
                for alias in node.names:
                    pkg = ".".join(alias.name.split(".")[:2])
                    if pkg in faces and pkg != home and alias.name != pkg:
                        found.add(f"{home} -> {alias.name}")
                continue
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            assert not node.level, f"{mod}: a relative import ({ast.unparse(node)})"
            target = node.module
            pkg = ".".join(target.split(".")[:2])
            if pkg not in faces or pkg == home:
                continue
            if target == pkg:
                for alias in node.names:
                    if alias.name not in faces[pkg]:
                        found.add(f"{home} -> {pkg}.{alias.name}")
            else:
                found.add(f"{home} -> {target}")
    return found


def test_other_packages_import_only_a_package_s_face() -> None:
    found = sorted(_cross_imports())
    assert not found, "imports around a package's __all__:\n" + "\n".join(found)


def _lazy_surface(pkg: str) -> dict[str, tuple[str, str]] | None:
    """``public -> (home, attr)`` from the ``if TYPE_CHECKING:`` imports of a lazy face."""
    tree = ast.parse((SRC / pkg.replace(".", "/") / "__init__.py").read_text())
    if not any(isinstance(n, ast.Expr) and "_lazy.install" in ast.unparse(n) for n in tree.body):
        return None
    found: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.module, ast.unparse(imp)
                for alias in imp.names:
                    if imp.module == pkg:  # a submodule on the face: (home, "")
                        found[alias.asname or alias.name] = (f"{pkg}.{alias.name}", "")
                    else:
                        found[alias.asname or alias.name] = (imp.module, alias.name)
    return found


LAZY = [p for p in PACKAGES if _lazy_surface(p) is not None]


def test_the_lazy_faces_are_the_ones_made_lazy() -> None:
    # So that the test below cannot pass by finding none.
    assert {
        "cvid.accountancy",
        "cvid.agreements",
        "cvid.evidence",
        "cvid.store",
        "cvid.tlog",
        "cvid.witness",
    } <= set(LAZY)


@pytest.mark.parametrize("name", LAZY)
def test_a_lazy_face_imports_what_it_names_for_type_checkers(name: str) -> None:
    """The names installed are exactly those imported under TYPE_CHECKING, each resolving to
    its home module's object, and all of them are in ``__all__``."""
    static = _lazy_surface(name)
    assert static is not None
    module = importlib.import_module(name)
    assert module.__dict__["_cvid_lazy"] == static
    for public, (home, attr) in static.items():
        assert public in module.__all__, f"{name}.{public} is installed but not in __all__"
        found = importlib.import_module(home)
        assert getattr(module, public) is (getattr(found, attr) if attr else found)


def test_a_lazy_face_loads_only_the_submodule_asked_for() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from cvid.evidence import Quantity; "
        "print(int('cvid.evidence.ledger' in sys.modules), int('cvid.store' in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "0"]


def test_a_name_shared_with_its_submodule_stays_the_function() -> None:
    import subprocess
    import sys

    # The submodule imported first (the import system then binds it on the package): the face
    # still gives the function, as the eager ``from .timeline import timeline`` did.
    code = (
        "import cvid.agreements.timeline, cvid.accountancy.sitmuf; "
        "import cvid.agreements as a, cvid.accountancy as b; "
        "print(callable(a.timeline), type(a.timeline).__name__, type(b.sitmuf).__name__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "function", "function"]
