"""Outreach messages: drafts, recording a send, and booked meetings.

There is no mail transport in the product yet: "send" records that the message went out (status
``sent``, ``sent_at``), moves the prospect's counters and emits ``outreach_sent``; delivering it
is left to whoever consumes that event (a webhook, for instance). A sent message is a record and
can no longer be edited or deleted; sending twice is a 409.

Events, each in the transaction of its change:

* creating a draft bumps the prospect's ``drafts_generated`` → ``prospect_updated``
  (reason ``draft_created``, ``outreach_id`` set);
* sending → ``outreach_sent`` (the message plus its prospect with the new counters);
* booking a meeting from a sent message bumps ``meetings_booked`` → ``prospect_updated``
  (reason ``meeting_booked``).

* creating, editing or deleting a draft → ``outreach_updated`` (``action`` created, updated or
  deleted; ``changes`` names the edited fields). An edit that changes nothing emits nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.db import Database, utcnow
from aiclone.errors import Conflict, FieldError, InvalidInput, NotFound, existing
from aiclone.events.changes import ChangeEvent
from aiclone.events.log import EventLog
from aiclone.events.types import EventType
from aiclone.fields import clean_text
from aiclone.keyset import page_of, read_cursor
from aiclone.outreach.models import OutreachStatus
from aiclone.outreach.repository import OutreachRepository
from aiclone.outreach.schemas import (
    OutreachCreate,
    OutreachPage,
    OutreachRead,
    OutreachSentData,
    OutreachUpdate,
    OutreachUpdatedData,
)
from aiclone.prospects.changes import count_outreach, find_prospect, record_prospect_updated

_NOT_FOUND = "The outreach message does not exist."
_UPDATED = ChangeEvent(EventType.OUTREACH_UPDATED, OutreachUpdatedData)


def _body(value: str) -> str:
    body = value.strip()
    if not body:
        raise InvalidInput(
            "One or more fields are invalid.", errors=[FieldError(field="body", message="may not be blank")]
        )
    return body


async def create_draft(
    events: EventLog, session: AsyncSession, user_id: uuid.UUID, data: OutreachCreate
) -> OutreachRead:
    """Write a draft and its events in the caller's transaction (the API, and drafting tasks that
    land a generated message). A prospect that is not the user's is a :class:`NotFound`."""
    body = _body(data.body)
    now = utcnow()
    # The counter bump doubles as the ownership check: no row for another user's prospect.
    prospect = await count_outreach(session, user_id, data.prospect_id, "drafted", now=now)
    if prospect is None:
        raise NotFound("The prospect does not exist.")
    message = await OutreachRepository(session).insert(
        {
            "id": uuid.uuid4(),
            "user_id": user_id,
            "prospect_id": data.prospect_id,
            "channel": data.channel,
            "subject": clean_text(data.subject),
            "body": body,
            "status": OutreachStatus.DRAFT.value,
            "meeting_booked": False,
            "created_at": now,
            "updated_at": now,
        }
    )
    await record_prospect_updated(
        events,
        session,
        prospect,
        changes=["drafts_generated"],
        reason="draft_created",
        outreach_id=message.id,
    )
    await _UPDATED.record(events, session, message, user_id=user_id, action="created")
    return message


@dataclass(eq=False)
class OutreachService:
    db: Database
    events: EventLog

    async def create(self, user_id: uuid.UUID, data: OutreachCreate) -> OutreachRead:
        async with self.db.session() as session:
            return await create_draft(self.events, session, user_id, data)

    async def get(self, user_id: uuid.UUID, message_id: uuid.UUID) -> OutreachRead:
        async with self.db.read_connection() as connection:
            return existing(await OutreachRepository(connection).get(user_id, message_id), _NOT_FOUND)

    async def list(
        self,
        user_id: uuid.UUID,
        *,
        prospect_id: uuid.UUID | None = None,
        status: str | None = None,
        order: str = "desc",
        limit: int = 50,
        cursor: str | None = None,
    ) -> OutreachPage:
        sort_name = f"created_at:{order}"
        after = read_cursor(cursor, sort_name, dt.datetime)
        async with self.db.read_connection() as connection:
            rows = await OutreachRepository(connection).find_page(
                user_id,
                prospect_id=prospect_id,
                status=status,
                descending=order == "desc",
                after=after,
                limit=limit,
            )
        items, next_cursor = page_of(
            rows, limit=limit, sort=sort_name, key_of=lambda m: m.created_at, id_of=lambda m: m.id
        )
        return OutreachPage(items=items, next_cursor=next_cursor)

    async def update(self, user_id: uuid.UUID, message_id: uuid.UUID, data: OutreachUpdate) -> OutreachRead:
        values: dict[str, object] = {}
        if data.channel is not msgspec.UNSET:
            values["channel"] = data.channel
        if data.subject is not msgspec.UNSET:
            values["subject"] = clean_text(data.subject)
        if data.body is not msgspec.UNSET:
            values["body"] = _body(data.body)
        async with self.db.session() as session:
            repo = OutreachRepository(session)
            current = await self._draft(repo, user_id, message_id, action="edited")
            changed = {name: value for name, value in values.items() if getattr(current, name) != value}
            if not changed:
                return current
            message = await repo.update(user_id, message_id, {**changed, "updated_at": utcnow()})
            await _UPDATED.record(
                self.events, session, message, user_id=user_id, action="updated", changes=sorted(changed)
            )
            return message

    async def delete(self, user_id: uuid.UUID, message_id: uuid.UUID) -> None:
        async with self.db.session() as session:
            repo = OutreachRepository(session)
            current = await self._draft(repo, user_id, message_id, action="deleted")
            await repo.delete(user_id, message_id)
            await _UPDATED.record(self.events, session, current, user_id=user_id, action="deleted")

    async def send(self, user_id: uuid.UUID, message_id: uuid.UUID) -> OutreachRead:
        now = utcnow()
        async with self.db.session() as session:
            repo = OutreachRepository(session)
            await self._lock_prospect_of(session, user_id, message_id)
            current = await self._draft(repo, user_id, message_id, action="sent again")
            if current.channel == "email" and not current.subject:
                raise InvalidInput(
                    "An email needs a subject before it is sent.",
                    errors=[FieldError(field="subject", message="required to send an email")],
                )
            message = await repo.update(
                user_id, message_id, {"status": OutreachStatus.SENT.value, "sent_at": now, "updated_at": now}
            )
            prospect = await count_outreach(session, user_id, message.prospect_id, "sent", now=now)
            if prospect is None:  # pragma: no cover - the foreign key keeps the prospect alive
                raise NotFound("The prospect does not exist.")
            data = OutreachSentData(*msgspec.structs.astuple(message), prospect=prospect)
            await self.events.record(session, user_id=user_id, type=EventType.OUTREACH_SENT, data=data)
        return message

    async def book_meeting(self, user_id: uuid.UUID, message_id: uuid.UUID) -> OutreachRead:
        now = utcnow()
        async with self.db.session() as session:
            repo = OutreachRepository(session)
            await self._lock_prospect_of(session, user_id, message_id)
            current = existing(await repo.get(user_id, message_id, for_update=True), _NOT_FOUND)
            if current.status != OutreachStatus.SENT.value:
                raise Conflict("A meeting can only be booked from a sent message.")
            if current.meeting_booked:
                raise Conflict("A meeting was already booked from this message.")
            message = await repo.update(
                user_id, message_id, {"meeting_booked": True, "meeting_booked_at": now, "updated_at": now}
            )
            prospect = await count_outreach(session, user_id, message.prospect_id, "meeting_booked", now=now)
            if prospect is None:  # pragma: no cover - the foreign key keeps the prospect alive
                raise NotFound("The prospect does not exist.")
            await record_prospect_updated(
                self.events,
                session,
                prospect,
                changes=["meetings_booked"],
                reason="meeting_booked",
                outreach_id=message.id,
            )
        return message

    @staticmethod
    async def _lock_prospect_of(session: AsyncSession, user_id: uuid.UUID, message_id: uuid.UUID) -> None:
        """Lock the message's prospect before the message itself.

        Deleting a prospect locks it and then (by cascade) its messages; taking the locks in the
        same order here means a send racing a delete waits instead of deadlocking.
        """
        message = await OutreachRepository(session).get(user_id, message_id)
        if message is not None:
            await find_prospect(session, user_id, message.prospect_id, lock=True)

    @staticmethod
    async def _draft(
        repo: OutreachRepository, user_id: uuid.UUID, message_id: uuid.UUID, *, action: str
    ) -> OutreachRead:
        current = existing(await repo.get(user_id, message_id, for_update=True), _NOT_FOUND)
        if current.status != OutreachStatus.DRAFT.value:
            raise Conflict(f"The message was already sent; it cannot be {action}.")
        return current
