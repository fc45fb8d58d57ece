"""The ``<thing>_updated`` event of a row the user creates, edits and deletes.

Its payload is the row's read struct with two fields more: ``action`` (created, updated or
deleted) and ``changes`` (the fields an update changed; empty otherwise). For a delete the row is
the one that was there, read before the delete in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Literal

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.events.log import EventLog

ChangeAction = Literal["created", "updated", "deleted"]


class ChangeEvent:
    """One event type and its payload struct, the row's read struct plus ``action`` and ``changes``."""

    def __init__(self, type: str, payload: Callable[..., msgspec.Struct]) -> None:
        self.type = type
        self.payload = payload

    async def record(
        self,
        events: EventLog,
        session: AsyncSession,
        row: msgspec.Struct,
        *,
        user_id: uuid.UUID,
        action: ChangeAction,
        changes: Sequence[str] = (),
    ) -> None:
        data = self.payload(*msgspec.structs.astuple(row), action=action, changes=[*changes])
        await events.record(session, user_id=user_id, type=self.type, data=data)
