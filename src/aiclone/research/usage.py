"""Language-model tokens: what a task spent, what a user spent today, and the daily budget.

Accounting
    :func:`record_llm_usage` adds one provider call's tokens to its task (``tokens_in`` /
    ``tokens_out``) and to the user's analytics counters (``llm_tokens`` and its two halves,
    at every grain, so "per user and per day" is one counter row), in the caller's
    transaction. The runner calls it when a call ends, in a transaction of its own, whatever
    happens to the run afterwards: tokens a cancelled or failed run spent were paid for and
    count. Both research with a language-model engine and drafting tasks go through it.
    The counters are analytics' (``aiclone.analytics.counters.TokenUsageCounters``); research
    sees them only as the :class:`TokenCounters` the container hands in, so it does not import
    analytics (which reads research's tasks).

The daily budget (``AICLONE_LLM_DAILY_TOKENS_PER_USER``, 0 = unlimited)
    Days are UTC days. A task that uses the language model reserves ``reservation`` tokens
    (the provider's maximum output per call) while it is queued or running. Creating (or
    retrying) such a task is refused with a 429 when the tokens recorded today, plus what the
    user's queued and running tasks still reserve, plus the new task's reservation, would pass
    the budget; ``Retry-After`` and the detail say when the day ends.

    A task that was admitted and crosses the budget while it runs **finishes**: its tokens are
    already spent at the provider, and stopping would throw away a paid-for, half-written
    answer. The reservation keeps the overshoot to what a prompt costs beyond it; the next task
    is refused. Two tasks created at the same instant are checked independently, so together
    they can pass the budget by at most one reservation.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.db import utcnow
from aiclone.errors import TooManyRequests
from aiclone.research.models import DRAFT_KINDS, ResearchTask, TaskStatus

# Research engines that call the language model (their tasks count against the budget).
LLM_ENGINES = frozenset({"llm"})


class TokenCounters(Protocol):
    """A user's language-model token counters, read and moved in the caller's transaction."""

    async def add(
        self, session: AsyncSession, user_id: uuid.UUID, *, at: dt.datetime, tokens_in: int, tokens_out: int
    ) -> None:
        """Count ``tokens_in + tokens_out`` (and each half) at instant ``at``; both are >= 0."""
        ...

    async def on_day(self, session: AsyncSession, user_id: uuid.UUID, at: dt.datetime) -> int:
        """The user's tokens counted on the UTC day of ``at``."""
        ...


async def record_llm_usage(
    session: AsyncSession,
    counters: TokenCounters,
    user_id: uuid.UUID,
    task_id: uuid.UUID | None,
    tokens_in: int,
    tokens_out: int,
    *,
    at: dt.datetime | None = None,
) -> None:
    """Count one provider call's tokens for ``task_id`` (if given) and ``user_id``, in the caller's transaction."""
    tokens_in = max(0, int(tokens_in))
    tokens_out = max(0, int(tokens_out))
    if tokens_in == 0 and tokens_out == 0:
        return
    when = at or utcnow()
    if task_id is not None:
        await session.execute(
            update(ResearchTask)
            .where(ResearchTask.id == task_id, ResearchTask.user_id == user_id)
            .values(
                tokens_in=ResearchTask.tokens_in + tokens_in,
                tokens_out=ResearchTask.tokens_out + tokens_out,
            )
            .execution_options(synchronize_session=False)
        )
    await counters.add(session, user_id, at=when, tokens_in=tokens_in, tokens_out=tokens_out)


class TokenBudgetExhausted(TooManyRequests):
    slug = "llm-budget-exhausted"
    title = "Daily language-model budget used up"


def day_start(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def uses_llm(kind: str, engine: str) -> bool:
    return kind in DRAFT_KINDS or engine in LLM_ENGINES


@dataclass(frozen=True)
class TokenPrices:
    """Prices per million tokens (``AICLONE_LLM_PRICE_*``), in the provider's currency."""

    input_per_mtok: float = 0.0
    output_per_mtok: float = 0.0

    @property
    def set(self) -> bool:
        return self.input_per_mtok > 0 or self.output_per_mtok > 0

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return round((tokens_in * self.input_per_mtok + tokens_out * self.output_per_mtok) / 1_000_000, 6)


@dataclass(frozen=True)
class TokenBudget:
    """The per-user daily budget; ``daily_tokens`` 0 means unlimited."""

    counters: TokenCounters
    daily_tokens: int = 0
    reservation: int = 1024

    @property
    def limited(self) -> bool:
        return self.daily_tokens > 0

    async def _reserved(self, session: AsyncSession, user_id: uuid.UUID, exclude: uuid.UUID | None) -> int:
        """What the user's queued and running language-model tasks still reserve."""
        spent = ResearchTask.tokens_in + ResearchTask.tokens_out
        left = (
            func.max(self.reservation - spent, 0)
            if _is_sqlite(session)
            else func.greatest(self.reservation - spent, 0)
        )
        query = select(func.coalesce(func.sum(left), 0)).where(
            ResearchTask.user_id == user_id,
            ResearchTask.status.in_([TaskStatus.QUEUED.value, TaskStatus.RUNNING.value]),
            or_(
                ResearchTask.kind.in_([kind.value for kind in DRAFT_KINDS]),
                ResearchTask.engine.in_(sorted(LLM_ENGINES)),
            ),
        )
        if exclude is not None:
            query = query.where(ResearchTask.id != exclude)
        return int(await session.scalar(query) or 0)

    async def admit(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        *,
        now: dt.datetime | None = None,
        exclude: uuid.UUID | None = None,
    ) -> None:
        """Raise :class:`TooManyRequests` when one more task would pass the user's budget today."""
        if not self.limited:
            return
        now = now or utcnow()
        used = await self.counters.on_day(session, user_id, now)
        reserved = await self._reserved(session, user_id, exclude)
        if used + reserved + self.reservation <= self.daily_tokens:
            return
        resets = day_start(now) + dt.timedelta(days=1)
        wait = math.ceil((resets - now).total_seconds())
        raise TokenBudgetExhausted(
            f"The daily language-model budget of {self.daily_tokens} tokens is used up: {used} spent today"
            f" and {reserved} reserved by queued or running tasks, and a new task reserves"
            f" {self.reservation}. The budget resets at {resets.strftime('%Y-%m-%dT%H:%M:%SZ')} (UTC midnight).",
            retry_after=wait,
        )


def _is_sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"
