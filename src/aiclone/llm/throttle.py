"""Live text at a bounded rate: the newest text at most once per interval, and the last one always.

While a model writes, every delta would be a live message; a subscriber needs far fewer. A
:class:`TextThrottle` keeps the newest text and sends it when the interval since the last send
has passed, so a fast stream costs at most ``1 / interval`` messages a second and a slow one
sends each delta as it comes.

:meth:`flush` at the end sends what is pending if the interval has passed. If not, it either
drops it (the default: the caller's next message, e.g. ``research_completed``, carries the
finished result within milliseconds, and waiting would add up to one interval to every call) or,
with ``wait=True``, waits out the interval first, so the rate holds either way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

DEFAULT_INTERVAL = 0.2  # at most 5 messages a second


class TextThrottle:
    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        *,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self.interval = interval
        self._clock = clock
        self._last: float | None = None
        self._pending: str | None = None
        self._sent: str | None = None
        self.sent_count = 0

    async def update(self, text: str) -> None:
        self._pending = text
        now = self._clock()
        if self._last is None or now - self._last >= self.interval:
            await self._emit(now)

    async def flush(self, *, wait: bool = False) -> None:
        if self._pending is None or self._pending == self._sent:
            return
        if self._last is not None:
            left = self.interval - (self._clock() - self._last)
            if left > 0:
                if not wait:
                    return
                await asyncio.sleep(left)
        await self._emit(self._clock())

    async def _emit(self, now: float) -> None:
        text = self._pending
        if text is None:
            return
        self._last = now
        self._sent = text
        self.sent_count += 1
        await self._send(text)
