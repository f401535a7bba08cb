"""Batch work over a whole log: the cyclic garbage collector paused while it runs.

Events, bodies, states and views are acyclic (frozen dataclasses, tuples, plain dicts), so
reference counting frees them; the cyclic collector's passes over a heap that grows with
the log only make a long replay slower per message (bench_replay: about 2× at 100,000
messages). A batch makes no cyclic garbage (``tests/test_batch.py`` checks a replay and an
assessment of a synthetic year).

When the batch ends, what it made is long-lived (the result, the parsed messages): it goes
straight to the collector's oldest generation (``gc.freeze`` then ``gc.unfreeze``, two
list splices) instead of being traversed by the young collections that the allocations
counted during the pause would otherwise start at once, and again when promoted. Nothing
is exempt from collection: the next full collection, which CPython starts when enough new
objects have survived, sees these objects like any other.

:func:`one_shot` is for a process that runs one batch command and exits (``csbm assess``,
``csbm replay``): the collector is off for its whole life, since what it reads, computes and
writes is freed by reference counting and the process ends after it.
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
            gc.freeze()  # every tracked object to the permanent generation (a splice)...
            gc.unfreeze()  # ...and from there to the oldest: the young counts start at 0
            gc.enable()


def one_shot() -> None:
    """This process runs one batch command and exits: no cyclic collection (see above)."""
    gc.disable()
