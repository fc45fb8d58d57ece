"""Recording one event for each of many users in one set of statements (the admin broadcast).

:meth:`aiclone.events.log.EventLog.record` costs a few round trips per event; a broadcast to
every user of an installation made 15,000 of them one after the other (45 to 90 s). This module
writes the same rows with a constant number of statements per batch, and keeps every promise
of the single-event path:

1. **seq**: one multi-row upsert of ``event_counters`` hands each user its next ``seq`` and
   row-locks every counter until commit, exactly as the single-event upsert does, so each
   user's events stay gapless and numbered in commit order (resume by ``Last-Event-ID`` reads
   ``seq > n`` from the table and finds the broadcast like any other event). Counters are
   locked in user-id order, the order every batch of this module uses.
2. **rows**: on PostgreSQL one ``INSERT … SELECT FROM unnest(…)`` of the batch's rows from
   parallel arrays (an executemany is one execution per row in the server, and was the larger
   part of a broadcast's time); on SQLite one executemany.
3. **hooks**: every in-transaction hook of the log sees every event. A hook that offers
   ``on_events(session, events)`` gets the batch at once (the webhook hook looks up the
   subscriptions of the whole batch in one query); the others get one ``on_event`` call each.
4. **fan-out**: on PostgreSQL the same statement issues every notification, one per event
   (``pg_notify`` over ``unnest``), inside the transaction (delivered only on commit); the events
   join the session's list that is handed to the broker after commit, as the single path's are.
   One notification per event is cheap: PostgreSQL (13 and later) checks a new payload against
   the ones already queued in the transaction through a hash table, not a scan, and 15,000
   notifications of one transaction cost about 50 ms to queue and as much to hear
   (bench/README.md, "Broadcast").
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Protocol

import msgspec
from sqlalchemy import bindparam, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.db import utcnow
from aiclone.events.broker import NOTIFY_CHANNEL
from aiclone.events.log import EventLog, EventTooLarge, InTransactionHook, encode_notification
from aiclone.events.models import Event
from aiclone.events.types import EVENT_TYPES, EventRecord

# Each user's counter row, incremented once; the rows come back with the seq they took.
_PG_NEXT_SEQS = text(
    "INSERT INTO event_counters (user_id, last_seq)"
    " SELECT u, 1 FROM unnest(CAST(:user_ids AS uuid[])) AS u"
    " ON CONFLICT (user_id) DO UPDATE SET last_seq = event_counters.last_seq + 1"
    " RETURNING user_id, last_seq"
)
# SQLite stores a UUID as its 32 hex digits; ``WHERE true`` lets the parser see the upsert.
_SQLITE_NEXT_SEQS = text(
    "INSERT INTO event_counters (user_id, last_seq)"
    " SELECT value, 1 FROM json_each(:user_ids) WHERE true"
    " ON CONFLICT (user_id) DO UPDATE SET last_seq = event_counters.last_seq + 1"
    " RETURNING user_id, last_seq"
)
# The batch's rows from parallel arrays, and every notification, in one statement: an
# executemany is one execution per row in the server. The data-modifying CTE runs whether or not
# the SELECT reads it.
_PG_INSERT_AND_NOTIFY = text(
    "WITH recorded AS ("
    "INSERT INTO events (user_id, seq, type, data, by_automation, created_at)"
    " SELECT u, s, :type, CAST(d AS jsonb), false, :created_at"
    " FROM unnest(CAST(:user_ids AS uuid[]), CAST(:seqs AS bigint[]), CAST(:data AS text[])) AS t(u, s, d))"
    " SELECT count(pg_notify(:channel, p)) FROM unnest(CAST(:payloads AS text[])) AS p"
).bindparams(bindparam("created_at", type_=Event.__table__.c.created_at.type))


class BatchHook(Protocol):
    """An in-transaction hook that can take many events in one call."""

    async def on_events(self, session: AsyncSession, events: Sequence[EventRecord]) -> None: ...


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def next_seqs(session: AsyncSession, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Take the next ``seq`` of each user (distinct ids), locking their counters until commit."""
    ordered = sorted(user_ids)
    if _is_postgres(session):
        rows = await session.execute(_PG_NEXT_SEQS, {"user_ids": ordered})
        return {row[0]: int(row[1]) for row in rows}
    encoded = msgspec.json.encode([u.hex for u in ordered]).decode()
    rows = await session.execute(_SQLITE_NEXT_SEQS, {"user_ids": encoded})
    return {uuid.UUID(row[0]): int(row[1]) for row in rows}


async def record_for_each(
    session: AsyncSession,
    log: EventLog,
    *,
    type: str,
    payloads: Sequence[tuple[uuid.UUID, dict[str, Any]]],
) -> list[EventRecord]:
    """Record one ``type`` event per ``(user_id, data)`` in the caller's transaction.

    Users must be distinct. Returns the events in user-id order. The same checks as
    :meth:`EventLog.record` apply to every payload; one that fails refuses the whole batch.
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    if not payloads:
        return []
    encoded = {user_id: msgspec.json.encode(data) for user_id, data in payloads}
    if len(encoded) != len(payloads):
        raise ValueError("record_for_each needs distinct users")
    largest = max(len(body) for body in encoded.values())
    if largest > log.max_payload_bytes:
        raise EventTooLarge(
            f"The event payload is {largest} bytes; the limit is {log.max_payload_bytes} bytes."
        )
    seqs = await next_seqs(session, list(encoded))
    now = utcnow()
    events = [
        EventRecord(user_id=user_id, seq=seqs[user_id], type=type, data=data, created_at=now)
        for user_id, data in sorted(payloads, key=lambda item: item[0])
    ]
    if _is_postgres(session):
        await session.execute(
            _PG_INSERT_AND_NOTIFY,
            {
                "type": type,
                "created_at": now,
                "user_ids": [e.user_id for e in events],
                "seqs": [e.seq for e in events],
                "data": [encoded[e.user_id].decode() for e in events],
                "channel": NOTIFY_CHANNEL,
                "payloads": [encode_notification(e) for e in events],
            },
        )
    else:
        await session.execute(
            insert(Event.__table__),  # type: ignore[arg-type]
            [
                {
                    "user_id": e.user_id,
                    "seq": e.seq,
                    "type": type,
                    "data": e.data,
                    "by_automation": False,
                    "created_at": now,
                }
                for e in events
            ],
        )
    log.publish_after_commit(session, events)
    for hook in log.hooks:
        await _run_hook(hook, session, events)
    return events


async def _run_hook(hook: InTransactionHook, session: AsyncSession, events: list[EventRecord]) -> None:
    batch = getattr(hook, "on_events", None)
    if batch is not None:
        await batch(session, events)
        return
    for event in events:
        await hook.on_event(session, event)
