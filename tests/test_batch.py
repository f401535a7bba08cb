"""The batch context (``csbm._batch``): a batch makes no cyclic garbage, so pausing the
cyclic collector for it (and, for a one-shot command, for the whole process) loses nothing;
the objects a batch keeps go to the oldest generation, not to the young ones."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest

from csbm._batch import cyclic_gc_paused

ROOT = Path(__file__).resolve().parents[1]

_NO_GARBAGE = """
import gc, sys
from collections import Counter
from datetime import UTC, datetime
from csbm.rules.loader import load_pack
WHEN = datetime(2022, 1, 1, tzinfo=UTC)

def batch(size, seed):
    if sys.argv[1] == "replay":
        from bench.bench_replay import CODES, synthetic_year
        from csbm.procedures.base import Context
        from csbm.procedures.runner import replay
        from csbm.procedures.scenario import scenario_from_data
        ctx = Context(packs=(load_pack("vd2011"),), participants=tuple(CODES))
        raw = synthetic_year(size, seed=seed, notifications=1 / 3)
        result = replay(scenario_from_data({"events": raw}).events, ctx, WHEN)
        return len(result.cases) + len(result.findings)
    from bench.bench_assess import synthetic
    from csbm.domain.activity import Activity
    from csbm.rules.engine import assess
    activities = [Activity.model_validate(row) for row in synthetic(size, seed=seed)]
    return len(assess(activities, [load_pack("vd2011")], WHEN).activities)

batch(int(sys.argv[2]), 1)  # what is made once per process (schemas, caches) is not the batch's
gc.collect()
gc.set_debug(gc.DEBUG_SAVEALL)
made = batch(int(sys.argv[2]), 2)
gc.collect()
print(made, len(gc.garbage), Counter(type(o).__name__ for o in gc.garbage).most_common(5))
"""


@pytest.mark.parametrize(("batch", "size"), [("replay", 3000), ("assess", 2000)])
def test_a_batch_makes_no_cyclic_garbage(batch: str, size: int) -> None:
    """A replay of a year with a third notifications, an assessment of 2,000 activities:
    everything they make is freed by reference counting (run in a fresh interpreter, as
    a command runs)."""
    out = subprocess.run([sys.executable, "-c", _NO_GARBAGE, batch, str(size)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    made, garbage, kinds = out.stdout.split(" ", 2)
    assert int(made) >= size // 2  # a real batch, not an empty one
    assert int(garbage) == 0, kinds


def test_a_batch_pauses_the_collector_and_hands_its_objects_to_the_oldest_generation() -> None:
    gc.collect()
    assert gc.isenabled()
    with cyclic_gc_paused():
        assert not gc.isenabled()
        with cyclic_gc_paused():  # nested: still paused inside, not re-enabled by the inner
            pass
        assert not gc.isenabled()
        kept = [[i] for i in range(50_000)]
        assert gc.get_count()[0] > 10_000  # counted, not collected, while paused
    assert gc.isenabled()
    assert gc.get_count()[0] < 1_000  # the young generation starts again from nothing
    assert any(kept[0] is o for o in gc.get_objects(generation=2))


def test_cyclic_garbage_made_in_a_batch_is_still_collected() -> None:
    class Node:
        other: object = None

    with cyclic_gc_paused():
        a, b = Node(), Node()
        a.other, b.other = b, a
        del a, b
    assert gc.collect() >= 2


@pytest.mark.parametrize(("command", "collector"), [("assess", "False"), ("rules", "True")])
def test_one_shot_batch_commands_run_without_the_collector(command: str, collector: str) -> None:
    code = (
        "import gc, sys\n"
        "from csbm.cli import main as m\n"
        "m.run = lambda args: print(gc.isenabled()) or 0\n"
        f"sys.argv = ['csbm', {command!r}, '--help']\n"
        "m.main()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == collector
