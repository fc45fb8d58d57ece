"""The rate-limit response fields.

``RateLimit-Policy`` and ``RateLimit`` follow draft-ietf-httpapi-ratelimit-headers (-08 and
later): each is a Structured Fields list whose items are the quota names as Strings, with the
parameters ``q`` (quota) and ``w`` (window, seconds) for the policy and ``r`` (remaining) and
``t`` (seconds until the quota frees up) for the current state::

    RateLimit-Policy: "default";q=60;w=60
    RateLimit: "default";r=59;t=60

``X-RateLimit-Limit`` / ``X-RateLimit-Remaining`` are the older de-facto pair; they describe the
quota closest to running out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiclone.ratelimit.policy import Quota


@dataclass(frozen=True, slots=True)
class QuotaState:
    """One quota after a request was counted (or refused)."""

    quota: Quota
    allowed: bool
    remaining: int
    reset_after: int


def policy_field(quotas: Sequence[Quota]) -> bytes:
    return ", ".join(f'"{q.name}";q={q.limit};w={q.window}' for q in quotas).encode()


def state_field(states: Sequence[QuotaState]) -> bytes:
    return ", ".join(f'"{s.quota.name}";r={s.remaining};t={s.reset_after}' for s in states).encode()


def tightest(states: Sequence[QuotaState]) -> QuotaState:
    return min(states, key=lambda s: (s.allowed, s.remaining, s.quota.limit))


def response_headers(states: Sequence[QuotaState]) -> list[tuple[bytes, bytes]]:
    worst = tightest(states)
    return [
        (b"ratelimit-policy", policy_field([s.quota for s in states])),
        (b"ratelimit", state_field(states)),
        (b"x-ratelimit-limit", str(worst.quota.limit).encode()),
        (b"x-ratelimit-remaining", str(worst.remaining).encode()),
    ]


def retry_after(states: Sequence[QuotaState]) -> int:
    """Seconds until every refused quota has room again (at least 1)."""
    return max([1, *(s.reset_after for s in states if not s.allowed)])
