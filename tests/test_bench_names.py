"""``python -m bench --only``: a benchmark is named by its module or by its result's name,
and an unknown name is refused with the names there are (exit code 2), not a traceback."""

from __future__ import annotations

import pytest
from bench.__main__ import _modules, main, resolve


def test_names_by_module_or_result() -> None:
    known = _modules()
    assert "bench_network" in known and "bench_replay" in known
    assert resolve(["network", "bench_replay"], known) == ["bench_network", "bench_replay"]


def test_unknown_name_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="no benchmark 'netwrk'"):
        resolve(["netwrk"], _modules())
    with pytest.raises(SystemExit) as exc:
        main(["--only", "netwrk"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "no benchmark 'netwrk'" in err and "bench_network" in err
