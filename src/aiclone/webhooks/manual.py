"""Sending by hand, during the request: a test event, or "retry now" of one delivery.

A manual send takes the delivery with ``manual_until`` (the workers leave it alone until then),
sends it through the same :class:`~aiclone.webhooks.sender.Sender` as the workers, and records the
attempt as ``manual`` (:meth:`OutcomeRecorder.record_manual`: logged, but the schedule and the
endpoint's health are left alone). Should the process die mid-send, a worker picks the delivery
up once the lock has passed. The response shows the delivery with its new attempt.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from aiclone.db import Database, utcnow
from aiclone.errors import Conflict, FieldError, InvalidInput, NotFound
from aiclone.events.types import EVENT_TYPES
from aiclone.webhooks.examples import example_data
from aiclone.webhooks.flavours import Renderer, signed
from aiclone.webhooks.log import DeliveryLog, delivery_detail
from aiclone.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, message_id
from aiclone.webhooks.outcomes import OutcomeRecorder
from aiclone.webhooks.queue import DeliveryQueue
from aiclone.webhooks.repository import EndpointRepository
from aiclone.webhooks.schemas import DeliveryDetail
from aiclone.webhooks.sender import Sender
from aiclone.webhooks.signing import SecretBox

MISSING_DELIVERY = "No such delivery."


async def read_delivery(
    db: Database, owner: uuid.UUID, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> DeliveryDetail:
    """One delivery of the owner's endpoint, with its attempt log."""
    async with db.read_session() as session:
        await EndpointRepository(session).owned(owner, endpoint_id)
        log = DeliveryLog(session)
        delivery = await log.get(endpoint_id, delivery_id)
        if delivery is None:
            raise NotFound(MISSING_DELIVERY)
        return delivery_detail(delivery, await log.attempts(delivery.id))


@dataclass(frozen=True)
class ManualSends:
    db: Database
    sender: Sender
    box: SecretBox
    recorder: OutcomeRecorder
    renderer: Renderer
    # How long a manual send holds its delivery (workers leave it alone until then).
    manual_lock: dt.timedelta

    async def send_test(self, owner: uuid.UUID, endpoint_id: uuid.UUID, event_type: str) -> DeliveryDetail:
        if event_type not in EVENT_TYPES:
            raise InvalidInput(
                "Unknown event type.",
                errors=[FieldError(field="event_type", message=f"known: {', '.join(sorted(EVENT_TYPES))}")],
            )
        test_id = uuid.uuid4()
        async with self.db.session() as session:
            endpoint = await EndpointRepository(session).owned(owner, endpoint_id)
            now = utcnow()
            delivery = await DeliveryQueue(session).add(
                WebhookDelivery(
                    id=test_id,
                    endpoint_id=endpoint.id,
                    user_id=owner,
                    event_type=event_type,
                    event_seq=None,
                    is_test=True,
                    payload=self.renderer.body(
                        endpoint.flavour,
                        event_type,
                        now,
                        example_data(event_type),
                        seq=None,
                        test_id=test_id.hex,
                    ).decode(),
                    status=DeliveryStatus.PENDING.value,
                    attempts=1,
                    retries_used=0,
                    # Should this process die mid-send, a worker picks the delivery up after the lock.
                    next_attempt_at=now + self.manual_lock,
                    manual_until=now + self.manual_lock,
                    created_at=now,
                )
            )
            keys = self._keys(endpoint, now)
        await self._send(endpoint, keys, delivery.id, delivery.payload, number=1)
        return await read_delivery(self.db, owner, endpoint_id, test_id)

    async def retry(self, owner: uuid.UUID, endpoint_id: uuid.UUID, delivery_id: uuid.UUID) -> DeliveryDetail:
        async with self.db.session() as session:
            endpoint = await EndpointRepository(session).owned(owner, endpoint_id)
            if await DeliveryLog(session).get(endpoint_id, delivery_id) is None:
                raise NotFound(MISSING_DELIVERY)
            now = utcnow()
            locked = await DeliveryQueue(session).lock_manual(
                endpoint_id, delivery_id, now=now, until=now + self.manual_lock
            )
            if locked is None:
                raise Conflict("This delivery is being sent right now; try again in a moment.")
            keys = self._keys(endpoint, now)
            payload, number = locked.payload, locked.attempts
        await self._send(endpoint, keys, delivery_id, payload, number=number)
        return await read_delivery(self.db, owner, endpoint_id, delivery_id)

    async def _send(
        self,
        endpoint: WebhookEndpoint,
        keys: list[bytes],
        delivery_id: uuid.UUID,
        payload: str,
        *,
        number: int,
    ) -> None:
        outcome = await self.sender.send(
            endpoint_id=endpoint.id,
            url=endpoint.url,
            msg_id=message_id(delivery_id),
            body=payload.encode(),
            keys=keys,
            flavour=endpoint.flavour,
        )
        async with self.db.session() as session:
            delivery = await DeliveryLog(session).get(endpoint.id, delivery_id)
            if delivery is None:
                raise NotFound(MISSING_DELIVERY)
            await self.recorder.record_manual(session, delivery, number, outcome)

    def _keys(self, endpoint: WebhookEndpoint, now: dt.datetime) -> list[bytes]:
        if not signed(endpoint.flavour):
            return []
        try:
            return self.box.signing_keys(
                endpoint.id,
                endpoint.secret_sealed,
                endpoint.previous_secret_sealed,
                endpoint.previous_secret_expires_at,
                now,
            )
        except ValueError:
            raise Conflict("The endpoint's secret cannot be read any more; rotate it.") from None
