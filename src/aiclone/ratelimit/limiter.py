"""Counting requests against quotas, in memory or in Redis, failing open.

Strategy: the ``limits`` library's *sliding window counter*. Each key keeps two counters (this
window and the previous one) and the previous count is weighted by how much of it still
overlaps the sliding window. It costs O(1) memory per key and, in Redis, two calls per request
and quota (count the hit, then read the state the response headers report), whatever the
limit. The moving window, which is exact, keeps one timestamp per counted request (up to the
limit per key): fine at 60/minute, costly at the high per-user limits or when the limit is
set very high. The counter's price is an approximation at window boundaries (it
assumes the previous window's requests were spread evenly), so a burst right after a boundary
can be admitted a few requests early or late; in a fresh window it is exact.

Storage: ``memory://`` (per process; fine for one instance) or ``redis://…`` so every process
shares the same windows. Keys are ``<AICLONE_RATE_LIMIT_KEY_PREFIX>:LIMITER/<scope>/<key>/…``.

Failing open: when the storage errors or does not answer within
``AICLONE_RATE_LIMIT_STORAGE_TIMEOUT`` seconds, the request is let through unchecked rather than
refused or failed with a 500, because an outage of a protective cache should not become an
outage of the product. The failure is counted (``aiclone_rate_limit_storage_errors_total``,
``aiclone_rate_limit_fail_open_total``), logged at most once per ``REPORT_INTERVAL``, and the
storage is not asked again for ``RETRY_INTERVAL`` seconds, so a dead Redis costs each request
nothing rather than a timeout.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError

from aiclone.metrics import Metrics
from aiclone.ratelimit.headers import QuotaState
from aiclone.ratelimit.policy import Policy

logger = logging.getLogger("aiclone.ratelimit")

RETRY_INTERVAL = 1.0
REPORT_INTERVAL = 30.0

T = TypeVar("T")


class SweptMemoryStorage(MemoryStorage):
    """``limits``' memory storage, sweeping expired keys at most once per ``SWEEP_INTERVAL``.

    The library's storage starts a sweep over *every* key after each counted hit; with ten
    thousand clients that is ~0.1 ms of CPU per request. Expired keys are also dropped when
    they are next read, so sweeping once a second changes nothing but the cost.
    """

    SWEEP_INTERVAL = 1.0
    _next_sweep = 0.0

    # The base class calls its private ``__schedule_expiry``; this is that name, mangled.
    async def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.SWEEP_INTERVAL
        await super()._MemoryStorage__schedule_expiry()  # type: ignore[misc]


def build_storage(url: str, *, key_prefix: str, timeout: float) -> Storage:
    if url.startswith("memory://"):
        return SweptMemoryStorage()
    # redis-py's asyncio client: about a quarter less CPU per call than coredis here.
    return RedisStorage(
        "async+" + url,
        implementation="redispy",
        wrap_exceptions=True,
        key_prefix=key_prefix,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
    )


class Limiter:
    def __init__(self, storage: Storage, metrics: Metrics, *, timeout: float) -> None:
        self.storage = storage
        self.metrics = metrics
        self._strategy = SlidingWindowCounterRateLimiter(storage)
        # Memory storage does no I/O; only a network store needs the deadline.
        self._timeout = None if isinstance(storage, MemoryStorage) else timeout
        self._down_until = 0.0
        self._failures_unreported = 0
        self._last_report = -math.inf
        self._degraded = False

    async def hit(self, policy: Policy, key: str) -> list[QuotaState] | None:
        """Count one request against every quota of ``policy``; None when the storage is down."""
        return await self._guarded(lambda: self._hit(policy, key))

    async def peek(self, policy: Policy, key: str) -> list[QuotaState] | None:
        """The quotas' state without counting anything."""
        return await self._guarded(lambda: self._peek(policy, key))

    async def clear(self, policy: Policy, key: str) -> None:
        async def run() -> None:
            for quota in policy.quotas:
                await self._strategy.clear(quota.item, policy.scope, key)

        await self._guarded(run)

    async def _hit(self, policy: Policy, key: str) -> list[QuotaState]:
        states: list[QuotaState] = []
        for quota in policy.quotas:
            allowed = await self._strategy.hit(quota.item, policy.scope, key)
            stats = await self._strategy.get_window_stats(quota.item, policy.scope, key)
            states.append(
                QuotaState(quota, allowed, max(0, stats.remaining), _seconds_until(stats.reset_time))
            )
        return states

    async def _peek(self, policy: Policy, key: str) -> list[QuotaState]:
        states: list[QuotaState] = []
        for quota in policy.quotas:
            stats = await self._strategy.get_window_stats(quota.item, policy.scope, key)
            remaining = max(0, stats.remaining)
            states.append(QuotaState(quota, remaining > 0, remaining, _seconds_until(stats.reset_time)))
        return states

    async def _guarded(self, operation: Callable[[], Awaitable[T]]) -> T | None:
        if self._down_until and time.monotonic() < self._down_until:
            self.metrics.rate_limit_fail_open.inc()
            return None
        try:
            if self._timeout is None:
                result = await operation()
            else:
                async with asyncio.timeout(self._timeout):
                    result = await operation()
        except (StorageError, OSError, TimeoutError) as exc:
            self._failed(exc)
            return None
        if self._degraded:
            self._degraded = False
            self._down_until = 0.0
            logger.warning("rate-limit storage is answering again; limits are enforced")
        return result

    def _failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._degraded = True
        self._down_until = now + RETRY_INTERVAL
        self._failures_unreported += 1
        self.metrics.rate_limit_storage_errors.inc()
        self.metrics.rate_limit_fail_open.inc()
        if now - self._last_report >= REPORT_INTERVAL:
            logger.warning(
                "rate-limit storage unavailable (%s: %s); requests pass unchecked (%d failures since last report)",
                type(exc).__name__,
                exc,
                self._failures_unreported,
            )
            self._last_report = now
            self._failures_unreported = 0

    async def close(self) -> None:
        if isinstance(self.storage, RedisStorage):
            # The client's connections belong to the event loop that is shutting down.
            client = getattr(self.storage.bridge, "storage", None)
            if client is not None:
                try:
                    await client.aclose()
                except (OSError, RuntimeError):  # pragma: no cover - best effort at shutdown
                    logger.debug("rate-limit storage connections did not close cleanly")


def _seconds_until(timestamp: float) -> int:
    return max(0, math.ceil(timestamp - time.time()))
