"""Content drafts and publishing.

Publishing sets ``status=published`` and ``published_at`` and emits ``content_published`` in the
same transaction; publishing twice is a 409, and published content is no longer editable (it is
what went out). There is no channel integration yet: publishing records the fact, and whoever
consumes ``content_published`` (a webhook, an automation) does the posting.

Creating, editing and deleting a draft emits ``content_updated`` (``action`` created, updated or
deleted; ``changes`` names the edited fields), also in the transaction of the change. An edit
that changes nothing writes nothing and emits nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.content.models import ContentStatus
from aiclone.content.repository import ContentRepository
from aiclone.content.schemas import (
    ContentCreate,
    ContentPage,
    ContentRead,
    ContentUpdate,
    ContentUpdatedData,
)
from aiclone.db import Database, utcnow
from aiclone.errors import Conflict, FieldError, InvalidInput, NotFound, existing, owner_must_exist
from aiclone.events.changes import ChangeEvent
from aiclone.events.log import EventLog
from aiclone.events.types import EventType
from aiclone.fields import clean_text, normalize_tags
from aiclone.keyset import page_of, read_cursor

_NOT_FOUND = "The content does not exist."
_UPDATED = ChangeEvent(EventType.CONTENT_UPDATED, ContentUpdatedData)


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    errors: list[FieldError] = []
    row = dict(values)
    if "title" in row:
        row["title"] = clean_text(row["title"])
        if row["title"] is None:
            errors.append(FieldError(field="title", message="may not be blank"))
    if "body" in row:
        row["body"] = row["body"].strip()
    if "tags" in row:
        try:
            row["tags"] = normalize_tags(row["tags"])
        except ValueError as exc:
            errors.append(FieldError(field="tags", message=str(exc)))
    if errors:
        raise InvalidInput("One or more fields are invalid.", errors=errors)
    return row


async def create_content(
    events: EventLog, session: AsyncSession, user_id: uuid.UUID, data: ContentCreate
) -> ContentRead:
    """Write a content draft and its ``content_updated`` event in the caller's transaction (the
    API, and drafting tasks that land a generated piece)."""
    now = utcnow()
    values = _clean(msgspec.structs.asdict(data))
    item = await ContentRepository(session).insert(
        {
            **values,
            "id": uuid.uuid4(),
            "user_id": user_id,
            "status": ContentStatus.DRAFT.value,
            "created_at": now,
            "updated_at": now,
        }
    )
    await _UPDATED.record(events, session, item, user_id=user_id, action="created")
    return item


@dataclass(eq=False)
class ContentService:
    db: Database
    events: EventLog

    async def create(self, user_id: uuid.UUID, data: ContentCreate) -> ContentRead:
        with owner_must_exist():
            async with self.db.session() as session:
                return await create_content(self.events, session, user_id, data)

    async def get(self, user_id: uuid.UUID, item_id: uuid.UUID) -> ContentRead:
        async with self.db.read_connection() as connection:
            return existing(await ContentRepository(connection).get(user_id, item_id), _NOT_FOUND)

    async def list(
        self,
        user_id: uuid.UUID,
        *,
        status: str | None = None,
        channel: str | None = None,
        tag: str | None = None,
        order: str = "desc",
        limit: int = 50,
        cursor: str | None = None,
    ) -> ContentPage:
        sort_name = f"created_at:{order}"
        after = read_cursor(cursor, sort_name, dt.datetime)
        async with self.db.read_connection() as connection:
            rows = await ContentRepository(connection).find_page(
                user_id,
                status=status,
                channel=channel,
                tag=(clean_text(tag) or "").lower() or None,
                descending=order == "desc",
                after=after,
                limit=limit,
            )
        items, next_cursor = page_of(
            rows, limit=limit, sort=sort_name, key_of=lambda c: c.created_at, id_of=lambda c: c.id
        )
        return ContentPage(items=items, next_cursor=next_cursor)

    async def update(self, user_id: uuid.UUID, item_id: uuid.UUID, data: ContentUpdate) -> ContentRead:
        given = {
            name: value
            for name in data.__struct_fields__
            if (value := getattr(data, name)) is not msgspec.UNSET
        }
        values = _clean(given)
        async with self.db.session() as session:
            repo = ContentRepository(session)
            current = existing(await repo.get(user_id, item_id, for_update=True), _NOT_FOUND)
            if current.status != ContentStatus.DRAFT.value:
                raise Conflict("Published content cannot be edited.")
            changed = {name: value for name, value in values.items() if getattr(current, name) != value}
            if not changed:
                return current
            item = await repo.update(user_id, item_id, {**changed, "updated_at": utcnow()})
            await _UPDATED.record(
                self.events, session, item, user_id=user_id, action="updated", changes=sorted(changed)
            )
            return item

    async def delete(self, user_id: uuid.UUID, item_id: uuid.UUID) -> None:
        async with self.db.session() as session:
            repo = ContentRepository(session)
            current = await repo.get(user_id, item_id, for_update=True)
            if current is None or not await repo.delete(user_id, item_id):
                raise NotFound(_NOT_FOUND)
            await _UPDATED.record(self.events, session, current, user_id=user_id, action="deleted")

    async def publish(self, user_id: uuid.UUID, item_id: uuid.UUID) -> ContentRead:
        now = utcnow()
        async with self.db.session() as session:
            repo = ContentRepository(session)
            current = existing(await repo.get(user_id, item_id, for_update=True), _NOT_FOUND)
            if current.status == ContentStatus.PUBLISHED.value:
                raise Conflict("The content is already published.")
            if not current.body:
                raise InvalidInput(
                    "Content needs a body before it is published.",
                    errors=[FieldError(field="body", message="may not be empty when publishing")],
                )
            item = await repo.update(
                user_id,
                item_id,
                {"status": ContentStatus.PUBLISHED.value, "published_at": now, "updated_at": now},
            )
            await self.events.record(session, user_id=user_id, type=EventType.CONTENT_PUBLISHED, data=item)
        return item
