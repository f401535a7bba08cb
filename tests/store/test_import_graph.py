"""The layers' import graph (DESIGN.md, "Layers"): ``csbm.store`` depends on
``csbm.ledger`` and never the other way, and neither reaches up to the node, the
procedures or the shells. Every import counts: at module level, inside functions and
under ``TYPE_CHECKING`` (issue 9, item 4: "``ledger`` and ``store`` import each other")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "csbm"
HIGHER = ("csbm.node", "csbm.cli", "csbm.procedures", "csbm.demo_network", "csbm.projection")


def _module(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module the file at ``path`` imports, resolved to absolute dotted names."""
    package = _module(path) if path.name == "__init__.py" else _module(path).rsplit(".", 1)[0]
    return imports_in(path.read_text(encoding="utf-8"), package)


def imports_in(source: str, package: str) -> set[str]:
    """Every module ``source`` (a module of ``package``) imports, wherever the import is."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.add(name)
            out.update(f"{name}.{alias.name}" for alias in node.names)
    return out


def _files(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


def _offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{_module(path)} imports {name}"
        for path in _files(package)
        for name in sorted(imports_of(path))
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]


def test_the_ledger_never_imports_the_store() -> None:
    assert _files("ledger"), "no ledger modules found"
    assert _offenders("ledger", ("csbm.store",)) == []


def test_the_store_depends_on_the_ledger_only_downwards() -> None:
    uses = {n for path in _files("store") for n in imports_of(path)}
    assert any(n.startswith("csbm.ledger") for n in uses)  # the graph sees real imports
    assert _offenders("store", HIGHER) == []


@pytest.mark.parametrize("package", ["ledger", "store"])
def test_no_reach_up_to_the_node_or_the_shells(package: str) -> None:
    assert _offenders(package, HIGHER) == []


def test_the_checker_sees_hidden_imports() -> None:
    """Imports under TYPE_CHECKING, inside functions, and relative ones are all seen."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from csbm.store.log import LedgerStore\n"
        "def f():\n    import csbm.store.engine\n"
        "from ..store import records\n"
    )
    found = imports_in(source, "csbm.ledger")
    assert {"csbm.store.log", "csbm.store.engine", "csbm.store", "csbm.store.records"} <= found
