"""Deliveries are created inside the event's own transaction.

:class:`WebhookDeliveryHook` is registered on the event log. For each recorded event it freezes
the body every endpoint will receive (compact JSON ``{"type", "timestamp", "data"}`` for standard
endpoints, and once per other flavour present, see :mod:`.flavours`) and inserts one
``webhook_deliveries`` row per active endpoint of that user subscribed to the type. The rows
commit or roll back with the event: a committed event is never lost, a rolled-back one never
sent. Bodies over ``AICLONE_WEBHOOK_MAX_PAYLOAD_BYTES`` refuse the event itself (whether or not
an endpoint listens, so whether an event is accepted never depends on someone's subscriptions).

The user's active endpoints come from the hook's per-process cache when it holds them for the
user's current ``config_version``, which the event's own statement read (every endpoint change
bumps it, see :mod:`aiclone.events.config`); otherwise they are read and kept. Events recorded
without a version (the broadcast) read them once per transaction, as do a transaction's events
before any version is known; a transaction that changed the user's endpoints itself reads them
for each of its events. The deliveries of an event are one multi-row insert. One
``INSERT … SELECT`` per event was weighed too: it needs no look-up, but it is a statement per
event where the look-up is one per transaction, and the bodies of flavours other than the
standard one would have to be rendered before knowing whether any endpoint wants them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.db import utcnow
from aiclone.events.config import DEFAULT_CACHE_SIZE, VersionedCache, changed_here, seen_version
from aiclone.events.log import EventTooLarge
from aiclone.events.types import EventRecord
from aiclone.webhooks.flavours import Renderer, standard_body
from aiclone.webhooks.models import Flavour
from aiclone.webhooks.queue import DeliveryQueue
from aiclone.webhooks.repository import EndpointRepository, Subscription

_CACHE_KEY = "aiclone.webhooks.subscriptions"


def encode_body(event_type: str, timestamp: dt.datetime, data: dict[str, Any]) -> bytes:
    """The Standard Webhooks body; its size decides whether the event is accepted at all."""
    return standard_body(event_type, timestamp, data)


def subscribed(event_types: list[str], event_type: str) -> bool:
    return "*" in event_types or event_type in event_types


class WebhookDeliveryHook:
    def __init__(
        self, *, max_payload_bytes: int, renderer: Renderer, cache_size: int = DEFAULT_CACHE_SIZE
    ) -> None:
        self.max_payload_bytes = max_payload_bytes
        self.renderer = renderer
        # Per user: the active endpoints' subscriptions, as of one config_version.
        self.cache: VersionedCache[Sequence[Subscription]] = VersionedCache(cache_size)

    async def subscriptions(self, session: AsyncSession, user_id: uuid.UUID) -> Sequence[Subscription]:
        version = seen_version(session, user_id)
        if version is not None:
            found = self.cache.get(user_id, version)
            if found is None:
                found = tuple(await EndpointRepository(session).active_subscriptions(user_id))
                self.cache.put(user_id, version, found)
            return found
        if changed_here(session, user_id):
            # This transaction's own change to the endpoints: neither cache has seen it.
            return await EndpointRepository(session).active_subscriptions(user_id)
        # One lookup per user per transaction: a transaction recording many events asks once.
        cache: dict[uuid.UUID, Sequence[Subscription]] = session.info.setdefault(_CACHE_KEY, {})
        endpoints = cache.get(user_id)
        if endpoints is None:
            endpoints = cache[user_id] = await EndpointRepository(session).active_subscriptions(user_id)
        return endpoints

    async def on_events(self, session: AsyncSession, events: Sequence[EventRecord]) -> None:
        """Many events at once (aiclone.events.broadcast): one subscription lookup for all their users."""
        cache: dict[uuid.UUID, Sequence[Subscription]] = session.info.setdefault(_CACHE_KEY, {})
        missing = list({event.user_id for event in events} - cache.keys())
        if missing:
            found = await EndpointRepository(session).active_subscriptions_of(missing)
            for user_id in missing:
                # One shared empty tuple: a broadcast's thousands of users without endpoints
                # allocate nothing here.
                cache[user_id] = found.get(user_id, ())
        for event in events:
            await self.on_event(session, event)

    async def on_event(self, session: AsyncSession, event: EventRecord) -> None:
        body = encode_body(event.type, event.created_at, event.data)
        if len(body) > self.max_payload_bytes:
            raise EventTooLarge(
                f"The webhook payload of this {event.type} event would be {len(body)} bytes;"
                f" the limit is {self.max_payload_bytes} bytes."
            )
        endpoints = await self.subscriptions(session, event.user_id)
        targets = [sub for sub in endpoints if subscribed(sub.event_types, event.type)]
        if not targets:
            return
        bodies = {Flavour.STANDARD.value: body.decode()}
        for flavour in {sub.flavour for sub in targets} - bodies.keys():
            bodies[flavour] = self.renderer.body(
                flavour, event.type, event.created_at, event.data, seq=event.seq
            ).decode()
        await DeliveryQueue(session).enqueue(
            [(sub.endpoint_id, bodies[sub.flavour]) for sub in targets],
            user_id=event.user_id,
            event_type=event.type,
            event_seq=event.seq,
            now=utcnow(),
        )
