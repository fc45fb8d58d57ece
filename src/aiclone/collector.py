"""Garbage-collector settings of a serving process: the start-up heap is frozen, once.

CPython's full collection walks every tracked container object. A started app holds several
hundred thousand of them (modules, classes, functions, SQLAlchemy's and Litestar's structures,
the OpenAPI model) that live as long as the process; with 3,000 open event streams each full
collection also walked all of those and paused the event loop for 0.5-0.6 s
(bench/streams_scale.py). :func:`freeze_startup_heap` collects once and then moves every
surviving object to the collector's permanent generation (``gc.freeze``), so later
collections walk only what was made after start-up: the streams, requests and caches.

Objects frozen here are still freed by reference counting; only a reference cycle among them
would never be reclaimed, which is why it runs once per process, right after start-up, when the
heap holds the app itself and little else.

Before that, :func:`pause_until_frozen` keeps the collector off while the process imports and
builds the app: the automatic collections of a start-up (0.15-0.23 s of a restart) walk a heap
that is almost all permanent and find fewer than a hundred garbage objects.
"""

from __future__ import annotations

import gc

_frozen = False
_paused = False


def pause_until_frozen() -> None:
    """Turn automatic collection off until :func:`freeze_startup_heap` runs in this process."""
    global _paused  # noqa: PLW0603 - process-wide, like the collector itself
    if not _frozen and gc.isenabled():
        gc.disable()
        _paused = True


def freeze_startup_heap() -> None:
    """Collect, then freeze what survives; the second and later calls in a process do nothing."""
    global _frozen  # noqa: PLW0603 - once per process, whatever number of apps it builds
    if _frozen:
        return
    _frozen = True
    gc.collect()
    gc.freeze()
    if _paused:
        gc.enable()
