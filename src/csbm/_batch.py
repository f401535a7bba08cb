"""Batch work over a whole log: the cyclic garbage collector paused while it runs.

Events, bodies, states and views are acyclic (frozen dataclasses, tuples, plain dicts), so
reference counting frees them; the cyclic collector's full passes over a heap that grows
with the log only make a long replay slower per message (bench_replay: about 2× at 100,000
messages). Anything cyclic made meanwhile is collected once the collector runs again.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
