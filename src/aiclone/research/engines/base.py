"""The engine interface: what the runner hands an engine, and what it expects back.

An engine turns a task's input into an :class:`~aiclone.research.schemas.Insight`. It reports
progress through the callback it is given (live-only ticks; an engine that writes with a
language model passes ``text``, the answer so far, which the runner forwards at most five times
a second), raises :class:`EngineError` with a message meant for the task's owner when the
research cannot be done, and may be cancelled at any ``await`` (the task was cancelled, timed
out, or the worker is stopping).

A :class:`Drafter` runs the drafting kinds of task the same way: :meth:`Drafter.draft` returns
a :class:`DraftResult`, and :meth:`Drafter.land` writes it (an outreach draft, a content item)
inside the transaction that marks the task done, so a draft exists if and only if its task
finished. Tokens a call spent are reported through ``job.usage`` as soon as the call ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.research.models import ResearchTask, SourceType, TaskKind
from aiclone.research.schemas import Insight


class UsageReporter(Protocol):
    async def __call__(self, tokens_in: int, tokens_out: int) -> None: ...


@dataclass(frozen=True)
class ResearchJob:
    task_id: uuid.UUID
    user_id: uuid.UUID
    title: str
    input_source: str
    source_type: SourceType
    prospect_id: uuid.UUID | None = None
    kind: TaskKind = TaskKind.RESEARCH
    params: dict[str, Any] = field(default_factory=dict)
    # Counts a provider call's tokens for this task and its owner (aiclone.research.usage).
    usage: UsageReporter | None = None


class ProgressReporter(Protocol):
    async def __call__(self, percent: int, message: str, *, text: str | None = None) -> None:
        """A live tick; ``text`` is what a writing engine has written so far."""


@dataclass(frozen=True)
class DraftResult:
    """A finished draft, not yet written anywhere."""

    body: str
    # The email subject, or the content item's title.
    heading: str | None = None


class Drafter(Protocol):
    async def draft(self, job: ResearchJob, progress: ProgressReporter) -> DraftResult: ...

    async def land(self, session: AsyncSession, task: ResearchTask, draft: DraftResult) -> uuid.UUID:
        """Write the draft in the caller's transaction; returns the id of what was written."""
        ...


class ResearchEngine(Protocol):
    name: str
    # The kinds of input it can research; a task of another kind is refused at creation.
    source_types: frozenset[SourceType]

    async def research(self, job: ResearchJob, progress: ProgressReporter) -> Insight: ...


@dataclass(frozen=True)
class EngineStatus:
    """Whether new tasks may ask for an engine, and if not why (shown to users)."""

    name: str
    available: bool
    reason: str | None = None
    # The provider's breaker state for engines that call one ("closed", "open", "half-open").
    provider_state: str | None = None


def engine_status(engine: ResearchEngine) -> EngineStatus:
    """An engine may define ``status() -> EngineStatus``; one that does not is always available."""
    status = getattr(engine, "status", None)
    if callable(status):
        result = status()
        assert isinstance(result, EngineStatus)
        return result
    return EngineStatus(engine.name, True)


class EngineError(Exception):
    """The research could not be done; the message is shown to the task's owner as its error."""


class EngineRegistry:
    """The engines this process can run, by name."""

    def __init__(self, engines: Iterable[ResearchEngine] = ()) -> None:
        self._engines: dict[str, ResearchEngine] = {}
        for engine in engines:
            self.register(engine)

    def register(self, engine: ResearchEngine) -> None:
        self._engines[engine.name] = engine

    def get(self, name: str) -> ResearchEngine | None:
        return self._engines.get(name)

    @property
    def names(self) -> list[str]:
        return sorted(self._engines)

    def statuses(self) -> list[EngineStatus]:
        return [engine_status(self._engines[name]) for name in self.names]

    def unavailable_reason(self, name: str) -> str | None:
        """Why a task asking for ``name`` must be refused now; None for unknown engines (those
        fail when run, as before: another process may be configured with them)."""
        engine = self._engines.get(name)
        if engine is None:
            return None
        status = engine_status(engine)
        return None if status.available else status.reason or f"the {name} engine is unavailable"

    def able_to_run(self, source_type: SourceType) -> list[str]:
        """The names of the engines that can research this kind of input."""
        return sorted(name for name, engine in self._engines.items() if source_type in engine.source_types)
