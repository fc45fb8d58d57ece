"""The changes other domains make to a prospect, each in the caller's transaction.

Outreach counts drafts, sends and booked meetings on the prospect; automations tag it; research
and drafting link tasks to it. They come through these functions rather than the repository, so
what prospects guarantee travels with every write: only the user's own prospect is found (another
user's is ``None``, indistinguishable from a missing one), counters move atomically in SQL, and a
change that others care about writes its ``prospect_updated`` event beside it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.db import utcnow
from aiclone.events.log import EventLog
from aiclone.events.types import EventType
from aiclone.prospects.repository import ProspectRepository
from aiclone.prospects.schemas import ProspectRead, ProspectUpdatedData, UpdateReason


async def find_prospect(
    session: AsyncSession, user_id: uuid.UUID, prospect_id: uuid.UUID, *, lock: bool = False
) -> ProspectRead | None:
    """The user's prospect, or ``None``. ``lock`` takes its row lock first, in the order a
    deletion takes them (the prospect, then its messages), so a racing delete waits instead of
    deadlocking."""
    return await ProspectRepository(session).get(user_id, prospect_id, for_update=lock)


# What each step of outreach adds to the prospect's counters.
_OUTREACH_COUNTS: dict[str, dict[str, Any]] = {
    "drafted": {"drafts": 1},
    "sent": {"emails": 1, "contacted": True},
    "meeting_booked": {"meetings": 1},
}


async def count_outreach(
    session: AsyncSession,
    user_id: uuid.UUID,
    prospect_id: uuid.UUID,
    step: Literal["drafted", "sent", "meeting_booked"],
    *,
    now: dt.datetime,
) -> ProspectRead | None:
    """Count a drafted or sent message or a booked meeting on the prospect, atomically in SQL
    (``None``: not the user's prospect). The caller writes the event that names the change
    (``prospect_updated`` through :func:`record_prospect_updated`, or its own ``outreach_sent``
    carrying the prospect) once the message it concerns exists."""
    return await ProspectRepository(session).bump_counters(
        user_id, prospect_id, now=now, **_OUTREACH_COUNTS[step]
    )


async def retag_prospect(
    events: EventLog, session: AsyncSession, prospect: ProspectRead, tags: list[str], *, by_automation: bool
) -> ProspectRead:
    """Give ``prospect`` (found and locked by the caller) these normalised tags and write
    ``prospect_updated`` (changes ``tags``, reason ``edited``)."""
    (updated,) = await ProspectRepository(session).update(
        prospect.user_id, [prospect.id], {"tags": tags, "updated_at": utcnow()}
    )
    await record_prospect_updated(
        events, session, updated, changes=["tags"], reason="edited", by_automation=by_automation
    )
    return updated


async def record_prospect_updated(
    events: EventLog,
    session: AsyncSession,
    prospect: ProspectRead,
    *,
    changes: list[str],
    reason: UpdateReason,
    outreach_id: uuid.UUID | None = None,
    by_automation: bool = False,
) -> None:
    """Write ``prospect_updated`` in the caller's transaction."""
    data = ProspectUpdatedData(
        *msgspec.structs.astuple(prospect), changes=changes, reason=reason, outreach_id=outreach_id
    )
    await events.record(
        session,
        user_id=prospect.user_id,
        type=EventType.PROSPECT_UPDATED,
        data=data,
        by_automation=by_automation,
    )
