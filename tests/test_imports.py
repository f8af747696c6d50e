"""The import graph of ``musiclm``: packages form layers, nothing imports back up.

Imports inside functions count too: a lazy import is still a dependency, only a later one.
Only imports under ``if TYPE_CHECKING:`` are left out: they never run, they only name a type
for the checker (how :mod:`musiclm.continuation` names the ``MusicLM`` that calls it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import musiclm

ROOT = Path(musiclm.__file__).resolve().parent


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _without_type_checking(tree: ast.Module) -> ast.Module:
    """The tree less its ``if TYPE_CHECKING:`` blocks (their ``else`` branches kept)."""

    class Drop(ast.NodeTransformer):
        def visit_If(self, node: ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                return node.orelse or None
            return self.generic_visit(node)

    return Drop().visit(tree)


def _imports(path: Path) -> set[str]:
    """``musiclm`` modules a file imports, anywhere in it (names resolved to modules)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out = set()
    for node in ast.walk(_without_type_checking(tree)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in out if m == "musiclm" or m.startswith("musiclm.")}


def graph() -> dict[str, set[str]]:
    """Module -> the ``musiclm`` modules it imports (only those that exist)."""
    files = {_module(p): p for p in ROOT.rglob("*.py")}
    return {m: {i for i in _imports(p) if i in files and i != m} for m, p in files.items()}


def unit(module: str) -> str:
    """The package a module belongs to: ``musiclm.stages.lm`` -> ``musiclm.stages``; the
    top-level modules (``musiclm.pipeline``, ``musiclm.tokens``) are units of their own."""
    parts = module.split(".")
    is_package = (ROOT.parent / Path(*parts) / "__init__.py").exists()
    if len(parts) >= 3 or (len(parts) == 2 and is_package):
        return ".".join(parts[:2])
    return module


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_package_imports_one_that_imports_it_back():
    packages: dict[str, set[str]] = {}
    for m, deps in graph().items():
        if m == "musiclm":  # the package's face hands names on lazily
            continue
        packages.setdefault(unit(m), set()).update(
            unit(d) for d in deps if unit(d) != unit(m) and d != "musiclm"
        )
    assert _cycles(packages) == []


def test_no_module_imports_one_that_imports_it_back():
    g = {m: deps - {"musiclm"} for m, deps in graph().items() if m != "musiclm"}
    assert _cycles(g) == []


@pytest.mark.parametrize(
    "low, high",
    [
        ("musiclm.tokens", "musiclm.tokenize"),
        ("musiclm.tokens", "musiclm.stages"),
        ("musiclm.theory", "musiclm.data"),
        ("musiclm.theory", "musiclm.stages"),
        ("musiclm.analysis", "musiclm.eval"),
        ("musiclm.analysis", "musiclm.pipeline"),
    ],
)
def test_shared_low_modules_import_none_of_their_users(low, high):
    g = graph()
    if low not in g:
        pytest.skip(f"{low} does not exist yet")
    assert not {d for d in g[low] if unit(d) == high}


def test_the_generate_path_runs_top_to_bottom():
    """From the pipeline down, every module's imports lie below it: the modules reached
    from ``musiclm.pipeline`` can be ordered so that each only imports earlier ones."""
    g = graph()
    seen, order = set(), []

    def down(m: str, path: tuple[str, ...]) -> None:
        assert m not in path, f"import loop: {' -> '.join(path + (m,))}"
        if m in seen:
            return
        for d in sorted(g[m] - {"musiclm"}):
            down(d, path + (m,))
        seen.add(m)
        order.append(m)

    down("musiclm.pipeline", ())
    assert order[-1] == "musiclm.pipeline"
    assert "musiclm.training.trainer" not in seen  # generating needs no trainer


def test_only_type_checking_imports_are_left_out(tmp_path):
    src = (
        "from typing import TYPE_CHECKING\n"
        "import musiclm.io\n"
        "if TYPE_CHECKING:\n    from musiclm.pipeline import MusicLM\n"
        "else:\n    from musiclm import theory\n"
        "def f():\n    from musiclm.eval import music\n"
    )
    tree = _without_type_checking(ast.parse(src))
    names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert names == {"typing", "musiclm.io", "musiclm", "musiclm.eval"}
