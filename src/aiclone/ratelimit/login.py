"""Failed sign-ins per account.

Failed logins are counted per email (``AICLONE_LOGIN_FAILURE_LIMIT``, default 5 per 15
minutes, sliding). Once the quota is used up, sign-ins for that email are refused with 429
*before* the password is checked, and those refused attempts are not counted. So:

- an attacker gets at most 5 guesses per 15 minutes per account, from any number of addresses;
- a successful sign-in clears the count;
- a lockout ends by itself at most one window (15 minutes) after the last real failure, however
  many attempts arrive meanwhile. Keeping a victim locked out takes a steady stream of real
  failed attempts, each of which also spends the attacker's per-address login quota
  (``AICLONE_RATE_LIMIT_LOGIN``) and shows in the rejection metric and the logs.

The count is keyed by a hash of the normalised email, so the store never holds addresses.
"""

from __future__ import annotations

import hashlib

from aiclone.errors import TooManyRequests
from aiclone.metrics import Metrics
from aiclone.ratelimit.headers import retry_after
from aiclone.ratelimit.limiter import Limiter
from aiclone.ratelimit.policy import Policy


class FailedLoginThrottle:
    def __init__(self, limiter: Limiter, policy: Policy, metrics: Metrics) -> None:
        self.limiter = limiter
        self.policy = policy
        self.metrics = metrics

    @staticmethod
    def _key(email: str) -> str:
        return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]

    async def ensure_allowed(self, email: str) -> None:
        states = await self.limiter.peek(self.policy, self._key(email))
        if states and not all(state.allowed for state in states):
            self.metrics.rate_limit_rejections.labels(policy=self.policy.scope).inc()
            raise TooManyRequests(
                "Too many failed sign-ins for this account; try again later.",
                retry_after=retry_after(states),
            )

    async def record_failure(self, email: str) -> None:
        await self.limiter.hit(self.policy, self._key(email))

    async def record_success(self, email: str) -> None:
        await self.limiter.clear(self.policy, self._key(email))
