"""One run of a rule, inside the transaction of the event that triggered it.

The action runs in a SAVEPOINT (``session.begin_nested()``): a failing action — the prospect
has no website, was deleted, any error — rolls back only its own writes and events, never the
change that triggered it. The rule's bookkeeping is written in the outer transaction, so it
commits with that change:

- success: ``run_count``/``last_run_at``, and an ``automation_triggered`` event
  (``by_automation``) naming the rule, the action, a summary, the triggering event and the result;
- failure: ``failure_count``/``last_error``/``last_failed_at``, and no ``automation_triggered``
  (it would count as a run in analytics and read "Automation ran" in the feed). When a rule that
  was working fails, its owner gets one warning notification; further failures in a row only
  update the rule, so a broken rule on a busy event cannot flood the notifications. Whether the
  previous run failed is read from the rule's row on this path: the rule a run is given holds
  only its configuration (the event hook caches it).

The savepoint is :meth:`EventLog.savepoint`, which also forgets the events recorded inside it
when it rolls back, so a live subscriber never sees them.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.automations.actions import ActionFailed, Actions
from aiclone.automations.repository import AutomationRepository, Rule
from aiclone.automations.schemas import Action, AutomationTriggeredData
from aiclone.db import utcnow
from aiclone.events.log import EventLog
from aiclone.events.types import EventRecord, EventType
from aiclone.notifications.service import NotificationService

logger = logging.getLogger("aiclone.automations")

UNEXPECTED = "The action failed unexpectedly; see the server log."


class RunOutcome(msgspec.Struct, frozen=True):
    status: Literal["ok", "failed"]
    error: str | None = None
    event: EventRecord | None = None
    data: AutomationTriggeredData | None = None


class AutomationRunner:
    def __init__(self, events: EventLog, notifications: NotificationService) -> None:
        self.events = events
        self.notifications = notifications
        self.actions = Actions(events, notifications)

    async def run(
        self,
        session: AsyncSession,
        rule: Rule,
        *,
        event_type: str,
        data: dict[str, Any],
        trigger_seq: int | None,
        manual: bool = False,
    ) -> RunOutcome:
        action = msgspec.convert(rule.action, Action)
        try:
            async with self.events.savepoint(session):
                outcome = await self.actions.run(session, rule, action, event_type=event_type, data=data)
        except ActionFailed as exc:
            error = str(exc)
        except Exception:
            logger.exception("automation %s failed", rule.id)
            error = UNEXPECTED
        else:
            await AutomationRepository(session).record_success(rule.id, utcnow())
            payload = AutomationTriggeredData(
                automation_id=rule.id,
                automation_name=rule.name,
                action=str(action.__struct_config__.tag),
                summary=outcome.summary,
                trigger_event=event_type,
                trigger_seq=trigger_seq,
                manual=manual,
                result=outcome.result,
            )
            event = await self.events.record(
                session,
                user_id=rule.user_id,
                type=EventType.AUTOMATION_TRIGGERED,
                data=payload,
                by_automation=True,
            )
            return RunOutcome(status="ok", event=event, data=payload)
        repository = AutomationRepository(session)
        # Read now, not from the rule (which may come from the hook's cache): the run before this
        # one, in this process or another, decides whether this failure is the first in a row.
        first_failure = not manual and not await repository.failing(rule.id)
        await repository.record_failure(rule.id, utcnow(), error)
        if first_failure:
            await self.notifications.notify(
                session,
                user_id=rule.user_id,
                title=f"Automation failed: {rule.name}",
                body=error,
                level="warning",
                data={"automation_id": str(rule.id)},
                by_automation=True,
            )
        return RunOutcome(status="failed", error=error)
