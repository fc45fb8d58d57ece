"""Queries of the live-events tables: stream tickets, instances and their presence counts."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping

import msgspec
from sqlalchemy import Row, Select, and_, delete, func, insert, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aiclone.auth.models import User
from aiclone.events.models import Event, EventCounter
from aiclone.live.liveness import lock_held
from aiclone.live.models import StreamInstance, StreamPresence, StreamTicket

_CHUNK = 500


class StartPoint(msgspec.Struct, frozen=True):
    latest_seq: int
    oldest_seq: int | None
    streams_elsewhere: int


async def start_point(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    *,
    with_oldest: bool,
    elsewhere_than: str | None,
    fresh_since: dt.datetime,
) -> StartPoint:
    """What opening a stream needs, in one round trip (it runs on every connect).

    The user's latest seq, the oldest retained one (only to check a resume point), and the
    streams other live instances hold for the user (only when other instances exist).
    """
    latest = select(EventCounter.last_seq).where(EventCounter.user_id == user_id).scalar_subquery()
    oldest = (
        select(func.min(Event.seq)).where(Event.user_id == user_id).scalar_subquery()
        if with_oldest
        else literal(None)
    )
    elsewhere = (
        _streams_elsewhere(user_id, elsewhere_than, fresh_since).scalar_subquery()
        if elsewhere_than is not None
        else literal(0)
    )
    row = (await conn.execute(select(func.coalesce(latest, 0), oldest, elsewhere))).one()
    return StartPoint(
        latest_seq=int(row[0]),
        oldest_seq=None if row[1] is None else int(row[1]),
        streams_elsewhere=int(row[2] or 0),
    )


async def live_streams_elsewhere(
    conn: AsyncConnection, user_id: uuid.UUID, *, instance_id: str, fresh_since: dt.datetime
) -> int:
    """The user's streams on other instances that are fresh *and* hold their liveness lock.

    PostgreSQL only; asked when the cheaper count of :func:`start_point` would refuse a stream.
    """
    query = _streams_elsewhere(user_id, instance_id, fresh_since).where(lock_held(StreamInstance.id))
    return int((await conn.execute(query)).scalar() or 0)


def _streams_elsewhere(user_id: uuid.UUID, instance_id: str, fresh_since: dt.datetime) -> Select[int]:
    """The sum of the user's streams on the other instances with a fresh heartbeat."""
    return (
        select(func.coalesce(func.sum(StreamPresence.streams), 0))
        .join(StreamInstance, StreamInstance.id == StreamPresence.instance_id)
        .where(
            StreamPresence.user_id == user_id,
            StreamPresence.instance_id != instance_id,
            StreamInstance.heartbeat_at >= fresh_since,
        )
    )


class TicketRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        user_id: uuid.UUID,
        token_hash: str,
        expires_at: dt.datetime,
        session_expires_at: dt.datetime,
        key_id: uuid.UUID | None = None,
    ) -> None:
        await self.session.execute(
            insert(StreamTicket).values(
                id=uuid.uuid4(),
                user_id=user_id,
                token_hash=token_hash,
                expires_at=expires_at,
                session_expires_at=session_expires_at,
                key_id=key_id,
            )
        )

    async def redeem(
        self, token_hash: str, now: dt.datetime
    ) -> Row[uuid.UUID, dt.datetime, uuid.UUID | None] | None:
        """Consume an unused, unexpired ticket in one statement, so only one caller ever wins."""
        result = await self.session.execute(
            update(StreamTicket)
            .where(
                StreamTicket.token_hash == token_hash,
                StreamTicket.used_at.is_(None),
                StreamTicket.expires_at > now,
            )
            .values(used_at=now)
            .returning(StreamTicket.user_id, StreamTicket.session_expires_at, StreamTicket.key_id)
        )
        return result.first()

    async def prune(self, before: dt.datetime, *, batch: int = 5000) -> int:
        ids = (
            select(StreamTicket.id)
            .where(StreamTicket.expires_at < before)
            .order_by(StreamTicket.expires_at)
            .limit(batch)
            .scalar_subquery()
        )
        result = await self.session.execute(delete(StreamTicket).where(StreamTicket.id.in_(ids)))
        return int(result.rowcount)  # type: ignore[attr-defined]


class PresenceRepository:
    """Each instance's open-stream count per user; rows of instances gone quiet are ignored."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _insert(self, table: type[StreamInstance | StreamPresence]) -> postgresql.Insert | sqlite.Insert:
        if self.session.get_bind().dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    async def heartbeat(self, instance_id: str, now: dt.datetime) -> bool:
        """Refresh this instance's heartbeat; False when its row was missing (and is now recreated)."""
        result = await self.session.execute(
            update(StreamInstance).where(StreamInstance.id == instance_id).values(heartbeat_at=now)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            return True
        statement = self._insert(StreamInstance).values(id=instance_id, started_at=now, heartbeat_at=now)
        await self.session.execute(statement.on_conflict_do_nothing(index_elements=[StreamInstance.id]))
        return False

    async def remove_instance(self, instance_id: str) -> None:
        await self.session.execute(delete(StreamPresence).where(StreamPresence.instance_id == instance_id))
        await self.session.execute(delete(StreamInstance).where(StreamInstance.id == instance_id))

    async def prune_instances(self, quiet_since: dt.datetime, *, unlocked_except: str | None = None) -> int:
        """Delete instances silent since ``quiet_since`` and their presence rows.

        With ``unlocked_except`` (PostgreSQL), also every other instance that no longer holds its
        liveness lock: it has crashed, whatever its last heartbeat says.
        """
        gone = StreamInstance.heartbeat_at < quiet_since
        if unlocked_except is not None:
            gone = or_(gone, and_(StreamInstance.id != unlocked_except, ~lock_held(StreamInstance.id)))
        ids = list((await self.session.scalars(select(StreamInstance.id).where(gone))).all())
        if not ids:
            return 0
        await self.session.execute(delete(StreamPresence).where(StreamPresence.instance_id.in_(ids)))
        result = await self.session.execute(delete(StreamInstance).where(StreamInstance.id.in_(ids)))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def write(self, instance_id: str, counts: Mapping[uuid.UUID, int]) -> None:
        gone = [user for user, count in counts.items() if count <= 0]
        live = [{"instance_id": instance_id, "user_id": u, "streams": c} for u, c in counts.items() if c > 0]
        for start in range(0, len(gone), _CHUNK):
            await self.session.execute(
                delete(StreamPresence).where(
                    StreamPresence.instance_id == instance_id,
                    StreamPresence.user_id.in_(gone[start : start + _CHUNK]),
                )
            )
        for start in range(0, len(live), _CHUNK):
            chunk = live[start : start + _CHUNK]
            # A user erased while their stream was still open here has no row to point at any
            # more: skip them rather than fail the write for everyone else.
            ids = [row["user_id"] for row in chunk]
            existing = set((await self.session.scalars(select(User.id).where(User.id.in_(ids)))).all())
            chunk = [row for row in chunk if row["user_id"] in existing]
            if not chunk:
                continue
            statement = self._insert(StreamPresence).values(chunk)
            await self.session.execute(
                statement.on_conflict_do_update(
                    index_elements=[StreamPresence.instance_id, StreamPresence.user_id],
                    set_={"streams": statement.excluded.streams},
                )
            )

    async def peers(self, instance_id: str, *, fresh_since: dt.datetime) -> int:
        """How many other instances are alive."""
        query = select(func.count()).where(
            StreamInstance.id != instance_id, StreamInstance.heartbeat_at >= fresh_since
        )
        return int(await self.session.scalar(query) or 0)

    async def user_streams(
        self, user_id: uuid.UUID, *, fresh_since: dt.datetime, except_instance: str | None = None
    ) -> int:
        query = (
            select(func.coalesce(func.sum(StreamPresence.streams), 0))
            .join(StreamInstance, StreamInstance.id == StreamPresence.instance_id)
            .where(StreamPresence.user_id == user_id, StreamInstance.heartbeat_at >= fresh_since)
        )
        if except_instance is not None:
            query = query.where(StreamPresence.instance_id != except_instance)
        return int(await self.session.scalar(query) or 0)

    async def instances(
        self, *, fresh_since: dt.datetime
    ) -> list[Row[str, dt.datetime, dt.datetime, int, int]]:
        query = (
            select(
                StreamInstance.id,
                StreamInstance.started_at,
                StreamInstance.heartbeat_at,
                func.coalesce(func.sum(StreamPresence.streams), 0),
                func.count(StreamPresence.user_id),
            )
            .outerjoin(StreamPresence, StreamPresence.instance_id == StreamInstance.id)
            .where(StreamInstance.heartbeat_at >= fresh_since)
            .group_by(StreamInstance.id, StreamInstance.started_at, StreamInstance.heartbeat_at)
            .order_by(StreamInstance.started_at, StreamInstance.id)
        )
        return list((await self.session.execute(query)).all())

    async def totals(self, *, fresh_since: dt.datetime) -> tuple[int, int]:
        query = (
            select(
                func.coalesce(func.sum(StreamPresence.streams), 0),
                func.count(func.distinct(StreamPresence.user_id)),
            )
            .join(StreamInstance, StreamInstance.id == StreamPresence.instance_id)
            .where(StreamInstance.heartbeat_at >= fresh_since)
        )
        row = (await self.session.execute(query)).one()
        return int(row[0]), int(row[1])

    async def busiest_users(self, *, fresh_since: dt.datetime, limit: int) -> list[Row[uuid.UUID, int]]:
        total = func.sum(StreamPresence.streams).label("total")
        query = (
            select(StreamPresence.user_id, total)
            .join(StreamInstance, StreamInstance.id == StreamPresence.instance_id)
            .where(StreamInstance.heartbeat_at >= fresh_since)
            .group_by(StreamPresence.user_id)
            .order_by(total.desc(), StreamPresence.user_id)
            .limit(limit)
        )
        return list((await self.session.execute(query)).all())


async def active_user_ids(session: AsyncSession, *, after: uuid.UUID | None, limit: int) -> list[uuid.UUID]:
    query = select(User.id).where(User.is_active.is_(True))
    if after is not None:
        query = query.where(User.id > after)
    return list((await session.scalars(query.order_by(User.id).limit(limit))).all())
