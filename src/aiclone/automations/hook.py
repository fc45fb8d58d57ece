"""Rules react to events from inside the event's transaction.

:class:`AutomationHook` is an in-transaction hook of the event log. For an event that no
automation caused, of a type a rule can trigger on, it reads the user's enabled rules for that
type (one indexed query; other events cost nothing) and runs each rule whose conditions match,
in creation order. Actions record their events with ``by_automation=True``; those come back
through this hook (``EventLog.record`` is re-entrant: each nested event takes the next ``seq``
from the same locked counter row and runs every hook) and are ignored here, so a rule can never
trigger itself or another rule, directly or in a chain.

The rules come from the hook's per-process cache when it holds them for the user's current
``config_version`` (read by the event's own statement; every rule change bumps it, see
:mod:`aiclone.events.config`): then an event costs no query at all. On a miss the hook reads all
the user's enabled rules, grouped by trigger type, in one query and keeps them.

Matching is pure CPU; the rules share one :class:`EventFacts` (each field looked up and folded
once), and the hook yields to the loop whenever matching has run for
:data:`EVALUATION_SLICE_SECONDS` since the last await, so a heavy rule set delays its own
write, not the other requests of the process.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.automations.conditions import EventFacts, matches
from aiclone.automations.repository import AutomationRepository, Rule
from aiclone.automations.runs import AutomationRunner
from aiclone.automations.schemas import TRIGGER_EVENTS
from aiclone.events.config import DEFAULT_CACHE_SIZE, VersionedCache, seen_version
from aiclone.events.types import EventRecord

# The longest stretch rule matching runs without letting the event loop serve anything else.
EVALUATION_SLICE_SECONDS = 0.002


class AutomationHook:
    def __init__(self, runner: AutomationRunner, *, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self.runner = runner
        # Per user: the enabled rules by trigger type, as of one config_version.
        self.cache: VersionedCache[Mapping[str, tuple[Rule, ...]]] = VersionedCache(cache_size)

    async def rules(self, session: AsyncSession, event: EventRecord) -> Sequence[Rule]:
        version = seen_version(session, event.user_id)
        if version is None:
            return await AutomationRepository(session).enabled_rules(event.user_id, event.type)
        by_trigger = self.cache.get(event.user_id, version)
        if by_trigger is None:
            by_trigger = await AutomationRepository(session).enabled_rules_by_trigger(event.user_id)
            self.cache.put(event.user_id, version, by_trigger)
        return by_trigger.get(event.type, ())

    async def on_event(self, session: AsyncSession, event: EventRecord) -> None:
        if event.by_automation or event.type not in TRIGGER_EVENTS:
            return
        facts = EventFacts(event.data)
        since_yield = time.perf_counter()
        for rule in await self.rules(session, event):
            if time.perf_counter() - since_yield > EVALUATION_SLICE_SECONDS:
                # Other requests run between rules: a user's hundred rules on a long text cost
                # this write its time, not everyone's.
                await asyncio.sleep(0)
                since_yield = time.perf_counter()
            if matches(rule.conditions, facts):
                await self.runner.run(
                    session, rule, event_type=event.type, data=event.data, trigger_seq=event.seq
                )
                since_yield = time.perf_counter()
