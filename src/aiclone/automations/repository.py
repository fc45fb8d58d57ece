"""Automation queries in SQLAlchemy Core.

The event hook reads a user's enabled rules on every event that can trigger one, unless its
cache has them (:mod:`aiclone.automations.hook`): :meth:`AutomationRepository.enabled_rules`
(one trigger type) and :meth:`AutomationRepository.enabled_rules_by_trigger` (every type, what
the cache keeps) are built once and read only the rules' configuration, through the
``(user_id, trigger_event, enabled)`` index. A rule's run bookkeeping is not part of a
:class:`Rule`: it changes on every run, and the failure path reads it fresh
(:meth:`AutomationRepository.failing`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, cast

import msgspec
from sqlalchemy import Row, Table, Uuid, bindparam, delete, func, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aiclone.automations.models import Automation
from aiclone.automations.schemas import Action, AutomationRead, Condition
from aiclone.driver import DriverStatement
from aiclone.keyset import Keyset, page_params, paginate

AUTOMATIONS = cast(Table, Automation.__table__)
_C = AUTOMATIONS.c
READ_COLUMNS = tuple(_C[name] for name in AutomationRead.__struct_fields__)


class Rule(msgspec.Struct, frozen=True):
    """What a run needs of a rule: its configuration, which the event hook may cache.

    Cached rules are shared by the transactions of a process: nothing may change their
    ``conditions`` or ``action`` in place.
    """

    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    trigger_event: str
    conditions: list[dict[str, Any]]
    action: dict[str, Any]


_RULE_COLUMNS = (_C.id, _C.user_id, _C.name, _C.trigger_event, _C.conditions, _C.action)
_ENABLED_RULES = DriverStatement(
    select(*_RULE_COLUMNS)
    .where(
        _C.user_id == bindparam("user_id", type_=Uuid()),
        _C.trigger_event == bindparam("trigger_event"),
        _C.enabled == true(),
    )
    .order_by(_C.created_at, _C.id)
)
_ALL_ENABLED_RULES = DriverStatement(
    select(*_RULE_COLUMNS)
    .where(_C.user_id == bindparam("user_id", type_=Uuid()), _C.enabled == true())
    .order_by(_C.created_at, _C.id)
)
_FAILURE_STATE = DriverStatement(
    select(_C.last_failed_at, _C.last_run_at).where(_C.id == bindparam("automation_id", type_=Uuid()))
)


def _rule(row: Sequence[Any]) -> Rule:
    rule_id, user_id, name, trigger_event, conditions, action = row
    return Rule(
        id=rule_id,
        user_id=user_id,
        name=name,
        trigger_event=trigger_event,
        conditions=conditions,
        action=action,
    )


def to_read(row: Row[Any]) -> AutomationRead:
    values = dict(row._mapping)
    values["conditions"] = msgspec.convert(values["conditions"], list[Condition])
    values["action"] = msgspec.convert(values["action"], Action)
    return AutomationRead(**values)


class AutomationRepository:
    def __init__(self, session: AsyncSession | AsyncConnection) -> None:
        self.session = session

    async def count(self, user_id: uuid.UUID) -> int:
        return int(
            await self.session.scalar(
                select(func.count()).select_from(AUTOMATIONS).where(_C.user_id == user_id)
            )
            or 0
        )

    async def insert(self, values: dict[str, Any]) -> AutomationRead:
        result = await self.session.execute(insert(AUTOMATIONS).values(**values).returning(*READ_COLUMNS))
        return to_read(result.one())

    async def get(self, user_id: uuid.UUID, automation_id: uuid.UUID) -> AutomationRead | None:
        row = (
            await self.session.execute(
                select(*READ_COLUMNS).where(_C.id == automation_id, _C.user_id == user_id)
            )
        ).first()
        return None if row is None else to_read(row)

    async def get_rule(self, user_id: uuid.UUID, automation_id: uuid.UUID) -> Rule | None:
        row = (
            await self.session.execute(
                select(*_RULE_COLUMNS).where(_C.id == automation_id, _C.user_id == user_id)
            )
        ).first()
        return None if row is None else _rule(row)

    async def enabled_rules(self, user_id: uuid.UUID, trigger_event: str) -> list[Rule]:
        # An event of a trigger type whose rules the hook may not cache runs this.
        rows = await _ENABLED_RULES.rows(self.session, {"user_id": user_id, "trigger_event": trigger_event})
        return [_rule(row) for row in rows]

    async def enabled_rules_by_trigger(self, user_id: uuid.UUID) -> dict[str, tuple[Rule, ...]]:
        """The user's enabled rules of every trigger type, each type's in creation order."""
        grouped: dict[str, list[Rule]] = {}
        for row in await _ALL_ENABLED_RULES.rows(self.session, {"user_id": user_id}):
            rule = _rule(row)
            grouped.setdefault(rule.trigger_event, []).append(rule)
        return {trigger: tuple(rules) for trigger, rules in grouped.items()}

    async def failing(self, automation_id: uuid.UUID) -> bool:
        """Whether the rule's latest run failed (read now: every run changes it)."""
        rows = await _FAILURE_STATE.rows(self.session, {"automation_id": automation_id})
        if not rows:
            return False
        last_failed, last_run = rows[0]
        return last_failed is not None and (last_run is None or last_failed >= last_run)

    async def update(
        self, user_id: uuid.UUID, automation_id: uuid.UUID, values: dict[str, Any]
    ) -> AutomationRead | None:
        statement = (
            update(AUTOMATIONS)
            .where(_C.id == automation_id, _C.user_id == user_id)
            .values(**values)
            .returning(*READ_COLUMNS)
        )
        row = (await self.session.execute(statement)).first()
        return None if row is None else to_read(row)

    async def delete(self, user_id: uuid.UUID, automation_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(AUTOMATIONS).where(_C.id == automation_id, _C.user_id == user_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def record_success(self, automation_id: uuid.UUID, now: dt.datetime) -> None:
        # Increments in SQL: two transactions running the same rule never lose a count.
        await self.session.execute(
            update(AUTOMATIONS)
            .where(_C.id == automation_id)
            .values(run_count=_C.run_count + 1, last_run_at=now)
        )

    async def record_failure(self, automation_id: uuid.UUID, now: dt.datetime, error: str) -> None:
        await self.session.execute(
            update(AUTOMATIONS)
            .where(_C.id == automation_id)
            .values(failure_count=_C.failure_count + 1, last_error=error[:500], last_failed_at=now)
        )

    async def find_page(
        self,
        user_id: uuid.UUID,
        *,
        enabled: bool | None,
        trigger_event: str | None,
        after: Keyset | None,
        limit: int,
    ) -> list[AutomationRead]:
        query = select(*READ_COLUMNS).where(_C.user_id == user_id)
        if enabled is not None:
            query = query.where(_C.enabled == enabled)
        if trigger_event is not None:
            query = query.where(_C.trigger_event == trigger_event)
        query = paginate(query, key=_C.created_at, id_column=_C.id, descending=True, after=after is not None)
        rows = await self.session.execute(query, page_params(after, limit))
        return [to_read(row) for row in rows]
