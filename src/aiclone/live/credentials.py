"""Who may open a stream: bearer token, single-use ticket, or the stream-only cookie.

A browser's ``EventSource`` cannot set headers, so two more ways exist besides the bearer token,
each narrower than the token itself:

* **Tickets** (``POST /api/events/ticket``): 256 random bits, valid for at most
  ``AICLONE_SSE_TICKET_TTL_SECONDS`` (≤ 60) and redeemable once, by any instance (only the
  SHA-256 is stored; redemption is one conditional ``UPDATE … RETURNING``). Meant for URLs, where
  a long-lived token must never go. Never logged.
* **The stream cookie** (``POST /api/events/cookie``): a JWT for a separate audience
  (``<jwt audience>:events``), so it is no API bearer token, expiring with the token that asked
  for it. HttpOnly, SameSite=Strict, Path=/api/events, Secure over https or in production. Only
  the stream handler reads it; the rest of the API ignores cookies, so it adds no CSRF surface.

Each way passes the identity gate like any API request: the bearer token and the cookie name
their session, refused once it ended; a ticket is redeemed only while its user exists and is
active (it lives at most a minute, and only a token that passed the gate could ask for it).

An API key (``Authorization: Bearer ack_…``) opens a stream when it holds the stream's scope
(``events:read``, passed in by the route from its marker), and so does a ticket a key asked for;
both streams remember the key and end when it is revoked. The stream cookie is for browsers,
which sign in: keys cannot ask for it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from typing import Literal

import msgspec

from aiclone.auth import keytext
from aiclone.auth.identity import ENDED, IdentityGate
from aiclone.auth.scopes import Access, AnyCredential, check_access
from aiclone.auth.tokens import Principal, TokenCodec
from aiclone.auth.users import UserReads
from aiclone.db import Database, utcnow
from aiclone.errors import Unauthenticated
from aiclone.live.repository import TicketRepository
from aiclone.live.schemas import StreamCookie, StreamTicket
from aiclone.settings import AuthSettings, LiveSettings

COOKIE_NAME = "aiclone_events"
COOKIE_PATH = "/api/events"
COOKIE_AUDIENCE_SUFFIX = ":events"
_MAX_TICKET_LENGTH = 128
_ANY = AnyCredential()


class StreamCredentials(msgspec.Struct, frozen=True):
    """The raw credentials a stream request carried, before any check."""

    authorization: str | None = None
    ticket: str | None = None
    cookie: str | None = None


class StreamIdentity(msgspec.Struct, frozen=True):
    user_id: uuid.UUID
    expires_at: dt.datetime
    via: Literal["bearer", "ticket", "cookie"]
    # The session of the token or cookie; a ticket does not record one (its user is checked).
    session_id: uuid.UUID | None = None
    # The API key behind the stream (directly, or through the ticket it asked for).
    key_id: uuid.UUID | None = None


def hash_ticket(ticket: str) -> str:
    # 256 random bits: a fast hash suffices, and lookups go by hash.
    return hashlib.sha256(ticket.encode()).hexdigest()


class StreamAuthenticator:
    def __init__(
        self, db: Database, auth: AuthSettings, live: LiveSettings, codec: TokenCodec, gate: IdentityGate
    ) -> None:
        self.db = db
        self.codec = codec
        self.gate = gate
        self.users = UserReads(db)
        self.cookie_codec = TokenCodec(
            msgspec.structs.replace(auth, jwt_audience=auth.jwt_audience + COOKIE_AUDIENCE_SUFFIX)
        )
        self.ticket_ttl = live.ticket_ttl_seconds

    async def authenticate(self, credentials: StreamCredentials, access: Access = _ANY) -> StreamIdentity:
        """The stream's identity; ``access`` is what an API key needs (the route's marker)."""
        if credentials.authorization is not None:
            scheme, _, token = credentials.authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("The Authorization header must be 'Bearer <token>'.")
            if keytext.looks_like_key(token.strip()):
                principal = await self.gate.admit_key(token.strip())
                check_access(principal.scopes, access)
                return StreamIdentity(principal.id, principal.expires_at, "bearer", key_id=principal.key_id)
            principal = await self.gate.admit(self.codec.decode(token.strip()))
            return StreamIdentity(principal.id, principal.expires_at, "bearer", principal.session_id)
        if credentials.ticket is not None:
            return await self._redeem(credentials.ticket)
        if credentials.cookie is not None:
            try:
                principal = self.cookie_codec.decode(credentials.cookie)
            except Unauthenticated:
                raise Unauthenticated("The stream cookie is invalid or has expired.") from None
            principal = await self.gate.admit(principal)
            return StreamIdentity(principal.id, principal.expires_at, "cookie", principal.session_id)
        raise Unauthenticated("Missing credentials: a bearer token, a stream ticket or the stream cookie.")

    async def _redeem(self, ticket: str) -> StreamIdentity:
        if not ticket or len(ticket) > _MAX_TICKET_LENGTH:
            raise Unauthenticated("The stream ticket is invalid, used or expired.")
        now = utcnow()
        async with self.db.session() as session:
            row = await TicketRepository(session).redeem(hash_ticket(ticket), now)
        if row is None or row.session_expires_at <= now:
            raise Unauthenticated("The stream ticket is invalid, used or expired.")
        user = await self.users.get(row.user_id)
        if user is None or not user.is_active:
            raise Unauthenticated(ENDED)
        if row.key_id is not None and not await self.gate.stands(row.user_id, None, key_id=row.key_id):
            raise Unauthenticated(ENDED)
        return StreamIdentity(row.user_id, row.session_expires_at, "ticket", key_id=row.key_id)

    async def issue_ticket(self, principal: Principal) -> StreamTicket:
        ticket = secrets.token_urlsafe(32)
        now = utcnow()
        # Never valid past the token that asked for it.
        ttl = min(self.ticket_ttl, max(0, int((principal.expires_at - now).total_seconds())))
        if ttl <= 0:
            raise Unauthenticated("The access token has expired.")
        async with self.db.session() as session:
            await TicketRepository(session).add(
                user_id=principal.id,
                token_hash=hash_ticket(ticket),
                expires_at=now + dt.timedelta(seconds=ttl),
                session_expires_at=principal.expires_at,
                key_id=principal.key_id,
            )
        return StreamTicket(ticket=ticket, expires_in=ttl)

    def issue_cookie(self, principal: Principal) -> tuple[str, StreamCookie]:
        issued = self.cookie_codec.issue(
            user_id=principal.id,
            session_id=principal.session_id,
            email=principal.email,
            role=principal.role,
            expires_at=principal.expires_at,
        )
        if issued.expires_in <= 0:
            raise Unauthenticated("The access token has expired.")
        return issued.token, StreamCookie(expires_in=issued.expires_in)
