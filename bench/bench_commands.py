"""The commands as a user runs them: process start, file in, output out (issue 8, item 9).

Each command runs in a fresh process (``python -m csbm ...``) with its output sent to a
file, and is measured by its wall time and its peak resident memory (``wait4``'s
``ru_maxrss``). Each is set against its engine measured in the same run, in this process,
on the same data (the ratio says what the shell costs on top of the engine):

* ``csbm assess FILE --json`` of 100,000 activities (10,000 with ``quick``), from JSON and
  from YAML — engine: :func:`csbm.rules.assess` on the validated activities;
* ``csbm replay FILE --json`` of 100,000 events, from JSON and from YAML — engine:
  :func:`csbm.procedures.runner.replay` on the parsed events, with the scenario's validation
  and the JSON output (``Replayed.json_chunks``) measured beside it in CPU seconds;
* ``csbm --help`` — baseline: ``python -c pass`` (the interpreter's own start).

Each row also gives ``read_seconds``: csbm's strict reader (``csbm.reader.read_document``)
parsing the file in this process -- JSON by the standard library's parser, YAML by yaml-rs
(Rust) when the text holds nothing that csbm leaves to libyaml. For each YAML file,
``yaml_compose_seconds`` is libyaml composing it (PyYAML's C parser and composer): what
the reader cost before yaml-rs, kept for comparison.

Targets (issue 8): assess of 10⁵ < 10 s and < 1 GB; replay of 10⁵ < 15 s, memory flat;
``csbm --help`` < 0.3 s.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bench.bench_assess import synthetic
from bench.bench_replay import synthetic_year
from csbm._batch import cyclic_gc_paused
from csbm.domain.activity import Activity
from csbm.procedures.runner import replay
from csbm.procedures.scenario import scenario_from_data
from csbm.reader import read_document
from csbm.rules import assess, load_pack
from csbm.services.replay import Replayed

NAME = "commands"
AT = "2026-01-01T00:00:00Z"
TARGETS = {"assess_seconds": 10.0, "assess_mb": 1024, "replay_seconds": 15.0, "help_seconds": 0.3}


class _Dumper(yaml.CSafeDumper):
    """libyaml's dumper writing every object out: the synthetic data shares lists and
    mappings (a calendar entry and its notification), which PyYAML would write as
    anchors and aliases, and csbm refuses those (``csbm.reader``)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _yaml(doc: Any) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False)


def _compose_seconds(path: Path) -> float:
    """The YAML floor: libyaml composing the file's nodes (PyYAML's C parser and
    composer, before any Python object is built), in this process, best of one."""
    text = path.read_text(encoding="utf-8")
    started = time.perf_counter()
    yaml.compose(text, Loader=yaml.CSafeLoader)
    return time.perf_counter() - started


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


_CPU: dict[str, float] = {}
"""CPU seconds (user + system) of the last command run, by its first argument."""

_GNU_TIME = "/usr/bin/time"


def _command(args: list[str], out: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``python -m csbm ARGS > out`` (its CPU seconds
    in :data:`_CPU`: on a shared machine the wall time counts other processes too).

    The peak is read by GNU time, which starts the command from its own small process:
    Linux keeps a process's peak RSS across ``exec``, so a command forked straight from
    this one (which holds the synthetic data: over 1 GB) would report this process's
    size as its own. Without GNU time, ``wait4``'s figure is kept, an upper bound."""
    command = [sys.executable, "-m", "csbm", *args]
    report = out.with_suffix(".time")
    wrapped = os.access(_GNU_TIME, os.X_OK)
    if wrapped:
        command = [_GNU_TIME, "-f", "%M %U %S", "-o", str(report), *command]
    with out.open("wb") as sink:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.PIPE)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    peak_mb = usage.ru_maxrss / 1024
    _CPU[args[0]] = usage.ru_utime + usage.ru_stime
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code != 0:
        raise RuntimeError(f"csbm {' '.join(args)} exited {code}: {stderr[-500:]}")
    if wrapped:
        kb, user, system = report.read_text(encoding="utf-8").split()[-3:]
        peak_mb = int(kb) / 1024
        _CPU[args[0]] = float(user) + float(system)
    return seconds, peak_mb


def _python_start() -> float:
    best = math.inf
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        best = min(best, time.perf_counter() - started)
    return best


def _help() -> dict[str, Any]:
    best = math.inf
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "csbm", "--help"], check=True, stdout=subprocess.DEVNULL
        )
        best = min(best, time.perf_counter() - started)
    base = _python_start()
    return {
        "seconds": round(best, 3),
        "baseline_python_start_seconds": round(base, 3),
        "ratio_to_baseline": round(best / base, 2),
    }


def _assess_rows(n: int, work: Path) -> list[dict[str, Any]]:
    raw = [_plain(r) for r in synthetic(n)]
    files = {"json": work / "activities.json", "yaml": work / "activities.yaml"}
    files["json"].write_text(json.dumps({"activities": raw}), encoding="utf-8")
    files["yaml"].write_text(_yaml({"activities": raw}), encoding="utf-8")
    pack = load_pack("vd2011")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    started = time.perf_counter()
    activities = [Activity.model_validate(r) for r in raw]
    validate = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    assess(activities, [pack], at)
    engine = time.perf_counter() - started
    engine_cpu = time.process_time() - cpu
    rows = []
    for fmt, path in files.items():
        seconds, mb = _command(
            ["assess", str(path), "--regime", "vd2011", "--at", AT, "--json"], work / "out.json"
        )
        rows.append(
            {
                "command": f"csbm assess ({fmt}) --json",
                "items": n,
                "file_mb": round(path.stat().st_size / 2**20, 1),
                "seconds": round(seconds, 2),
                "cpu_seconds": round(_CPU["assess"], 2),
                "peak_mb": round(mb),
                "engine_seconds": round(engine, 2),
                "engine_cpu_seconds": round(engine_cpu, 2),
                "validation_seconds": round(validate, 2),
                "read_seconds": _read_seconds(path),
                "ratio_to_engine": round(seconds / engine, 2),
                "output_mb": round((work / "out.json").stat().st_size / 2**20, 1),
                **_floor(fmt, path),
            }
        )
    return rows


def _replay_rows(n: int, work: Path) -> list[dict[str, Any]]:
    """``csbm replay FILE --json`` against its engine, in this process on the same file:
    the scenario validated (``scenario_from_data``, the JSON already parsed), the replay
    (:func:`replay`: the engine) and the JSON written (``Replayed.json_chunks`` to
    /dev/null), each in CPU seconds (the machine is shared: wall time counts others too)
    and without the cyclic collector, as the command runs (``csbm._batch``), and the
    engine also in wall seconds; the command in wall and CPU seconds."""
    events = synthetic_year(n)
    doc = {"regime": ["vd2011"], "events": events}
    files = {"json": work / "scenario.json", "yaml": work / "scenario.yaml"}
    files["json"].write_text(json.dumps(doc), encoding="utf-8")
    files["yaml"].write_text(_yaml(doc), encoding="utf-8")
    data = json.loads(files["json"].read_text("utf-8"))
    cpu = time.process_time()
    with cyclic_gc_paused():  # as in the command, which runs without the cyclic collector
        scenario = scenario_from_data(data)
    load_cpu = time.process_time() - cpu
    clock = datetime(2022, 6, 1, tzinfo=UTC)
    started, cpu = time.perf_counter(), time.process_time()
    result = replay(scenario.events, scenario.context, clock)
    engine = time.perf_counter() - started
    engine_cpu = time.process_time() - cpu
    cpu = time.process_time()
    with cyclic_gc_paused(), open(os.devnull, "wb") as sink:
        for chunk in Replayed(result, scenario).json_chunks():
            sink.write(chunk)
    output_cpu = time.process_time() - cpu
    del data, scenario, result
    rows = []
    for fmt, path in files.items():
        seconds, mb = _command(
            ["replay", str(path), "--at", "2022-06-01T00:00:00Z", "--json"], work / "out.json"
        )
        rows.append(
            {
                "command": f"csbm replay ({fmt}) --json",
                "items": len(events),
                "file_mb": round(path.stat().st_size / 2**20, 1),
                "seconds": round(seconds, 2),
                "cpu_seconds": round(_CPU["replay"], 2),
                "peak_mb": round(mb),
                "engine_seconds": round(engine, 2),
                "engine_cpu_seconds": round(engine_cpu, 2),
                "validation_cpu_seconds": round(load_cpu, 2),
                "output_cpu_seconds": round(output_cpu, 2),
                "ratio_to_engine": round(seconds / engine, 2),
                "cpu_ratio_to_engine": round(_CPU["replay"] / engine_cpu, 2),
                "output_mb": round((work / "out.json").stat().st_size / 2**20, 1),
                **_floor(fmt, path),
            }
        )
    return rows


def _read_seconds(path: Path) -> float:
    """csbm's strict reader parsing ``path`` in this process (best of one)."""
    started = time.perf_counter()
    read_document(path)
    return round(time.perf_counter() - started, 2)


def _floor_text(row: dict[str, Any]) -> str:
    floor = row.get("yaml_compose_seconds")
    read = row.get("read_seconds")
    text = "" if read is None else f"; read {read} s"
    return text if floor is None else f"{text}, libyaml compose alone {floor} s"


def _floor(fmt: str, path: Path) -> dict[str, Any]:
    """For a YAML file, libyaml's composing time of it (the floor under a YAML reader
    that builds on PyYAML's C composer, as ``csbm.reader`` did before yaml-rs)."""
    if fmt != "yaml":
        return {}
    return {"yaml_compose_seconds": round(_compose_seconds(path), 2)}


def run(quick: bool = False) -> dict[str, Any]:
    n = 10_000 if quick else 100_000
    with tempfile.TemporaryDirectory(prefix="csbm-bench-") as tmp:
        work = Path(tmp)
        assess_rows = _assess_rows(n, work)
        replay_rows = _replay_rows(n, work)
        small_replay = _replay_rows(n // 10, work) if not quick else []
    help_row = _help()
    largest_assess = max(r["seconds"] for r in assess_rows)
    largest_replay = max(r["seconds"] for r in replay_rows)
    peak_assess = max(r["peak_mb"] for r in assess_rows)
    flat = None
    if small_replay:
        per_small = max(r["peak_mb"] for r in small_replay) / small_replay[0]["items"]
        per_large = max(r["peak_mb"] for r in replay_rows) / replay_rows[0]["items"]
        flat = round(per_large / per_small, 3)
    met = quick or (
        largest_assess < TARGETS["assess_seconds"]
        and peak_assess < TARGETS["assess_mb"]
        and largest_replay < TARGETS["replay_seconds"]
        and help_row["seconds"] < TARGETS["help_seconds"]
    )
    return {
        "name": NAME,
        "rows": [*assess_rows, *replay_rows, *small_replay],
        "help": help_row,
        "replay_peak_mb_per_item_growth_10x": flat,
        "targets": TARGETS,
        "targets_met": met,
        "summary": (
            f"assess {n:,}: "
            + ", ".join(
                f"{r['command'].split()[2]} {r['seconds']} s ({r['cpu_seconds']} s CPU)/"
                f"{r['peak_mb']} MB (×{r['ratio_to_engine']} engine{_floor_text(r)})"
                for r in assess_rows
            )
            + f"; replay {replay_rows[0]['items']:,}: "
            + ", ".join(
                f"{r['command'].split()[2]} {r['seconds']} s/{r['peak_mb']} MB "
                f"(×{r['ratio_to_engine']} engine{_floor_text(r)})"
                for r in replay_rows
            )
            + f"; --help {help_row['seconds']} s"
        ),
    }
