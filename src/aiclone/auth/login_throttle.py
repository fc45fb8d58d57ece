"""What sign-in and password checks need from a failed-attempt throttle.

The throttle itself (:class:`aiclone.ratelimit.login.FailedLoginThrottle`) lives with the rate
limiter, which in turn reads credentials from this package; auth names only the two calls it
makes, so the dependency runs one way (ratelimit → auth).
"""

from __future__ import annotations

from typing import Protocol


class LoginThrottle(Protocol):
    async def reserve(self, email: str) -> None:
        """Count one attempt for ``email``, or raise ``TooManyRequests`` when its quota is spent."""

    async def record_success(self, email: str) -> None:
        """Clear the count of ``email`` after a successful check."""
