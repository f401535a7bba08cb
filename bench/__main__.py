"""Run the benchmarks: ``python -m bench [--only NAME ...] [--quick] [--soak]``."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import platform
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def _modules() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))


def resolve(names: list[str], known: list[str]) -> list[str]:
    """The benchmark modules named: ``bench_network`` or its result's name ``network``
    (as ``bench/results/network.json`` says it). An unknown name is refused with the
    names there are (``ValueError``)."""
    chosen = []
    for name in names:
        module = name if name.startswith("bench_") else f"bench_{name}"
        if module not in known:
            raise ValueError(f"no benchmark {name!r}; there are: {', '.join(known)}")
        chosen.append(module)
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "--only", nargs="*", default=None, help="benchmarks (bench_assess or assess ...)"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--soak", action="store_true", help="long soak runs where a module has them"
    )
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    try:
        names = resolve(args.only, _modules()) if args.only else _modules()
    except ValueError as exc:
        parser.error(str(exc))  # exit code 2, with the names there are
    summary: dict[str, Any] = {"machine": platform.platform(), "python": sys.version.split()[0]}
    failed = False
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        started = time.perf_counter()
        kwargs: dict[str, Any] = {"quick": args.quick}
        if args.soak and getattr(module, "HAS_SOAK", False):
            kwargs["soak"] = True
        result: dict[str, Any] = module.run(**kwargs)
        result["wall_seconds"] = round(time.perf_counter() - started, 3)
        out = RESULTS / f"{module.NAME}.json"
        out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        summary[module.NAME] = {"file": str(out.relative_to(RESULTS.parent.parent))}
        verdict = result.get("targets_met")
        if verdict is False:
            failed = True
        print(f"{module.NAME}: {result.get('summary', '')} -> {out}", flush=True)
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
