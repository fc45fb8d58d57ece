"""What a rule does when it fires, inside the caller's transaction (see :mod:`.runs`).

Every event an action records carries ``by_automation=True``, so no rule ever reacts to it.
An action that cannot do its work raises :class:`ActionFailed` with a message for the rule's
``last_error``; the runner rolls the action back to its savepoint.

The prospect an action works on is the event's ``prospect_id``, or its ``id`` for the prospect
events (``prospect_added``, ``prospect_updated``).
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.automations.repository import Rule
from aiclone.automations.schemas import Action, CreateResearchTaskAction, NotifyAction, TagProspectAction
from aiclone.automations.templates import render
from aiclone.events.log import EventLog
from aiclone.events.types import EventType
from aiclone.fields import MAX_TAGS, normalize_tags
from aiclone.notifications.service import NotificationService
from aiclone.prospects.changes import find_prospect, retag_prospect
from aiclone.prospects.schemas import ProspectRead
from aiclone.research.models import SourceType
from aiclone.research.sources import url_problem
from aiclone.research.state import enqueue

PROSPECT_EVENTS = frozenset({EventType.PROSPECT_ADDED.value, EventType.PROSPECT_UPDATED.value})
RESEARCH_ENGINE = "web"


class ActionFailed(Exception):
    """The action could not do its work; the message is shown to the rule's owner."""


class Outcome(msgspec.Struct, frozen=True):
    summary: str
    result: dict[str, Any]


def prospect_id_of(event_type: str, data: dict[str, Any]) -> uuid.UUID:
    raw = data.get("prospect_id")
    if raw is None and event_type in PROSPECT_EVENTS:
        raw = data.get("id")
    if isinstance(raw, str):
        try:
            return uuid.UUID(raw)
        except ValueError:
            pass
    raise ActionFailed("The event names no prospect (no prospect_id in its data).")


class Actions:
    def __init__(self, events: EventLog, notifications: NotificationService) -> None:
        self.events = events
        self.notifications = notifications

    async def run(
        self, session: AsyncSession, rule: Rule, action: Action, *, event_type: str, data: dict[str, Any]
    ) -> Outcome:
        if isinstance(action, NotifyAction):
            return await self._notify(session, rule, action, data)
        if isinstance(action, CreateResearchTaskAction):
            return await self._research(session, rule, action, event_type, data)
        return await self._tag(session, rule, action, event_type, data)

    async def _notify(
        self, session: AsyncSession, rule: Rule, action: NotifyAction, data: dict[str, Any]
    ) -> Outcome:
        title = render(action.title, data, limit=200).strip() or rule.name
        notification = await self.notifications.notify(
            session,
            user_id=rule.user_id,
            title=title,
            body=render(action.body, data, limit=2000),
            level=action.level,
            data={"automation_id": str(rule.id)},
            by_automation=True,
        )
        return Outcome(summary=f"Notified: {title}", result={"notification_id": str(notification.id)})

    async def _prospect(
        self, session: AsyncSession, rule: Rule, event_type: str, data: dict[str, Any], *, lock: bool = False
    ) -> ProspectRead:
        prospect_id = prospect_id_of(event_type, data)
        prospect = await find_prospect(session, rule.user_id, prospect_id, lock=lock)
        if prospect is None:
            raise ActionFailed(f"The prospect {prospect_id} does not exist (any more).")
        return prospect

    async def _research(
        self,
        session: AsyncSession,
        rule: Rule,
        action: CreateResearchTaskAction,
        event_type: str,
        data: dict[str, Any],
    ) -> Outcome:
        prospect = await self._prospect(session, rule, event_type, data)
        website = (prospect.website or "").strip()
        if not website:
            raise ActionFailed(f"The prospect {prospect.name!r} has no website to research.")
        problem = url_problem(website)
        if problem is not None:
            raise ActionFailed(f"The prospect's website {problem}.")
        default_title = f"Research {prospect.name}"[:200]
        title = (render(action.title, data, limit=200).strip() if action.title else "") or default_title
        # The same task_update a task queued through the API writes, marked as caused by an
        # automation; the research worker wakes on it after commit.
        task = await enqueue(
            self.events,
            session,
            user_id=rule.user_id,
            title=title,
            input_source=website,
            source_type=SourceType.URLS,
            engine=RESEARCH_ENGINE,
            priority=action.priority,
            prospect_id=prospect.id,
            detail=f"queued by automation {rule.name!r}"[:300],
            by_automation=True,
        )
        return Outcome(
            summary=f"Queued research of {website[:200]} for {prospect.name}",
            result={"task_id": str(task.id), "prospect_id": str(prospect.id)},
        )

    async def _tag(
        self,
        session: AsyncSession,
        rule: Rule,
        action: TagProspectAction,
        event_type: str,
        data: dict[str, Any],
    ) -> Outcome:
        prospect = await self._prospect(session, rule, event_type, data, lock=True)
        remove = set(normalize_tags(action.remove))
        tags = [tag for tag in prospect.tags if tag not in remove]
        tags += [tag for tag in normalize_tags(action.add) if tag not in tags]
        added = [tag for tag in tags if tag not in prospect.tags]
        removed = [tag for tag in prospect.tags if tag not in tags]
        result: dict[str, Any] = {"prospect_id": str(prospect.id), "added": added, "removed": removed}
        if not added and not removed:
            return Outcome(summary=f"Tags of {prospect.name} already as wanted", result=result)
        if len(tags) > MAX_TAGS:
            raise ActionFailed(f"The prospect {prospect.name!r} would have more than {MAX_TAGS} tags.")
        await retag_prospect(self.events, session, prospect, tags, by_automation=True)
        changes = [f"+{tag}" for tag in added] + [f"-{tag}" for tag in removed]
        return Outcome(summary=f"Tagged {prospect.name}: {' '.join(changes)}"[:500], result=result)
