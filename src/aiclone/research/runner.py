"""The background job that runs research tasks (inside ``aiclone serve`` and ``aiclone worker``).

One loop per process:

* **Claim** queued tasks, highest priority then oldest first, while fewer than
  ``AICLONE_RESEARCH_CONCURRENCY`` run here (:meth:`ResearchQueue.claim`: ``SKIP LOCKED`` on
  PostgreSQL, the single-writer transaction on SQLite), so no two workers ever run one task.
* **Wake up** when a ``task_update`` event says a task was queued (the broker; on PostgreSQL
  that includes every other process), when a run ends, or at the latest every
  ``AICLONE_RESEARCH_POLL_SECONDS`` (tasks queued by a process whose events this one cannot
  hear, e.g. another SQLite process).
* **Cancel promptly**: a ``task_update`` saying a running task of ours was cancelled stops it at
  once; in case the broker cannot tell us (another SQLite process), the statuses of our running
  tasks are re-read about once a second.
* **Lease**: each claim holds a lease renewed every third of ``AICLONE_RESEARCH_LEASE_SECONDS``.
  A task whose lease ran out belongs to a process that died; the recovery pass (at start and
  every half lease) puts it back in the queue.
* **Timeout**: a run longer than ``AICLONE_RESEARCH_TIMEOUT_SECONDS`` is stopped and failed.
* **Stop**: runs in progress are stopped and their tasks put back in the queue at once, so
  another worker can take them without waiting for the lease.

Progress ticks from engines go to live subscribers as ephemeral ``task_update`` messages only,
text ticks at a bounded rate (:mod:`.ticks`).

Drafting tasks (:mod:`aiclone.drafting`) run through the same loop with a :class:`Drafter`
instead of an engine: same claims, leases, cancellation, timeout and live ticks; their result is
written by the drafter inside the transaction that finishes the task.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from dataclasses import dataclass, field

from msgspec import UnsetType
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.claims import Doorbell, listen, new_worker_id, run_rounds
from aiclone.errors import DomainError
from aiclone.events.broker import EventBroker, EventRef, Message, Overflow, Resync
from aiclone.events.types import EventRecord, EventType
from aiclone.research.engines.base import Drafter, DraftResult, EngineError, EngineRegistry, ResearchJob
from aiclone.research.models import DRAFT_KINDS, ResearchTask, TaskStatus
from aiclone.research.queue import Claim, ResearchQueue
from aiclone.research.schemas import Insight
from aiclone.research.ticks import TEXT_TICKS_PER_SECOND, progress_tick
from aiclone.settings import ResearchSettings

logger = logging.getLogger("aiclone.research.runner")

CANCEL_CHECK_SECONDS = 1.0
ERROR_BACKOFF_SECONDS = 2.0


@dataclass(frozen=True)
class RunnerConfig:
    concurrency: int = 2
    task_timeout: float = 120.0
    lease_seconds: float = 30.0
    poll_seconds: float = 5.0

    @classmethod
    def from_settings(cls, research: ResearchSettings) -> RunnerConfig:
        return cls(
            research.concurrency, research.timeout_seconds, research.lease_seconds, research.poll_seconds
        )


@dataclass
class _Run:
    claim: Claim
    task: asyncio.Task[None]
    # Set once the engine returned and the result is being written: no longer cancellable.
    finishing: bool = False
    stop_reason: str | None = None
    progress: int = 0
    tick_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_text_tick: float = float("-inf")
    # The newest text tick held back by the rate limit, and the task that sends it when allowed.
    pending_text: tuple[int, str, str] | None = None
    flush: asyncio.Task[None] | None = None


class ResearchRunner:
    name = "research-runner"

    def __init__(
        self,
        queue: ResearchQueue,
        broker: EventBroker,
        engines: EngineRegistry,
        config: RunnerConfig | None = None,
        *,
        worker_id: str | None = None,
        drafter: Drafter | None = None,
    ) -> None:
        self.queue = queue
        self.broker = broker
        self.engines = engines
        self.drafter = drafter
        self.config = config or RunnerConfig()
        self.worker_id = worker_id or new_worker_id()
        self._runs: dict[uuid.UUID, _Run] = {}
        self._bell = Doorbell()

    @property
    def running_task_ids(self) -> set[uuid.UUID]:
        return set(self._runs)

    # -- the loop

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        listener = asyncio.create_task(listen(self.broker, self._on_message), name=f"{self.name}:listen")
        renew_every = self.config.lease_seconds / 3
        recover_every = self.config.lease_seconds / 2
        next_recovery = next_renewal = next_check = loop.time()

        async def claim_round() -> float:
            nonlocal next_recovery, next_renewal, next_check
            now = loop.time()
            try:
                if now >= next_recovery:
                    if await self.queue.recover_expired():
                        self._bell.ring()
                    next_recovery = now + recover_every
                if self._runs and now >= next_renewal:
                    await self._renew()
                    next_renewal = now + renew_every
                if self._runs and now >= next_check:
                    await self._check_cancelled()
                    next_check = now + CANCEL_CHECK_SECONDS
                await self._fill()
            except (SQLAlchemyError, OSError):
                logger.exception("research runner: database error; retrying shortly")
                return ERROR_BACKOFF_SECONDS
            deadline = min(next_recovery, now + self.config.poll_seconds)
            if self._runs:
                deadline = min(deadline, next_renewal, next_check)
            return max(deadline - loop.time(), 0.0)

        try:
            await run_rounds(stop, self._bell, claim_round)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            await self._shutdown()

    async def _fill(self) -> None:
        while len(self._runs) < self.config.concurrency:
            claim = await self.queue.claim(self.worker_id)
            if claim is None:
                return
            logger.info("research task %s claimed (attempt %d)", claim.task_id, claim.attempt)
            task = asyncio.create_task(self._execute(claim), name=f"research:{claim.task_id}")
            self._runs[claim.task_id] = _Run(claim=claim, task=task)
            task.add_done_callback(functools.partial(self._finished, claim.task_id))

    def _finished(self, task_id: uuid.UUID, task: asyncio.Task[None]) -> None:
        run = self._runs.pop(task_id, None)
        if run is not None and run.flush is not None:
            run.flush.cancel()
        if not task.cancelled() and task.exception() is not None:
            # Its lease expires and the recovery pass queues it again.
            logger.error("research task %s: the run failed", task_id, exc_info=task.exception())
        self._bell.ring()

    async def _renew(self) -> None:
        held = await self.queue.renew(self.worker_id, list(self._runs))
        self._stop_lost(held)

    async def _check_cancelled(self) -> None:
        held = await self.queue.held(self.worker_id, list(self._runs))
        self._stop_lost(held)

    def _stop_lost(self, held: set[tuple[uuid.UUID, int]]) -> None:
        for task_id, run in list(self._runs.items()):
            if (task_id, run.claim.attempt) not in held:
                self._stop_run(run, "no longer held (cancelled or recovered)")

    def _stop_run(self, run: _Run, reason: str) -> None:
        if run.finishing or run.stop_reason is not None:
            return
        run.stop_reason = reason
        logger.info("stopping research task %s: %s", run.claim.task_id, reason)
        run.task.cancel()

    # -- the broker: wake-ups and cancellations

    def _on_message(self, message: Message) -> None:
        if isinstance(message, EventRecord):
            self._on_event(message)
        elif isinstance(message, Resync | Overflow) or (
            isinstance(message, EventRef) and message.type == EventType.TASK_UPDATE
        ):
            # Details unknown: look at the table (claims and the status check do).
            self._bell.ring()

    def _on_event(self, event: EventRecord) -> None:
        if event.type != EventType.TASK_UPDATE:
            return
        status = event.data.get("status")
        if status == TaskStatus.QUEUED:
            self._bell.ring()
            return
        try:
            task_id = uuid.UUID(str(event.data.get("task_id")))
        except ValueError:
            return
        run = self._runs.get(task_id)
        if run is not None and status in (TaskStatus.CANCELLED, TaskStatus.FAILED, TaskStatus.DONE):
            # Only a change made by someone else gets here while the run is still ours.
            self._stop_run(run, f"task became {status}")

    # -- one run

    def _unrunnable(self, claim: Claim) -> str | None:
        """Why this process cannot run the task, if it cannot."""
        if claim.kind in DRAFT_KINDS:
            if self.drafter is None:
                return "Drafting is not available on this server: no language model provider is configured."
            return None
        if self.engines.get(claim.engine) is None:
            configured = ", ".join(self.engines.names) or "none"
            return (
                f"The research engine '{claim.engine}' is not configured on this server"
                f" (configured engines: {configured})."
            )
        return None

    async def _execute(self, claim: Claim) -> None:
        refusal = self._unrunnable(claim)
        if refusal is not None:
            await self.queue.fail(claim, refusal)
            return
        drafting = claim.kind in DRAFT_KINDS
        engine = None if drafting else self.engines.get(claim.engine)

        reported = False

        async def usage(tokens_in: int, tokens_out: int) -> None:
            nonlocal reported
            reported = True
            await self.queue.record_usage(claim, tokens_in, tokens_out)

        job = ResearchJob(
            task_id=claim.task_id,
            user_id=claim.user_id,
            title=claim.title,
            input_source=claim.input_source,
            source_type=claim.source_type,
            prospect_id=claim.prospect_id,
            kind=claim.kind,
            params=dict(claim.params or {}),
            usage=usage,
        )

        async def progress(percent: int, message: str, *, text: str | None = None) -> None:
            await self._tick(claim, percent, message, text)

        what = "drafting" if drafting else "research engine"
        try:
            async with asyncio.timeout(self.config.task_timeout) as deadline:
                if self.drafter is not None and drafting:
                    result: Insight | DraftResult = await self.drafter.draft(job, progress)
                else:
                    assert engine is not None
                    result = await engine.research(job, progress)
        except TimeoutError:
            if deadline.expired():
                noun = "draft" if drafting else "research"
                error = f"The {noun} did not finish within {self.config.task_timeout:g} seconds."
            else:  # raised by the engine itself, not our deadline
                logger.exception("%s %s timed out internally on task %s", what, claim.engine, claim.task_id)
                error = f"The {what} failed unexpectedly (TimeoutError)."
            await self._end(claim, error=error)
            return
        except EngineError as exc:
            await self._end(claim, error=str(exc) or f"The {what} gave up.")
            return
        except asyncio.CancelledError:
            run = self._runs.get(claim.task_id)
            if run is not None and run.stop_reason is not None:
                return  # cancelled or taken from us: nothing to write
            raise
        except Exception as exc:
            logger.exception("%s %s crashed on task %s", what, claim.engine, claim.task_id)
            await self._end(claim, error=f"The {what} failed unexpectedly ({type(exc).__name__}).")
            return
        if isinstance(result, DraftResult):
            await self._end_draft(claim, result)
            return
        if not reported and not isinstance(result.usage, UnsetType):
            # An engine that reports its tokens with the insight (the llm engine) rather than per call.
            await usage(result.usage.input_tokens, result.usage.output_tokens)
        await self._end(claim, insight=result)

    async def _end_draft(self, claim: Claim, draft: DraftResult) -> None:
        run = self._runs.get(claim.task_id)
        if run is not None:
            run.finishing = True
        drafter = self.drafter
        assert drafter is not None

        async def land(session: AsyncSession, task: ResearchTask) -> uuid.UUID:
            return await drafter.land(session, task, draft)

        try:
            await self.queue.complete_draft(claim, land)
        except (SQLAlchemyError, OSError):
            raise
        except DomainError as exc:
            # E.g. the prospect was deleted while its draft was being written.
            await self.queue.fail(claim, f"The draft could not be saved: {exc.detail}")
        except Exception as exc:
            logger.exception("could not store the draft of task %s", claim.task_id)
            await self.queue.fail(claim, f"The draft could not be saved ({type(exc).__name__}).")

    async def _end(self, claim: Claim, *, error: str | None = None, insight: Insight | None = None) -> None:
        run = self._runs.get(claim.task_id)
        if run is not None:
            run.finishing = True
        if insight is None:
            await self.queue.fail(claim, error or "The research engine returned nothing.")
            return
        try:
            await self.queue.complete(claim, insight)
        except (SQLAlchemyError, OSError):
            raise
        except Exception as exc:
            # E.g. an insight over the event payload limit: the task must still end.
            logger.exception("could not store the result of research task %s", claim.task_id)
            await self.queue.fail(claim, f"The research result could not be stored ({type(exc).__name__}).")

    async def _tick(self, claim: Claim, percent: int, message: str, text: str | None = None) -> None:
        run = self._runs.get(claim.task_id)
        if run is None:
            return
        if text is not None:
            now = asyncio.get_running_loop().time()
            wait = run.last_text_tick + 1 / TEXT_TICKS_PER_SECOND - now
            if wait > 0:
                # Each tick carries the whole text so far: keep only the newest, sent once allowed.
                run.pending_text = (percent, message, text)
                if run.flush is None or run.flush.done():
                    run.flush = asyncio.create_task(self._flush_text(claim, run, wait))
                return
            run.last_text_tick = now
            run.pending_text = None
        percent = max(0, min(99, int(percent)))
        # One tick at a time per run, never backwards: on PostgreSQL each publish is its own
        # NOTIFY, and two in flight at once could reach subscribers out of order.
        async with run.tick_lock:
            if percent < run.progress:
                return
            run.progress = percent
            try:
                await self.broker.publish_ephemeral(progress_tick(claim, percent, message, text))
            except (SQLAlchemyError, OSError):
                logger.warning("progress tick of research task %s not delivered", claim.task_id)

    async def _flush_text(self, claim: Claim, run: _Run, wait: float) -> None:
        await asyncio.sleep(wait)
        run.flush = None  # a tick still held back (clock rounding) schedules a new flush
        pending, run.pending_text = run.pending_text, None
        if pending is not None and self._runs.get(claim.task_id) is run and not run.finishing:
            await self._tick(claim, pending[0], pending[1], pending[2])

    # -- stopping

    async def _shutdown(self) -> None:
        runs = list(self._runs.values())
        for run in runs:
            self._stop_run(run, "worker stopping")
        if runs:
            await asyncio.gather(*(run.task for run in runs), return_exceptions=True)
        for run in runs:
            if run.finishing:
                continue
            try:
                await self.queue.release(run.claim, "the worker running it stopped; queued again")
            except (SQLAlchemyError, OSError):
                logger.warning("could not requeue research task %s; its lease will expire", run.claim.task_id)
        self._runs.clear()
