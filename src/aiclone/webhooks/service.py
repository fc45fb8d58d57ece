"""Webhook endpoints for their owner: CRUD, secrets, the delivery log's reads and recovery.

Endpoints belong to one user; another user's endpoint or delivery is reported as missing. The
secret is returned in full only by create and rotate-secret; everywhere else it is masked.
Manual sends (test, retry now) are :mod:`.manual`'s; this service hands them on.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field

import msgspec

from aiclone.db import Database, utcnow
from aiclone.errors import Conflict, FieldError, InvalidInput
from aiclone.events.config import bump_config_version
from aiclone.events.types import EVENT_TYPES
from aiclone.pagination import decode_cursor, encode_cursor
from aiclone.settings.webhooks import WebhookSettings
from aiclone.webhooks.flavours import Renderer
from aiclone.webhooks.log import DeliveryLog, delivery_read
from aiclone.webhooks.manual import ManualSends, read_delivery
from aiclone.webhooks.models import DeliveryStatus, EndpointStatus, Flavour, WebhookEndpoint
from aiclone.webhooks.outcomes import OutcomeRecorder
from aiclone.webhooks.queue import DeliveryQueue
from aiclone.webhooks.repository import EndpointRepository
from aiclone.webhooks.schemas import (
    DeliveryDetail,
    DeliveryPage,
    Recovered,
    RotatedSecret,
    WebhookCreate,
    WebhookCreated,
    WebhookPage,
    WebhookPatch,
    WebhookRead,
    WebhookReplace,
)
from aiclone.webhooks.sender import Sender
from aiclone.webhooks.signing import PREFIX, SecretBox, WebhookSecret
from aiclone.webhooks.transport import UnsafeDestination, WebhookNetwork


def validate_event_types(types: list[str]) -> list[str]:
    if "*" in types:
        if len(types) != 1:
            raise InvalidInput(
                "Use either event types or the wildcard.",
                errors=[FieldError(field="event_types", message='"*" must be the only entry')],
            )
        return ["*"]
    unknown = sorted({t for t in types if t not in EVENT_TYPES})
    if unknown:
        raise InvalidInput(
            "Unknown event type.",
            errors=[
                FieldError(
                    field="event_types",
                    message=f"unknown: {', '.join(unknown)}; known: {', '.join(sorted(EVENT_TYPES))}",
                )
            ],
        )
    return sorted(set(types))


def _secret(value: str, field: str = "secret") -> WebhookSecret:
    try:
        return WebhookSecret(value)
    except ValueError as exc:
        raise InvalidInput(
            "The secret is not in the expected format.", errors=[FieldError(field=field, message=str(exc))]
        ) from None


@dataclass(eq=False)
class WebhookService:
    db: Database
    _: KW_ONLY
    network: WebhookNetwork
    sender: Sender
    box: SecretBox
    recorder: OutcomeRecorder
    renderer: Renderer
    settings: WebhookSettings
    # Set by the container: nudges this process's delivery worker after a re-queue.
    wake_workers: Callable[[], None] = field(init=False, default=lambda: None)

    def __post_init__(self) -> None:
        self.max_endpoints_per_user = self.settings.max_endpoints_per_user
        self.secret_overlap = dt.timedelta(seconds=self.settings.secret_overlap_seconds)
        # A manual send holds its delivery as long as the worker's lease would.
        lease = dt.timedelta(seconds=self.settings.lease_seconds)
        manual = ManualSends(self.db, self.sender, self.box, self.recorder, self.renderer, lease)
        # Test sends and "retry now" (:mod:`.manual`), served as this service's own operations.
        self.send_test = manual.send_test
        self.retry = manual.retry

    # --- endpoints ---------------------------------------------------------------------------

    async def create(
        self, owner: uuid.UUID, data: WebhookCreate, *, flavour: str | None = None
    ) -> WebhookCreated:
        """``flavour`` overrides ``data.flavour``: the subscriptions API makes ``zapier`` endpoints."""
        flavour = flavour or data.flavour
        url = await self._checked_url(data.url, flavour)
        types = validate_event_types(data.event_types)
        secret = WebhookSecret.generate() if data.secret is None else _secret(data.secret)
        endpoint_id = uuid.uuid4()
        async with self.db.session() as session:
            repo = EndpointRepository(session)
            await repo.lock_owner(owner)
            await bump_config_version(session, owner)
            if await repo.count(owner) >= self.max_endpoints_per_user:
                raise Conflict(f"A user may have at most {self.max_endpoints_per_user} webhook endpoints.")
            endpoint = await repo.add(
                WebhookEndpoint(
                    id=endpoint_id,
                    user_id=owner,
                    url=url,
                    flavour=flavour,
                    description=data.description.strip(),
                    event_types=types,
                    status=EndpointStatus.ACTIVE.value,
                    secret_sealed=self.box.seal(endpoint_id, secret),
                )
            )
        read = self._read(endpoint)
        return WebhookCreated(**msgspec.structs.asdict(read), secret=secret.reveal())

    async def page(self, owner: uuid.UUID, *, limit: int, cursor: str | None) -> WebhookPage:
        after = decode_cursor(cursor, (dt.datetime, uuid.UUID))
        async with self.db.read_session() as session:
            rows = await EndpointRepository(session).page(
                owner, limit=limit + 1, after=(after[0], after[1]) if after else None
            )
        items = [self._read(row) for row in rows[:limit]]
        next_cursor = encode_cursor(items[-1].created_at, items[-1].id) if len(rows) > limit else None
        return WebhookPage(items=items, next_cursor=next_cursor)

    async def get(self, owner: uuid.UUID, endpoint_id: uuid.UUID) -> WebhookRead:
        async with self.db.read_session() as session:
            return self._read(await EndpointRepository(session).owned(owner, endpoint_id))

    async def replace(self, owner: uuid.UUID, endpoint_id: uuid.UUID, data: WebhookReplace) -> WebhookRead:
        return await self._update(
            owner,
            endpoint_id,
            url=data.url,
            event_types=data.event_types,
            description=data.description,
            status=data.status,
        )

    async def patch(self, owner: uuid.UUID, endpoint_id: uuid.UUID, data: WebhookPatch) -> WebhookRead:
        return await self._update(
            owner,
            endpoint_id,
            url=None if data.url is msgspec.UNSET else data.url,
            event_types=None if data.event_types is msgspec.UNSET else data.event_types,
            description=None if data.description is msgspec.UNSET else data.description,
            status=None if data.status is msgspec.UNSET else data.status,
        )

    async def _update(
        self,
        owner: uuid.UUID,
        endpoint_id: uuid.UUID,
        *,
        url: str | None,
        event_types: list[str] | None,
        description: str | None,
        status: str | None,
    ) -> WebhookRead:
        types = None if event_types is None else validate_event_types(event_types)
        async with self.db.session() as session:
            endpoint = await EndpointRepository(session).owned(owner, endpoint_id, lock=True)
            await bump_config_version(session, endpoint.user_id)
            if endpoint.flavour == Flavour.ZAPIER.value and (
                (url is not None and url != endpoint.url)
                or (types is not None and types != list(endpoint.event_types))
            ):
                raise Conflict(
                    "This endpoint is a Zapier subscription: Zapier manages its URL and event."
                    " Pause or delete it here, or change the Zap."
                )
            checked_url = None if url is None else await self._checked_url(url, endpoint.flavour)
            now = utcnow()
            if checked_url is not None:
                endpoint.url = checked_url
            if types is not None:
                endpoint.event_types = types
            if description is not None:
                endpoint.description = description.strip()
            if status is not None and status != endpoint.status:
                if status == EndpointStatus.ACTIVE.value:
                    # Re-enabling (also a failed endpoint) starts a clean slate.
                    endpoint.consecutive_failures = 0
                    endpoint.failing_since = None
                    endpoint.failure_notified_at = None
                    endpoint.disabled_at = None
                    endpoint.disabled_reason = None
                else:
                    endpoint.disabled_at = now
                    endpoint.disabled_reason = "paused by its owner"
                    await self.recorder.stop_deliveries(
                        session, endpoint, reason="endpoint paused by its owner", now=now
                    )
                endpoint.status = status
            endpoint.updated_at = now
            await session.flush()
            return self._read(endpoint)

    async def delete(self, owner: uuid.UUID, endpoint_id: uuid.UUID) -> None:
        async with self.db.session() as session:
            repo = EndpointRepository(session)
            endpoint = await repo.owned(owner, endpoint_id, lock=True)
            await bump_config_version(session, endpoint.user_id)
            await repo.delete(endpoint)

    async def rotate_secret(
        self, owner: uuid.UUID, endpoint_id: uuid.UUID, new_secret: str | None
    ) -> RotatedSecret:
        secret = WebhookSecret.generate() if new_secret is None else _secret(new_secret)
        async with self.db.session() as session:
            endpoint = await EndpointRepository(session).owned(owner, endpoint_id, lock=True)
            now = utcnow()
            if self.secret_overlap > dt.timedelta(0) and self._readable(endpoint):
                # Only the secret being replaced overlaps; an older previous one is dropped now.
                endpoint.previous_secret_sealed = endpoint.secret_sealed
                endpoint.previous_secret_expires_at = now + self.secret_overlap
            else:
                endpoint.previous_secret_sealed = None
                endpoint.previous_secret_expires_at = None
            endpoint.secret_sealed = self.box.seal(endpoint.id, secret)
            endpoint.updated_at = now
            expires = endpoint.previous_secret_expires_at
        return RotatedSecret(secret=secret.reveal(), previous_secret_expires_at=expires)

    # --- deliveries --------------------------------------------------------------------------

    async def deliveries(
        self,
        owner: uuid.UUID,
        endpoint_id: uuid.UUID,
        *,
        limit: int,
        cursor: str | None,
        status: str | None,
        event_type: str | None,
    ) -> DeliveryPage:
        after = decode_cursor(cursor, (dt.datetime, uuid.UUID))
        async with self.db.read_session() as session:
            await EndpointRepository(session).owned(owner, endpoint_id)
            rows = await DeliveryLog(session).page(
                endpoint_id,
                limit=limit + 1,
                status=status,
                event_type=event_type,
                after=(after[0], after[1]) if after else None,
            )
        items = [delivery_read(row) for row in rows[:limit]]
        next_cursor = encode_cursor(items[-1].created_at, items[-1].id) if len(rows) > limit else None
        return DeliveryPage(items=items, next_cursor=next_cursor)

    async def delivery(
        self, owner: uuid.UUID, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> DeliveryDetail:
        return await read_delivery(self.db, owner, endpoint_id, delivery_id)

    async def recover(
        self, owner: uuid.UUID, endpoint_id: uuid.UUID, since: dt.datetime, until: dt.datetime | None
    ) -> Recovered:
        if since.tzinfo is None or (until is not None and until.tzinfo is None):
            raise InvalidInput(
                "Times need a time zone.", errors=[FieldError(field="since", message="use ISO 8601 with Z")]
            )
        if until is not None and until <= since:
            raise InvalidInput(
                "The range is empty.", errors=[FieldError(field="until", message="must be after since")]
            )
        async with self.db.session() as session:
            endpoint = await EndpointRepository(session).owned(owner, endpoint_id, lock=True)
            if endpoint.status != EndpointStatus.ACTIVE.value:
                raise Conflict("The endpoint is not active; re-enable it before recovering deliveries.")
            deliveries = DeliveryQueue(session)
            # Requeued deliveries are no longer failed; they count again once they settle.
            await self.recorder.counters.unsettled(
                session,
                user_id=endpoint.user_id,
                status=DeliveryStatus.FAILED.value,
                times=await deliveries.failed_finish_times(endpoint_id, since=since, until=until),
            )
            count = await deliveries.requeue_failed(endpoint_id, since=since, until=until)
        if count:
            self.wake_workers()
        return Recovered(requeued=count)

    # --- helpers -----------------------------------------------------------------------------

    async def _checked_url(self, url: str, flavour: str) -> str:
        try:
            return await self.network.check(url, flavour=flavour)
        except UnsafeDestination as exc:
            raise InvalidInput(
                "The URL may not receive webhooks.", errors=[FieldError(field="url", message=str(exc))]
            ) from None

    def _readable(self, endpoint: WebhookEndpoint) -> bool:
        try:
            self.box.open(endpoint.id, endpoint.secret_sealed)
        except ValueError:
            return False
        return True

    def _read(self, endpoint: WebhookEndpoint) -> WebhookRead:
        try:
            hint = self.box.open(endpoint.id, endpoint.secret_sealed).masked()
        except ValueError:
            hint = f"{PREFIX}… (unreadable: rotate it)"
        expires = endpoint.previous_secret_expires_at
        return WebhookRead(
            id=endpoint.id,
            url=endpoint.url,
            flavour=endpoint.flavour,  # type: ignore[arg-type]
            event_types=list(endpoint.event_types),
            description=endpoint.description,
            status=endpoint.status,  # type: ignore[arg-type]
            secret_hint=hint,
            previous_secret_expires_at=expires if expires is not None and expires > utcnow() else None,
            consecutive_failures=endpoint.consecutive_failures,
            failing_since=endpoint.failing_since,
            disabled_at=endpoint.disabled_at,
            disabled_reason=endpoint.disabled_reason,
            last_success_at=endpoint.last_success_at,
            last_failure_at=endpoint.last_failure_at,
            created_at=endpoint.created_at,
            updated_at=endpoint.updated_at,
        )
