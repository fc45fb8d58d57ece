"""REST-hook subscriptions (Zapier's subscribe / unsubscribe contract) and the polling fallback.

A subscription is a webhook endpoint of the ``zapier`` flavour subscribed to exactly one trigger
event, so it shares everything with other endpoints: the outbox row in the event's transaction,
retries with back-off and ``Retry-After``, the delivery log (``/api/webhooks/{id}/deliveries``),
the SSRF guard, auto-disable, and the per-user endpoint cap. Zapier manages its URL and event;
its owner can still see, pause and delete it with the webhook endpoints.

* subscribe — ``POST /api/hooks/subscriptions`` ``{target_url, event}`` → 201 with the
  subscription (Zapier keeps the response as ``bundle.subscribeData``);
* unsubscribe — ``DELETE /api/hooks/subscriptions/{id}`` → 204, also when it is already gone
  (Zapier unsubscribes after a 410 removed it, and must not fail turning the Zap off); another
  user's subscription is left alone;
* poll — ``GET /api/hooks/events?event=…&limit=…``: the newest events of that type, newest first,
  each exactly the body the hook sends (:func:`aiclone.webhooks.zapier.trigger_item`).
"""

from __future__ import annotations

import datetime as dt
import uuid

from aiclone.db import Database
from aiclone.errors import FieldError, InvalidInput
from aiclone.events.config import bump_config_version
from aiclone.webhooks.examples import example_data
from aiclone.webhooks.models import Flavour
from aiclone.webhooks.repository import EndpointRepository, latest_events
from aiclone.webhooks.schemas import (
    SubscriptionCreate,
    SubscriptionRead,
    TriggerItemList,
    TriggerList,
    TriggerRead,
    WebhookCreate,
)
from aiclone.webhooks.service import WebhookService
from aiclone.webhooks.zapier import TRIGGER_EVENTS, TRIGGERS, trigger_item

_EXAMPLE_TIME = "2026-01-01T09:30:00Z"


def _trigger_event(event: str, field: str = "event") -> str:
    if event not in TRIGGER_EVENTS:
        raise InvalidInput(
            "Unknown trigger event.",
            errors=[FieldError(field=field, message=f"known: {', '.join(sorted(TRIGGER_EVENTS))}")],
        )
    return event


class SubscriptionService:
    def __init__(self, db: Database, webhooks: WebhookService) -> None:
        self.db = db
        self.webhooks = webhooks

    async def subscribe(self, owner: uuid.UUID, data: SubscriptionCreate) -> SubscriptionRead:
        event = _trigger_event(data.event)
        label = next(t.label for t in TRIGGERS if t.event == event)
        try:
            created = await self.webhooks.create(
                owner,
                WebhookCreate(url=data.target_url, event_types=[event], description=f"Zapier: {label}"),
                flavour=Flavour.ZAPIER.value,
            )
        except InvalidInput as exc:
            # The URL's field is target_url here.
            for error in exc.errors or []:
                if error.field == "url":
                    error.field = "target_url"
            raise
        return SubscriptionRead(
            id=created.id,
            target_url=created.url,
            event=event,
            status=created.status,
            created_at=created.created_at,
        )

    async def unsubscribe(self, owner: uuid.UUID, subscription_id: uuid.UUID) -> None:
        async with self.db.session() as session:
            repo = EndpointRepository(session)
            endpoint = await repo.get(owner, subscription_id, lock=True)
            if endpoint is not None and endpoint.flavour == Flavour.ZAPIER.value:
                await bump_config_version(session, endpoint.user_id)
                await repo.delete(endpoint)

    async def recent(self, owner: uuid.UUID, event: str, limit: int) -> TriggerItemList:
        event = _trigger_event(event)
        async with self.db.read_session() as session:
            rows = await latest_events(session, owner, event, limit)
        return TriggerItemList(
            items=[trigger_item(row.type, row.seq, row.created_at, row.data) for row in rows]
        )

    @staticmethod
    def triggers() -> TriggerList:
        when = dt.datetime.fromisoformat(_EXAMPLE_TIME)
        return TriggerList(
            items=[
                TriggerRead(
                    event=t.event,
                    label=t.label,
                    noun=t.noun,
                    description=t.description,
                    example=trigger_item(t.event, 1, when, example_data(t.event)),
                )
                for t in TRIGGERS
            ]
        )
