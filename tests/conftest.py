"""Shared fixtures. Database fixtures (SQLite and PostgreSQL) live in tests/store/conftest.py
and tests/ledger/conftest.py; every storage test runs on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The vendored test vectors (tests/vectors, each with its licence and provenance);
    the suite reads nothing outside the repository."""
    return VECTORS


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests read English output whatever the machine's locale (LANG=de_DE… on a desk);
    the translation tests set CSBM_LANG themselves."""
    monkeypatch.setenv("CSBM_LANG", "en")
