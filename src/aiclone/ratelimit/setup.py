"""Building the rate-limiting parts from settings (None when disabled)."""

from __future__ import annotations

from dataclasses import dataclass

from aiclone.metrics import Metrics
from aiclone.ratelimit.limiter import Limiter, build_storage
from aiclone.ratelimit.login import FailedLoginThrottle
from aiclone.ratelimit.policy import Policies
from aiclone.settings import RateLimitSettings


@dataclass(frozen=True, slots=True)
class RateLimiting:
    limiter: Limiter
    policies: Policies
    failed_logins: FailedLoginThrottle

    @classmethod
    def from_settings(cls, settings: RateLimitSettings, metrics: Metrics) -> RateLimiting | None:
        if not settings.enabled:
            return None
        storage = build_storage(
            settings.storage,
            key_prefix=settings.key_prefix,
            timeout=settings.storage_timeout,
        )
        limiter = Limiter(storage, metrics, timeout=settings.storage_timeout)
        policies = Policies.from_settings(settings)
        return cls(limiter, policies, FailedLoginThrottle(limiter, policies.login_failures, metrics))
