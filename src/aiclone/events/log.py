"""Recording events in the caller's transaction.

``EventLog.record`` is the one way to write an event. In the same transaction it

1. takes the user's next ``seq`` from ``event_counters`` (an upsert that row-locks the counter
   until commit, so a user's events are numbered in commit order, with no gaps), and reads the
   same row's ``config_version`` for the hooks' cached look-ups (:mod:`aiclone.events.config`);
2. inserts the ``events`` row;
3. runs every registered :class:`InTransactionHook` (webhook deliveries, analytics counters…);
4. on PostgreSQL, queues the event's ``pg_notify`` payload for the end of the transaction.

On PostgreSQL steps 1 and 2 are one statement (a data-modifying CTE: the upsert, and the insert
that takes its ``seq``). The payloads of every event a transaction records are notified by one
statement, the transaction's last (:func:`~aiclone.db.before_commit`; the server delivers them
only if it commits), in the order live consumers have always seen: a payload is queued after the
hooks ran, so the events a hook records come before the one that caused them. A savepoint that
rolls back takes its payloads off the queue, as the server would drop its NOTIFYs. SQLite has no
data-modifying CTEs and no NOTIFY: the upsert and the insert are two statements (both
in-process). The statements are built once, as text with typed parameters, and run on the
session's connection: building a Core insert and its upsert clause per call, and the ORM's
execution path, cost several times the statement itself (bench/README.md, "Write path").

After a successful commit, :class:`~aiclone.db.Database` hands the session's recorded events to
the broker for in-process fan-out; a rolled-back transaction publishes nothing.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any, Protocol

import msgspec
from sqlalchemy import (
    BigInteger,
    Boolean,
    String,
    Table,
    TextClause,
    Uuid,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aiclone.db import after_commit, before_commit, utcnow
from aiclone.driver import DriverStatement
from aiclone.errors import InvalidInput
from aiclone.events.broker import NOTIFY_CHANNEL, EventBroker
from aiclone.events.config import note_version
from aiclone.events.models import Event, EventCounter
from aiclone.events.types import EVENT_TYPES, EventRecord

logger = logging.getLogger("aiclone.events")

# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; bigger events travel by reference.
NOTIFY_INLINE_LIMIT = 7000
PENDING_KEY = "aiclone.events.pending"
NOTIFY_KEY = "aiclone.events.notify"


class InTransactionHook(Protocol):
    """Work that must commit or roll back together with an event."""

    async def on_event(self, session: AsyncSession, event: EventRecord) -> None: ...


class EventTooLarge(InvalidInput):
    title = "Event payload too large"


def encode_notification(event: EventRecord) -> str:
    full = msgspec.json.encode(event)
    if len(full) < NOTIFY_INLINE_LIMIT:
        return full.decode()
    return msgspec.json.encode({"user_id": event.user_id, "seq": event.seq, "type": event.type}).decode()


def _typed(statement: str) -> TextClause:
    return text(statement).bindparams(
        bindparam("user_id", type_=Uuid()),
        bindparam("type", type_=String()),
        bindparam("data", type_=Event.__table__.c.data.type),
        bindparam("by_automation", type_=Boolean()),
        bindparam("created_at", type_=Event.__table__.c.created_at.type),
    )


_NEXT_SEQ = text(
    "INSERT INTO event_counters (user_id, last_seq) VALUES (:user_id, 1) ON CONFLICT (user_id)"
    " DO UPDATE SET last_seq = event_counters.last_seq + 1 RETURNING last_seq, config_version"
).bindparams(bindparam("user_id", type_=Uuid()))

# SQLite: after _NEXT_SEQ, in the same transaction.
_INSERT_EVENT = _typed(
    "INSERT INTO events (user_id, seq, type, data, by_automation, created_at)"
    " VALUES (:user_id, :seq, :type, :data, :by_automation, :created_at)"
).bindparams(bindparam("seq", type_=BigInteger()))

# PostgreSQL: the counter and the event in one statement.
_RECORD_PG_CTES = (
    "WITH counter AS ("
    "INSERT INTO event_counters (user_id, last_seq) VALUES (:user_id, 1) ON CONFLICT (user_id)"
    " DO UPDATE SET last_seq = event_counters.last_seq + 1 RETURNING last_seq, config_version"
    "), recorded AS ("
    "INSERT INTO events (user_id, seq, type, data, by_automation, created_at)"
    " SELECT :user_id, last_seq, :type, :data, :by_automation, :created_at FROM counter RETURNING seq"
    ")"
)
# The new seq and the counter row's config_version, as one row.
_RECORD_PG_RESULT = " SELECT recorded.seq, counter.config_version FROM recorded, counter"
_RECORD_PG = DriverStatement(_typed(_RECORD_PG_CTES + _RECORD_PG_RESULT))


class CompanionRow:
    """A row that is written with its event: on PostgreSQL by the event's own statement.

    The activity feed writes a line for each event it describes and records that line as an
    ``activity`` event; on PostgreSQL the line, the counter and the event are one round trip
    (a third data-modifying CTE, executed whether or not the query reads it). On SQLite the row
    is inserted just before the event. Every column named is given by the caller; a value is
    passed to :meth:`EventLog.record` as ``along_with=(companion, {column: value})``.
    """

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        types = [bindparam(f"row_{name}", type_=table.c[name].type) for name in self.columns]
        self.insert = DriverStatement(insert(table).values(dict(zip(self.columns, types, strict=True))))
        # Our own table's and columns' names, quoted; the values are parameters.
        names = ", ".join(f'"{name}"' for name in self.columns)
        values = ", ".join(f":row_{name}" for name in self.columns)
        row_sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({values})'  # noqa: S608 - see above
        statement = f"{_RECORD_PG_CTES}, row AS ({row_sql}){_RECORD_PG_RESULT}"
        self.record_pg = DriverStatement(_typed(statement).bindparams(*types))

    def parameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {f"row_{name}": values[name] for name in self.columns}


_NOTIFY = DriverStatement(text("SELECT pg_notify(:channel, :payload)"))
# Several payloads in array order (a function scan returns the elements in order).
_NOTIFY_ALL = DriverStatement(
    text("SELECT count(pg_notify(:channel, p)) FROM unnest(CAST(:payloads AS text[])) AS p")
)


async def _notify(connection: AsyncConnection, payloads: list[str]) -> None:
    if len(payloads) == 1:
        await _NOTIFY.execute(connection, {"channel": NOTIFY_CHANNEL, "payload": payloads[0]})
    elif payloads:
        await _NOTIFY_ALL.execute(connection, {"channel": NOTIFY_CHANNEL, "payloads": payloads})


class EventLog:
    def __init__(self, broker: EventBroker, *, max_payload_bytes: int = 256 * 1024) -> None:
        self.broker = broker
        self.max_payload_bytes = max_payload_bytes
        self._hooks: list[InTransactionHook] = []

    def add_hook(self, hook: InTransactionHook) -> None:
        self._hooks.append(hook)

    @property
    def hooks(self) -> tuple[InTransactionHook, ...]:
        return tuple(self._hooks)

    async def record(
        self,
        session: AsyncSession,
        *,
        user_id: uuid.UUID,
        type: str,
        data: msgspec.Struct | dict[str, Any],
        by_automation: bool = False,
        along_with: tuple[CompanionRow, Mapping[str, Any]] | None = None,
    ) -> EventRecord:
        if type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {type!r}")
        payload: dict[str, Any] = msgspec.to_builtins(data) if isinstance(data, msgspec.Struct) else data
        size = len(msgspec.json.encode(payload))
        if size > self.max_payload_bytes:
            raise EventTooLarge(
                f"The event payload is {size} bytes; the limit is {self.max_payload_bytes} bytes."
            )
        now = utcnow()
        params: dict[str, Any] = {
            "user_id": user_id,
            "type": type,
            "data": payload,
            "by_automation": by_automation,
            "created_at": now,
        }
        connection = await session.connection()
        if connection.dialect.name == "postgresql":
            if along_with is None:
                (seq, version), *_ = await _RECORD_PG.rows(connection, params)
            else:
                companion, values = along_with
                (seq, version), *_ = await companion.record_pg.rows(
                    connection, {**params, **companion.parameters(values)}
                )
        else:
            if along_with is not None:
                companion, values = along_with
                await companion.insert.execute(connection, companion.parameters(values))
            seq, version = (await connection.execute(_NEXT_SEQ, {"user_id": user_id})).one()
            params["seq"] = seq
            await connection.execute(_INSERT_EVENT, params)
        seq = int(seq)
        note_version(session, user_id, int(version))
        event = EventRecord(
            user_id=user_id, seq=seq, type=type, data=payload, created_at=now, by_automation=by_automation
        )
        for hook in self._hooks:
            await hook.on_event(session, event)
        if connection.dialect.name == "postgresql":
            # After the hooks, as the live consumers expect (the events hooks record come first).
            payloads: list[str] | None = session.info.get(NOTIFY_KEY)
            if payloads is None:
                payloads = session.info[NOTIFY_KEY] = []
                queued = payloads
                before_commit(session, lambda: _notify(connection, queued))
            payloads.append(encode_notification(event))
        self.publish_after_commit(session, (event,))
        return event

    def publish_after_commit(self, session: AsyncSession, events: Iterable[EventRecord]) -> None:
        """Add ``events`` to the session's list handed to the broker once it commits."""
        pending: list[EventRecord] | None = session.info.get(PENDING_KEY)
        if pending is None:
            pending = session.info[PENDING_KEY] = []
            batch = pending
            after_commit(session, lambda: self.broker.publish(batch))
        pending.extend(events)

    @contextlib.asynccontextmanager
    async def savepoint(self, session: AsyncSession) -> AsyncIterator[None]:
        """A SAVEPOINT whose events are forgotten if it rolls back.

        Work in it that fails rolls back alone, and the events it recorded are taken off the
        list published after commit and their payloads off the NOTIFY queue: their rows are gone
        and their ``seq`` numbers will be used again, so no live subscriber may see them.
        """
        marks = {key: len(session.info.get(key) or ()) for key in (PENDING_KEY, NOTIFY_KEY)}
        try:
            async with session.begin_nested():
                yield
        except BaseException:
            for key, mark in marks.items():
                queue: list[Any] | None = session.info.get(key)
                if queue is not None:
                    del queue[mark:]
            raise


async def events_after(
    session: AsyncSession, user_id: uuid.UUID, after_seq: int, *, limit: int = 500, types: Sequence[str] = ()
) -> list[EventRecord]:
    query = select(
        Event.user_id, Event.seq, Event.type, Event.data, Event.created_at, Event.by_automation
    ).where(Event.user_id == user_id, Event.seq > after_seq)
    if types:
        query = query.where(Event.type.in_(list(types)))
    rows = await session.execute(query.order_by(Event.seq).limit(limit))
    return [
        EventRecord(
            user_id=row.user_id,
            seq=row.seq,
            type=row.type,
            data=row.data,
            created_at=row.created_at,
            by_automation=row.by_automation,
        )
        for row in rows
    ]


async def latest_seq(session: AsyncSession, user_id: uuid.UUID) -> int:
    value = await session.scalar(select(EventCounter.last_seq).where(EventCounter.user_id == user_id))
    return int(value or 0)


async def oldest_retained_seq(session: AsyncSession, user_id: uuid.UUID) -> int | None:
    value = await session.scalar(select(func.min(Event.seq)).where(Event.user_id == user_id))
    return None if value is None else int(value)


async def prune_before(session: AsyncSession, cutoff: Any, *, batch: int = 5000) -> int:
    """Delete up to ``batch`` events created before ``cutoff``; returns how many went."""
    ids = select(Event.id).where(Event.created_at < cutoff).order_by(Event.id).limit(batch).scalar_subquery()
    result = await session.execute(delete(Event).where(Event.id.in_(ids)))
    return int(result.rowcount)  # type: ignore[attr-defined]
