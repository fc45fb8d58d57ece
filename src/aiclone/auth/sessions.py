"""Sessions: listing them, and ending them so that every instance refuses their tokens at once.

A session is one sign-in and every refresh-token rotation after it (one token family, one
``user_sessions`` row whose id every access token of it carries as ``sid``). Ending sessions
is always the same three writes in the caller's transaction: the row's ``ended_at``, the
family's refresh tokens revoked, and the identity signal, which the gate of every instance
hears on commit (see :mod:`aiclone.auth.identity`). :class:`SessionRevoker` is the one place
that does them; other domains (password reset, account deletion) call it inside their own
transaction rather than writing these tables.
"""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.auth.models import USER_AGENT_MAX_LENGTH
from aiclone.auth.repository import SessionRepository
from aiclone.auth.schemas import SessionList, SessionRead
from aiclone.db import Database, utcnow
from aiclone.errors import NotFound
from aiclone.events.broker import EventBroker

# A user with more open sessions than this sees the most recently used ones.
MAX_LISTED_SESSIONS = 200
_ADDRESS_MAX_LENGTH = 64


class ClientInfo(msgspec.Struct, frozen=True):
    """Where a sign-in came from, as stored on its session (never used for any decision)."""

    user_agent: str = ""
    address: str = ""

    def bounded(self) -> ClientInfo:
        return ClientInfo(self.user_agent[:USER_AGENT_MAX_LENGTH], self.address[:_ADDRESS_MAX_LENGTH])


class SessionRevoker:
    """Ends sessions with the signal, inside an existing transaction (``db.session()``)."""

    def __init__(self, broker: EventBroker) -> None:
        self.broker = broker

    async def end(self, session: AsyncSession, user_id: uuid.UUID, session_id: uuid.UUID) -> bool:
        """End one session of ``user_id``; False when it was not theirs or already ended."""
        ended = await SessionRepository(session).end(user_id, session_id, utcnow())
        await self.broker.signal_identity(session, user_id)
        return ended

    async def end_all(
        self, session: AsyncSession, user_id: uuid.UUID, *, except_session: uuid.UUID | None = None
    ) -> int:
        """End every session of ``user_id`` but ``except_session``; returns how many ended.

        Also the call to make after any change of the user's role, active state or existence:
        the signal it sends makes every instance read the user's row again.
        """
        count = await SessionRepository(session).end_all(user_id, utcnow(), keep=except_session)
        await self.broker.signal_identity(session, user_id)
        return count

    async def announce(self, session: AsyncSession, user_id: uuid.UUID) -> None:
        """Tell every instance, on commit, that what the account shows changed (its name or
        address): they forget what they remember of it (``aiclone.accounts.memory``)."""
        await self.broker.signal_identity(session, user_id)


class SessionService:
    """The signed-in user's own sessions (``/api/auth/sessions``)."""

    def __init__(self, db: Database, revoker: SessionRevoker) -> None:
        self.db = db
        self.revoker = revoker

    async def list_open(self, user_id: uuid.UUID, *, current: uuid.UUID) -> SessionList:
        async with self.db.read_session() as session:
            rows = await SessionRepository(session).open_for_user(user_id, MAX_LISTED_SESSIONS)
        return SessionList(
            items=[
                SessionRead(
                    id=row.id,
                    user_agent=row.user_agent,
                    address=row.client_address,
                    created_at=row.created_at,
                    last_used_at=row.last_used_at,
                    current=row.id == current,
                )
                for row in rows
            ]
        )

    async def end(self, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
        async with self.db.session() as session:
            ended = await self.revoker.end(session, user_id, session_id)
        if not ended:
            # Another user's session is as unknown as one that never existed.
            raise NotFound("No open session with this id.")

    async def end_all(self, user_id: uuid.UUID) -> None:
        async with self.db.session() as session:
            await self.revoker.end_all(session, user_id)
