"""Rules react to events from inside the event's transaction.

:class:`AutomationHook` is an in-transaction hook of the event log. For an event that no
automation caused, of a type a rule can trigger on, it reads the user's enabled rules for that
type (one indexed query; other events cost nothing) and runs each rule whose conditions match,
in creation order. Actions record their events with ``by_automation=True``; those come back
through this hook (``EventLog.record`` is re-entrant: each nested event takes the next ``seq``
from the same locked counter row and runs every hook) and are ignored here, so a rule can never
trigger itself or another rule, directly or in a chain.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.automations.conditions import matches
from aiclone.automations.repository import AutomationRepository
from aiclone.automations.runs import AutomationRunner
from aiclone.automations.schemas import TRIGGER_EVENTS
from aiclone.events.types import EventRecord


class AutomationHook:
    def __init__(self, runner: AutomationRunner) -> None:
        self.runner = runner

    async def on_event(self, session: AsyncSession, event: EventRecord) -> None:
        if event.by_automation or event.type not in TRIGGER_EVENTS:
            return
        for rule in await AutomationRepository(session).enabled_rules(event.user_id, event.type):
            if matches(rule.conditions, event.data):
                await self.runner.run(
                    session, rule, event_type=event.type, data=event.data, trigger_seq=event.seq
                )
