"""Shutdown drain: an instance that is stopping says so, instead of refusing connections.

Both servers stop listening the moment they handle SIGTERM (uvicorn closes its sockets before it
waits for running requests; granian's parent stops its workers, which drop the listener). A load
balancer that has not yet noticed would then see refused connections. So the stop signal is
held back (``aiclone.serving``), and the timeline is:

``t0`` (SIGTERM or SIGINT)
    The serving process tells every app process to drain (:data:`DRAIN_SIGNAL`; a process
    where nothing listens for it ignores it) and keeps the signal from the server.
``t0 … t0 + AICLONE_SHUTDOWN_DRAIN_SECONDS``
    The listener stays open. Every new request, ``/health/ready`` included, is answered ``503``
    with the ``shutting-down`` problem, ``Retry-After`` and ``Connection: close``, so the load
    balancer takes the instance out and clients retry elsewhere. Requests already running go
    on; their responses carry ``Connection: close``.
``t0 + drain``
    The server gets the signal: it stops listening and waits for running requests.
``t0 + drain + AICLONE_SHUTDOWN_GRACE_SECONDS``
    A request that still has not started its response is cancelled here and answered ``503``
    ``shutting-down`` (the server's own grace is set a little longer, so it never gets to cut
    one with its plain-text 500). A response already streaming is left to the server.

Event streams end when the drain begins (the app factory registers the stream hub's shutdown
with :meth:`ShutdownDrain.on_begin`; under uvicorn their own SIGTERM hook in
``aiclone.live.signals`` fires at the same moment, and ending them twice is harmless).
A second SIGTERM or SIGINT during the drain hands the signal to the server at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.types import Scope, Send

from aiclone.web.problems import send_problem

logger = logging.getLogger("aiclone.web.drain")

# Sent by the serving process to each process that runs the app; ignored until the app listens.
DRAIN_SIGNAL = signal.SIGUSR1
# The server's own grace exceeds ours by this much, so our cut always comes first.
SERVER_GRACE_MARGIN_SECONDS = 2.0


class ShutdownDrain:
    """This process's drain: whether it has begun, and the requests it may have to cut."""

    def __init__(self, *, drain_seconds: float, grace_seconds: float) -> None:
        self.drain_seconds = drain_seconds
        self.grace_seconds = grace_seconds
        self.began_at: float | None = None
        self.cut = False
        # Requests that have not started their response, by the task that runs each.
        self._waiting: set[asyncio.Task[object]] = set()
        self._cut_tasks: set[asyncio.Task[object]] = set()
        self._on_begin: list[Callable[[], None]] = []

    def on_begin(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (in the loop) when the drain begins."""
        self._on_begin.append(callback)

    @property
    def draining(self) -> bool:
        return self.began_at is not None

    def begin(self) -> None:
        """Start draining (idempotent); runs in the event loop."""
        if self.began_at is not None:
            return
        loop = asyncio.get_running_loop()
        self.began_at = loop.time()
        logger.info(
            "shutting down: answering 503 for %g s, then cutting requests still running after %g s more",
            self.drain_seconds,
            self.grace_seconds,
        )
        loop.call_later(self.drain_seconds + self.grace_seconds, self._cut_waiting)
        for callback in self._on_begin:
            callback()

    def retry_after(self) -> int:
        """Seconds until this instance stops listening (by then the balancer routes elsewhere)."""
        if self.began_at is None:
            return 1
        left = self.began_at + self.drain_seconds - asyncio.get_running_loop().time()
        return max(1, math.ceil(left))

    def _cut_waiting(self) -> None:
        self.cut = True
        for task in list(self._waiting):
            self._cut_tasks.add(task)
            task.cancel()

    @asynccontextmanager
    async def lifespan(self, _app: Litestar) -> AsyncIterator[None]:
        """Listen for the drain signal while the app runs (only in a main thread with a loop that
        takes signal handlers, i.e. under a server; an in-process test client has neither)."""
        loop = asyncio.get_running_loop()
        listening = False
        previous = signal.getsignal(DRAIN_SIGNAL)
        if threading.current_thread() is threading.main_thread():
            try:
                loop.add_signal_handler(DRAIN_SIGNAL, self.begin)
                listening = True
            except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover - no signals here
                listening = False
        try:
            yield
        finally:
            if listening:
                loop.remove_signal_handler(DRAIN_SIGNAL)
                signal.signal(DRAIN_SIGNAL, previous)

    def track(self, task: asyncio.Task[object] | None) -> None:
        if task is not None:
            self._waiting.add(task)

    def untrack(self, task: asyncio.Task[object] | None) -> None:
        if task is not None:
            self._waiting.discard(task)

    def was_cut(self, task: asyncio.Task[object] | None) -> bool:
        """Whether the drain cancelled ``task`` (asked once, by the request that ran in it)."""
        if task is None or task not in self._cut_tasks:
            return False
        self._cut_tasks.discard(task)
        return True


DRAINING = "This instance is shutting down; retry the request."
CUT = "This instance shut down before the request completed; retry it."


async def refuse(drain: ShutdownDrain, scope: Scope, send: Send, detail: str) -> None:
    """The 503 of a draining instance (the edge sends it: :mod:`aiclone.web.edge_layer`)."""
    await send_problem(
        scope,
        send,
        status=503,
        slug="shutting-down",
        title="Service shutting down",
        detail=detail,
        headers=[(b"retry-after", str(drain.retry_after()).encode()), (b"connection", b"close")],
    )
