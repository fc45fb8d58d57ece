"""Building the rate-limiting parts from settings (None when disabled)."""

from __future__ import annotations

from dataclasses import dataclass

from aiclone.metrics import Metrics
from aiclone.ratelimit.limiter import Limiter, build_storage
from aiclone.ratelimit.login import FailedLoginThrottle
from aiclone.ratelimit.policy import Policies
from aiclone.settings import Settings


@dataclass(frozen=True, slots=True)
class RateLimiting:
    limiter: Limiter
    policies: Policies
    failed_logins: FailedLoginThrottle

    @classmethod
    def from_settings(cls, settings: Settings, metrics: Metrics) -> RateLimiting | None:
        if not settings.rate_limit_enabled:
            return None
        storage = build_storage(
            settings.rate_limit_storage,
            key_prefix=settings.rate_limit_key_prefix,
            timeout=settings.rate_limit_storage_timeout,
        )
        limiter = Limiter(storage, metrics, timeout=settings.rate_limit_storage_timeout)
        policies = Policies.from_settings(settings)
        return cls(limiter, policies, FailedLoginThrottle(limiter, policies.login_failures, metrics))
