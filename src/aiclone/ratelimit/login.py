"""Failed sign-ins per account.

Failed logins are counted per email (``AICLONE_LOGIN_FAILURE_LIMIT``, default 5 per 15
minutes, sliding). Every attempt *reserves* one unit of the quota before the password is
checked — one atomic check-and-count in the store (the ``limits`` memory storage counts and
re-checks without yielding; Redis runs it as one script) — so parallel guesses cannot all pass
a check made before any of them was counted: of ten at once, five are evaluated and five get
429. A reservation that turns into a successful sign-in clears the count; one that fails stays
counted. Once the quota is used up, sign-ins for that email are refused with 429 (with
``Retry-After``) *before* any hashing, and those refused attempts are not counted. So:

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
from aiclone.ratelimit.headers import QuotaState, retry_after
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

    async def reserve(self, email: str) -> None:
        """Count one attempt for ``email``, or raise 429 when its quota is used up (not counted)."""
        self._refuse_if_spent(await self.limiter.hit(self.policy, self._key(email)))

    async def ensure_allowed(self, email: str) -> None:
        """Raise 429 when the quota is used up, counting nothing (prefer :meth:`reserve`)."""
        self._refuse_if_spent(await self.limiter.peek(self.policy, self._key(email)))

    async def record_failure(self, email: str) -> None:
        """Count a failure that was not reserved (a reserved one is already counted)."""
        await self.limiter.hit(self.policy, self._key(email))

    def _refuse_if_spent(self, states: list[QuotaState] | None) -> None:
        if states and not all(state.allowed for state in states):
            self.metrics.rate_limit_rejections.labels(policy=self.policy.scope).inc()
            raise TooManyRequests(
                "Too many failed sign-ins for this account; try again later.",
                retry_after=retry_after(states),
            )

    async def record_success(self, email: str) -> None:
        await self.limiter.clear(self.policy, self._key(email))
