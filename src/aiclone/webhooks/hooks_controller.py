"""REST hooks for Zapier: subscribe, unsubscribe, the triggers, and the polling fallback.

See :mod:`aiclone.webhooks.subscriptions` for the contract and :mod:`aiclone.webhooks.zapier` for
the one shape of a trigger item (hook body and polling item alike).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from aiclone.auth.owner import Owner
from aiclone.auth.scopes import domain_scopes
from aiclone.openapi import problems, prose
from aiclone.webhooks.schemas import SubscriptionCreate, SubscriptionRead, TriggerItemList, TriggerList
from aiclone.webhooks.subscriptions import SubscriptionService

_ITEM = (
    "Each item, like each hook body, is one flat JSON object: `id` (`evt_<seq>`, unique per user: Zapier"
    " de-duplicates on it), `seq`, `type`, `occurred_at`, then the resource's fields with its own id as"
    " `<resource>_id` (`prospect_id`, `outreach_id`, `content_id`…)."
)
PollLimit = Annotated[int, QueryParameter(ge=1, le=100, description="How many items, 1 to 100.")]


class HooksController(Controller):
    path = "/api/hooks"
    tags = ["hooks"]
    # An API key needs webhooks:read to list triggers and poll, webhooks:write to (un)subscribe.
    opt = domain_scopes("webhooks")

    @post(
        "/subscriptions",
        status_code=HTTP_201_CREATED,
        summary="Subscribe a target URL to one trigger event (REST hook)",
        description=(
            "Zapier's subscribe call. The subscription is a webhook endpoint of the `zapier` flavour: the"
            " same outbox, retries, delivery log and SSRF checks as any endpoint; it counts towards the"
            " endpoint limit. A `410 Gone` from the target removes it. Requests carry `webhook-id` (stable"
            f" across retries) and no signature. {_ITEM}"
        ),
        responses=problems(401, 403, 409, 422),
    )
    async def subscribe(
        self,
        owner: Owner,
        hooks: NamedDependency[SubscriptionService],
        data: JSONBody[SubscriptionCreate],
    ) -> SubscriptionRead:
        return await hooks.subscribe(owner, data)

    @delete(
        "/subscriptions/{subscription_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Unsubscribe (REST hook)",
        description=prose("""
            Zapier's unsubscribe call. Idempotent: 204 also when the subscription is already gone (for
            instance removed after a 410). Only the caller's own Zapier subscriptions are touched. An id that
            is not a UUID is a 404.
        """),
        responses=problems(401, 403, 404),
    )
    async def unsubscribe(
        self,
        owner: Owner,
        hooks: NamedDependency[SubscriptionService],
        subscription_id: FromPath[uuid.UUID],
    ) -> None:
        await hooks.unsubscribe(owner, subscription_id)

    @get(
        "/triggers",
        summary="The trigger events a subscription can name, with an example item each",
        responses=problems(401),
    )
    async def list_triggers(self, hooks: NamedDependency[SubscriptionService]) -> TriggerList:
        return hooks.triggers()

    @get(
        "/events",
        summary="The newest events of one trigger, newest first, as the hook sends them (polling)",
        description=f"For Zapier's `performList` (samples and the polling fallback). {_ITEM}",
        responses=problems(401, 403, 422),
    )
    async def list_trigger_events(
        self,
        owner: Owner,
        hooks: NamedDependency[SubscriptionService],
        event: Annotated[
            str, QueryParameter(min_length=1, max_length=64, description="A trigger event type.")
        ],
        limit: PollLimit = 25,
    ) -> TriggerItemList:
        return await hooks.recent(owner, event, limit)
