"""Automation rules: validation beyond the schema, the per-user cap, and manual runs.

Rule changes (create, edit, delete) write no event: there is no event type for them, and the
rules are the user's own configuration, read back through this API. Each bumps the user's
``config_version`` first in its transaction, before any rule row is touched, which is how the
event hook's cached rules learn of it (:mod:`aiclone.events.config`). Runs are recorded as
described in :mod:`aiclone.automations.runs`.

A manual run (``trigger``) runs the action once with the given sample event data, whatever the
conditions say and even if the rule is disabled (that is how a rule is tried out before it is
switched on). It is recorded like an automatic run, with ``manual: true`` and no triggering
event; a failing action is an outcome of the run, answered with ``status: "failed"``, not an
HTTP error.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from aiclone.automations.conditions import condition_errors, matches
from aiclone.automations.repository import AutomationRepository
from aiclone.automations.runs import AutomationRunner
from aiclone.automations.schemas import (
    MAX_SAMPLE_BYTES,
    RESEARCH_EVENTS,
    Action,
    AutomationCreate,
    AutomationPage,
    AutomationRead,
    AutomationUpdate,
    Condition,
    CreateResearchTaskAction,
    TagProspectAction,
    TriggerResult,
)
from aiclone.db import Database, utcnow
from aiclone.errors import Conflict, FieldError, InvalidInput, NotFound, existing, owner_must_exist
from aiclone.events.config import bump_config_version
from aiclone.fields import normalize_tags
from aiclone.keyset import page_of, read_cursor

_NOT_FOUND = "No such automation."
_SORT = "created_at:desc"


def _rule_errors(trigger_event: str, conditions: list[Condition], action: Action) -> list[FieldError]:
    errors = condition_errors([msgspec.structs.asdict(c) for c in conditions])
    if isinstance(action, CreateResearchTaskAction) and trigger_event in RESEARCH_EVENTS:
        errors.append(
            FieldError(
                field="action.type",
                message=f"create_research_task cannot run on {trigger_event}: the new task's own"
                " events would trigger it again",
            )
        )
    if isinstance(action, TagProspectAction):
        add, remove = normalize_tags(action.add), normalize_tags(action.remove)
        if not add and not remove:
            errors.append(FieldError(field="action.add", message="add or remove at least one tag"))
        if both := sorted(set(add) & set(remove)):
            errors.append(FieldError(field="action.remove", message=f"also in add: {', '.join(both)}"))
    return errors


def _stored_action(action: Action) -> dict[str, Any]:
    stored: dict[str, Any] = msgspec.to_builtins(action)
    if isinstance(action, TagProspectAction):
        stored["add"], stored["remove"] = normalize_tags(action.add), normalize_tags(action.remove)
    return stored


class AutomationService:
    def __init__(self, db: Database, runner: AutomationRunner, *, max_per_user: int = 100) -> None:
        self.db = db
        self.runner = runner
        self.max_per_user = max_per_user

    async def create(self, user_id: uuid.UUID, data: AutomationCreate) -> AutomationRead:
        name = data.name.strip()
        errors = [] if name else [FieldError(field="name", message="may not be blank")]
        errors += _rule_errors(data.trigger_event, data.conditions, data.action)
        if errors:
            raise InvalidInput("The automation is not valid.", errors=errors)
        now = utcnow()
        with owner_must_exist():
            async with self.db.session() as session:
                await bump_config_version(session, user_id)
                repo = AutomationRepository(session)
                if await repo.count(user_id) >= self.max_per_user:
                    raise Conflict(f"A user may have at most {self.max_per_user} automations.")
                return await repo.insert(
                    {
                        "id": uuid.uuid4(),
                        "user_id": user_id,
                        "name": name,
                        "enabled": data.enabled,
                        "trigger_event": data.trigger_event,
                        "conditions": msgspec.to_builtins(data.conditions),
                        "action": _stored_action(data.action),
                        "run_count": 0,
                        "failure_count": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                )

    async def get(self, user_id: uuid.UUID, automation_id: uuid.UUID) -> AutomationRead:
        async with self.db.read_connection() as connection:
            return existing(await AutomationRepository(connection).get(user_id, automation_id), _NOT_FOUND)

    async def list(
        self,
        user_id: uuid.UUID,
        *,
        enabled: bool | None = None,
        trigger_event: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> AutomationPage:
        after = read_cursor(cursor, _SORT, dt.datetime)
        async with self.db.read_connection() as connection:
            rows = await AutomationRepository(connection).find_page(
                user_id, enabled=enabled, trigger_event=trigger_event, after=after, limit=limit
            )
        items, next_cursor = page_of(
            rows, limit=limit, sort=_SORT, key_of=lambda a: a.created_at, id_of=lambda a: a.id
        )
        return AutomationPage(items=items, next_cursor=next_cursor)

    async def update(
        self, user_id: uuid.UUID, automation_id: uuid.UUID, data: AutomationUpdate
    ) -> AutomationRead:
        values: dict[str, Any] = {}
        errors: list[FieldError] = []
        if data.name is not msgspec.UNSET:
            values["name"] = data.name.strip()
            if not values["name"]:
                errors.append(FieldError(field="name", message="may not be blank"))
        if data.enabled is not msgspec.UNSET:
            values["enabled"] = data.enabled
        if errors:
            raise InvalidInput("The automation is not valid.", errors=errors)
        async with self.db.session() as session:
            repo = AutomationRepository(session)
            current = existing(await repo.get(user_id, automation_id), _NOT_FOUND)
            trigger_event = (
                current.trigger_event if data.trigger_event is msgspec.UNSET else data.trigger_event
            )
            conditions = current.conditions if data.conditions is msgspec.UNSET else data.conditions
            action = current.action if data.action is msgspec.UNSET else data.action
            if rule_errors := _rule_errors(trigger_event, conditions, action):
                raise InvalidInput("The automation is not valid.", errors=rule_errors)
            if data.trigger_event is not msgspec.UNSET:
                values["trigger_event"] = trigger_event
            if data.conditions is not msgspec.UNSET:
                values["conditions"] = msgspec.to_builtins(conditions)
            if data.action is not msgspec.UNSET:
                values["action"] = _stored_action(action)
            if not values:
                return current
            # Before the rule's row is locked by its update: the order event transactions take.
            await bump_config_version(session, user_id)
            updated = await repo.update(user_id, automation_id, {**values, "updated_at": utcnow()})
        assert updated is not None  # the row was read in this transaction
        return updated

    async def delete(self, user_id: uuid.UUID, automation_id: uuid.UUID) -> None:
        async with self.db.session() as session:
            await bump_config_version(session, user_id)
            if not await AutomationRepository(session).delete(user_id, automation_id):
                raise NotFound(_NOT_FOUND)

    async def trigger(
        self, user_id: uuid.UUID, automation_id: uuid.UUID, data: dict[str, Any]
    ) -> TriggerResult:
        size = len(msgspec.json.encode(data))
        if size > MAX_SAMPLE_BYTES:
            raise InvalidInput(
                "The sample event data is too large.",
                errors=[FieldError(field="data", message=f"{size} bytes; at most {MAX_SAMPLE_BYTES}")],
            )
        async with self.db.session() as session:
            repo = AutomationRepository(session)
            rule = existing(await repo.get_rule(user_id, automation_id), _NOT_FOUND)
            outcome = await self.runner.run(
                session, rule, event_type=rule.trigger_event, data=data, trigger_seq=None, manual=True
            )
            automation = await repo.get(user_id, automation_id)
        assert automation is not None
        return TriggerResult(
            status=outcome.status,
            error=outcome.error,
            conditions_matched=matches(rule.conditions, data),
            event_seq=None if outcome.event is None else outcome.event.seq,
            event=outcome.data,
            automation=automation,
        )
