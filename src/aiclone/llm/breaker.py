"""A circuit breaker in front of the provider, one per process.

* **closed**: calls go through; each failed attempt that is the provider's fault (5xx, 429,
  timeout, connection refused, garbled stream, bad credentials) counts, any success resets the
  count. After ``threshold`` failures in a row the breaker opens.
* **open**: for ``cooldown`` seconds every call fails at once with
  :class:`~aiclone.llm.errors.ProviderUnavailable`, naming the last failure, instead of
  waiting on a provider that is down while tasks pile up behind it.
* **half-open**: after the cool-down one call (the probe) goes through while the others keep
  failing fast. The probe's success closes the breaker; its failure opens it for another
  cool-down.

Failures caused by one request (a 400 for a prompt the provider refuses, an answer over the size
limit) do not count: they say nothing about the provider's health.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from aiclone.llm.errors import ProviderUnavailable


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    def __init__(
        self, threshold: int, cooldown: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self.last_failure: str | None = None

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at < self.cooldown:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def retry_in(self) -> float:
        """Seconds until the next probe may go (0 when closed or half-open)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self.cooldown - (self._clock() - self._opened_at))

    def before_attempt(self) -> bool:
        """Raise ProviderUnavailable when calls must fail fast; True when this attempt is the probe."""
        state = self.state
        if state == BreakerState.CLOSED:
            return False
        if state == BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        wait = self.retry_in()
        detail = self.last_failure or "too many failures in a row"
        if wait > 0:
            raise ProviderUnavailable(f"{detail} (retrying the provider in {wait:.0f} s)")
        raise ProviderUnavailable(f"{detail} (a probe request is in progress)")

    def success(self, *, probe: bool) -> None:
        self._failures = 0
        self._opened_at = None
        if probe:
            self._probing = False
        self.last_failure = None

    def failure(self, reason: str, *, probe: bool) -> None:
        self.last_failure = reason
        if probe:
            self._probing = False
            self._opened_at = self._clock()
            return
        self._failures += 1
        if self._failures >= self.threshold and self._opened_at is None:
            self._opened_at = self._clock()

    def release_probe(self) -> None:
        """The probe ended without a verdict (cancelled, or a request-specific error)."""
        self._probing = False
