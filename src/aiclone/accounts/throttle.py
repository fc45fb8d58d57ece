"""Non-enumeration helpers: a per-address mail quota and a fixed floor under public answers."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiclone.ratelimit.limiter import Limiter
from aiclone.ratelimit.policy import Policy

logger = logging.getLogger("aiclone.accounts")

# Every public answer that could tell an existing account from a missing one takes at least this
# long; the work behind it (one lookup, at most one small transaction) stays well below it.
RESPONSE_FLOOR_SECONDS = 0.25


@asynccontextmanager
async def no_sooner_than(seconds: float) -> AsyncIterator[None]:
    """Finish the block no sooner than ``seconds`` after it started (errors included)."""
    started = time.monotonic()
    try:
        yield
    finally:
        remaining = seconds - (time.monotonic() - started)
        if remaining > 0:
            await asyncio.sleep(remaining)


class MailboxQuota:
    """How many account mails one address may receive (``AICLONE_ACCOUNT_MAIL_PER_EMAIL_LIMIT``).

    Past the quota the request still gets its 202 and no mail goes out: a 429 here would let
    anyone silence the reset mails of a victim's address just the same, and a quiet drop keeps
    mailboxes from being flooded. Keys are hashes of the canonical address; the store never holds
    addresses. With rate limiting off (or its storage down) every mail goes out.
    """

    def __init__(self, limiter: Limiter | None, policy: Policy) -> None:
        self.limiter = limiter
        self.policy = policy

    async def take(self, email: str) -> bool:
        if self.limiter is None:
            return True
        key = hashlib.sha256(email.encode()).hexdigest()[:32]
        states = await self.limiter.hit(self.policy, key)
        if states and not all(state.allowed for state in states):
            logger.warning("account mail quota of one address used up; mail not sent")
            return False
        return True
