"""``csbm serve`` runs uvicorn on the C HTTP parser (httptools) and loop (uvloop), both
pinned dependencies, chosen explicitly rather than left to uvicorn's "auto" (issue 11,
item 9: a delivery's HTTP request costs a node less CPU)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from csbm.node import init_node


def test_serve_chooses_httptools_and_uvloop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from csbm.cli.main import app

    init_node("LT", datetime(2026, 3, 1, tzinfo=UTC), data=tmp_path / "LT").close()
    seen: dict[str, Any] = {}

    def run(server: uvicorn.Server, *args: Any, **kwargs: Any) -> None:
        seen["config"] = server.config

    monkeypatch.setattr(uvicorn.Server, "run", run)
    result = CliRunner().invoke(app, ["serve", "--data", str(tmp_path / "LT"), "--port", "8999"])
    assert result.exit_code == 0, result.output
    config = seen["config"]
    assert config.http == "httptools" and config.loop == "uvloop"
    config.load()  # both importable: installed from the pins
    assert config.http_protocol_class.__module__.endswith("httptools_impl")
