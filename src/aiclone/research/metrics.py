"""``aiclone_research_tasks_total{status}``: research task state changes, by the state reached.

Every state change of a task writes a ``task_update`` event (:func:`aiclone.research.state.record_state`),
whoever makes it (the API, the runner, the recovery pass, an automation), so counting those
events in the transaction's hook counts each change once, in the process that commits it, and
only once it is committed.
"""

from __future__ import annotations

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.db import after_commit
from aiclone.events.types import EventRecord, EventType
from aiclone.research.models import TaskStatus

_STATUSES = frozenset(status.value for status in TaskStatus)


class TaskStateMetricsHook:
    def __init__(self, counter: Counter) -> None:
        self.counter = counter

    async def on_event(self, session: AsyncSession, event: EventRecord) -> None:
        if event.type != EventType.TASK_UPDATE:
            return
        status = str(event.data.get("status"))
        if status not in _STATUSES:
            return
        counter = self.counter

        async def count() -> None:
            counter.labels(status=status).inc()

        after_commit(session, count)
