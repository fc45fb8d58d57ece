"""Opening event streams, stream credentials, the admin broadcast and the stream status."""

from __future__ import annotations

import logging
import math
import random
import uuid

from aiclone.auth.scopes import Access, AnyCredential
from aiclone.auth.tokens import Principal
from aiclone.db import Database, utcnow
from aiclone.errors import DomainError, FieldError, Forbidden, InvalidInput, TooManyRequests
from aiclone.events.types import EVENT_TYPES
from aiclone.live.credentials import StreamAuthenticator, StreamCredentials
from aiclone.live.frames import preamble
from aiclone.live.hub import StreamHub
from aiclone.live.repository import (
    PresenceRepository,
    StartPoint,
    active_user_ids,
    live_streams_elsewhere,
    start_point,
)
from aiclone.live.schemas import (
    BroadcastRequest,
    BroadcastResult,
    ClusterStreams,
    ConnectionInfo,
    InstanceStreams,
    ResetInfo,
    StreamCookie,
    StreamStatus,
    StreamTicket,
    UserStreams,
)
from aiclone.live.stream import EventStream
from aiclone.notifications.service import NotificationService
from aiclone.settings import Settings

logger = logging.getLogger("aiclone.live")

# Users per transaction: each batch is a constant number of statements (aiclone.events.broadcast);
# the bound keeps the locked counter rows and the statements' parameter lists moderate.
BROADCAST_BATCH = 5000


class StreamsUnavailable(DomainError):
    status = 503
    slug = "unavailable"
    title = "Service unavailable"


def parse_types(raw: str | None) -> frozenset[str] | None:
    if raw is None or not raw.strip():
        return None
    names = {part.strip() for part in raw.split(",") if part.strip()}
    unknown = sorted(names - EVENT_TYPES)
    if unknown:
        raise InvalidInput(
            "Unknown event types.",
            errors=[
                FieldError(
                    field="types",
                    message=f"unknown: {', '.join(unknown)[:200]}; known: {', '.join(sorted(EVENT_TYPES))}",
                )
            ],
        )
    return frozenset(names)


def parse_resume_point(header: str | None, query: int | None) -> int | None:
    """The seq to resume after: the ``Last-Event-ID`` header (reconnects) wins over the query."""
    if header is not None and header.strip():
        value = header.strip()
        if not value.isascii() or not value.isdigit() or len(value) > 18:
            raise InvalidInput(
                "Last-Event-ID must be an event seq.",
                errors=[FieldError(field="Last-Event-ID", message="must be a non-negative integer")],
            )
        return int(value)
    return query


def position_stream(stream: EventStream, resume: int | None, point: StartPoint) -> ResetInfo | None:
    """Where ``stream`` starts: at the present, or after ``resume`` with a replay of what
    followed it; the reset to announce when that point can no longer be honoured."""
    latest, oldest = point.latest_seq, point.oldest_seq
    if resume is None:
        stream.last_seq = latest
        return None
    reset = None
    if resume > latest:
        reset = ResetInfo("unknown_id", resume, latest, oldest)
    elif resume < latest and (oldest is None or oldest > resume + 1):
        reset = ResetInfo("retention", resume, latest, oldest)
    if reset is not None:
        stream.last_seq = latest
        return reset
    stream.last_seq = resume
    stream.replay = resume < latest
    return None


class LiveEventService:
    def __init__(
        self,
        db: Database,
        hub: StreamHub,
        authenticator: StreamAuthenticator,
        notifications: NotificationService,
        settings: Settings,
    ) -> None:
        self.db = db
        self.hub = hub
        self.authenticator = authenticator
        self.notifications = notifications
        self.retry_ms = settings.live.retry_ms
        self.settings = settings

    async def open_stream(
        self,
        credentials: StreamCredentials,
        *,
        types: str | None,
        last_event_id_header: str | None,
        last_event_id: int | None,
        access: Access = AnyCredential(),  # noqa: B008 - an immutable marker
    ) -> EventStream:
        """Authenticate, admit and position a stream; every refusal happens here, before any byte."""
        wanted = parse_types(types)
        resume = parse_resume_point(last_event_id_header, last_event_id)
        identity = await self.authenticator.authenticate(credentials, access)
        hub = self.hub
        if hub.stopping:
            raise StreamsUnavailable("This instance is shutting down; reconnect to another one.")
        stream = EventStream(
            hub,
            identity.user_id,
            types=wanted,
            expires_at=identity.expires_at,
            session_id=identity.session_id,
            key_id=identity.key_id,
        )
        if not hub.register(stream):
            raise self._over_cap()
        # Attached to the broker from here on, so nothing committed after the reads below is missed.
        try:
            async with hub.read_engine.connect() as conn:
                point = await start_point(
                    conn,
                    identity.user_id,
                    with_oldest=resume is not None,
                    elsewhere_than=hub.instance_id if hub.peers else None,
                    fresh_since=hub.fresh_since(),
                )
            if point.streams_elsewhere + hub.local_streams(identity.user_id) > hub.max_streams_per_user:
                await self._refuse_unless_elsewhere_is_gone(identity.user_id)
        except BaseException:
            hub.close(stream)
            raise
        reset = position_stream(stream, resume, point)
        connection = ConnectionInfo(
            status="connected",
            instance_id=hub.instance_id,
            server_time=utcnow(),
            latest_seq=point.latest_seq,
            resume_from=resume,
            heartbeat_seconds=hub.heartbeat_seconds,
            expires_at=identity.expires_at,
            types=sorted(wanted) if wanted is not None else None,
        )
        # Jitter the reconnect delay so a restart does not bring every client back at once.
        retry = int(self.retry_ms * random.uniform(0.75, 1.25))  # noqa: S311 - not security relevant
        stream.preamble = preamble(retry, connection, reset)
        logger.debug(
            "event stream opened for user %s via %s, resuming after %s%s",
            identity.user_id,
            identity.via,
            resume,
            f" (reset: {reset.reason})" if reset is not None else "",
        )
        return stream

    async def _refuse_unless_elsewhere_is_gone(self, user_id: uuid.UUID) -> None:
        """Over the cap by the heartbeat count: recount only instances still alive (see the hub)."""
        hub = self.hub
        if hub.liveness is not None:
            async with hub.read_engine.connect() as conn:
                elsewhere = await live_streams_elsewhere(
                    conn, user_id, instance_id=hub.instance_id, fresh_since=hub.fresh_since()
                )
            if elsewhere + hub.local_streams(user_id) <= hub.max_streams_per_user:
                return
        raise self._over_cap()

    def _over_cap(self) -> TooManyRequests:
        # A slot frees when one of the user's streams closes; about one reconnect delay is a fair wait.
        return TooManyRequests(
            f"Too many open event streams: at most {self.hub.max_streams_per_user} per user.",
            retry_after=math.ceil(self.retry_ms / 1000),
        )

    async def issue_ticket(self, principal: Principal) -> StreamTicket:
        return await self.authenticator.issue_ticket(principal)

    def issue_cookie(self, principal: Principal) -> tuple[str, StreamCookie]:
        return self.authenticator.issue_cookie(principal)

    def cookie_secure(self, *, https: bool) -> bool:
        return self.settings.secure_cookies(https=https)

    async def broadcast(self, admin: Principal, request: BroadcastRequest) -> BroadcastResult:
        """Notify every active user, a batch of users per transaction (set-based statements).

        Each user's notification and its event commit together, so users who are offline get it
        on their next resume; earlier batches are already live while later ones are written.
        """
        if not admin.is_admin:
            raise Forbidden("This action needs the admin role.")
        recipients = 0
        after: uuid.UUID | None = None
        while True:
            async with self.db.session() as session:
                batch = await active_user_ids(session, after=after, limit=BROADCAST_BATCH)
                await self.notifications.notify_each(
                    session,
                    batch,
                    title=request.title,
                    body=request.body,
                    level=request.level,
                    link=request.link,
                    data={"broadcast": True},
                )
            recipients += len(batch)
            if len(batch) < BROADCAST_BATCH:
                break
            after = batch[-1]
        logger.info("broadcast notification sent to %d users", recipients, extra={"user_id": str(admin.id)})
        return BroadcastResult(recipients=recipients)

    async def status(
        self, principal: Principal, *, user_id: uuid.UUID | None, per_user_limit: int
    ) -> StreamStatus:
        hub = self.hub
        target = principal.id if user_id is None else user_id
        if target != principal.id and not principal.is_admin:
            raise Forbidden("Only admins may see another user's streams.")
        # This instance's rows first, so the figures include streams opened a moment ago.
        await hub.flush()
        fresh = hub.fresh_since()
        async with self.db.read_session() as session:
            presence = PresenceRepository(session)
            elsewhere = await presence.user_streams(
                target, fresh_since=fresh, except_instance=hub.instance_id
            )
            cluster = None
            if principal.is_admin and user_id is None:
                instances = await presence.instances(fresh_since=fresh)
                total, users = await presence.totals(fresh_since=fresh)
                busiest = await presence.busiest_users(fresh_since=fresh, limit=per_user_limit + 1)
                cluster = ClusterStreams(
                    total_streams=total,
                    users_online=users,
                    instances=[
                        InstanceStreams(
                            instance_id=row[0],
                            started_at=row[1],
                            heartbeat_at=row[2],
                            streams=int(row[3]),
                            users=int(row[4]),
                        )
                        for row in instances
                    ],
                    per_user=[
                        UserStreams(user_id=row[0], streams=int(row[1])) for row in busiest[:per_user_limit]
                    ],
                    per_user_truncated=len(busiest) > per_user_limit,
                )
        return StreamStatus(
            user_id=target,
            streams=elsewhere + hub.local_streams(target),
            max_streams=hub.max_streams_per_user,
            instance_id=hub.instance_id,
            cluster=cluster,
        )
