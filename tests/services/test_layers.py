"""The layers hold (DESIGN.md, layout): services and exchange never import the CLI, the
CLI never reaches into a node's store (issue 9, item 3). Read from the source (ast)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "csbm"


def _modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def test_services_and_exchange_never_import_the_cli() -> None:
    offenders = [
        f"{path.relative_to(SRC)} imports {name}"
        for package in ("services", "exchange")
        for path in _modules(package)
        for name in _imports(path)
        if name == "csbm.cli" or name.startswith("csbm.cli.")
    ]
    assert _modules("services") and _modules("exchange")
    assert offenders == []


def test_exchange_never_imports_the_services() -> None:
    offenders = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in _modules("exchange")
        for name in _imports(path)
        if name.startswith("csbm.services")
    ]
    assert offenders == []


def _store_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(SRC)}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "store"
    ]


def test_the_cli_and_the_services_never_touch_a_nodes_store() -> None:
    uses = [u for package in ("cli", "services", "exchange") for p in _modules(package)
            for u in _store_uses(p)]  # fmt: skip
    assert uses == []


def test_the_store_check_sees_a_store_access() -> None:
    """The check above is not vacuous: it finds ``node.store`` where it is written."""
    assert _store_uses(SRC / "node.py")
