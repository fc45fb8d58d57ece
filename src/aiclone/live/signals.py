"""Ending streams as soon as the server is told to stop.

uvicorn, on SIGTERM or SIGINT, stops accepting connections and then waits for open responses to
finish before it runs the lifespan shutdown; an event stream never finishes by itself, so the
lifespan hook alone would come too late. The server's own handler is chained instead: ours asks
the streams to close (in the event loop), then the server's runs unchanged.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def chain_exit_signals(on_exit: Callable[[], None]) -> Callable[[], None]:
    """Call ``on_exit`` in the running loop on SIGTERM/SIGINT before the server's handler.

    Only where a server installed a Python-level handler (nothing is changed in processes that
    use the default behaviour, such as test runners). Returns a function that undoes it.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    installed: dict[signal.Signals, tuple[Callable[[int, FrameType | None], object], object]] = {}
    for sig in _SIGNALS:
        previous = signal.getsignal(sig)
        if not callable(previous) or previous is signal.default_int_handler:
            continue

        def handler(
            signum: int,
            frame: FrameType | None,
            previous: Callable[[int, FrameType | None], object] = previous,
        ) -> None:
            loop.call_soon_threadsafe(on_exit)
            previous(signum, frame)

        signal.signal(sig, handler)
        installed[sig] = (handler, previous)

    def restore() -> None:
        for sig, (handler, previous) in installed.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, previous)  # type: ignore[arg-type]

    return restore
