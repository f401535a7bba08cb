"""Benchmarks, run by ``make bench`` (``python -m bench``); not part of ``make test``.

Each ``bench/bench_*.py`` module exposes ``NAME`` and ``run(quick: bool) -> dict``; the
dict is written to ``bench/results/<NAME>.json``. Every figure is reported with a ratio
against a baseline measured in the same run, never as a bare time.
"""
