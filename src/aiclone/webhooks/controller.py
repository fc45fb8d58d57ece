from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from aiclone.auth.owner import Owner
from aiclone.auth.scopes import domain_scopes
from aiclone.errors import FieldError, InvalidInput
from aiclone.events.types import EVENT_TYPES
from aiclone.openapi import problems
from aiclone.pagination import DEFAULT_LIMIT, Limit
from aiclone.webhooks.schemas import (
    DeliveryDetail,
    DeliveryPage,
    DeliveryStatusName,
    EventTypeList,
    Recovered,
    RecoverRequest,
    RotatedSecret,
    RotateSecret,
    SendTest,
    WebhookCreate,
    WebhookCreated,
    WebhookPage,
    WebhookPatch,
    WebhookRead,
    WebhookReplace,
)
from aiclone.webhooks.service import WebhookService

_ONE = "/{webhook_id:uuid}"
_SIGNING = (
    "Every request carries the Standard Webhooks headers `webhook-id` (stable across retries),"
    " `webhook-timestamp` and `webhook-signature` (`v1,<base64 HMAC-SHA256 of id.timestamp.body>`)."
)


class WebhookController(Controller):
    path = "/api/webhooks"
    opt = domain_scopes("webhooks")
    tags = ["webhooks"]

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Register a webhook endpoint",
        description=(
            "The URL is checked now and on every delivery: it must be https (http outside production), carry"
            " no credentials, and resolve only to public addresses. The response holds the signing secret"
            f" in full; it is shown only here and on rotation. {_SIGNING}"
        ),
        responses=problems(401, 403, 409, 422),
    )
    async def create_webhook(
        self,
        owner: Owner,
        webhooks: NamedDependency[WebhookService],
        data: JSONBody[WebhookCreate],
    ) -> WebhookCreated:
        return await webhooks.create(owner, data)

    @get("/", summary="List webhook endpoints, oldest first", responses=problems(401, 403, 422))
    async def list_webhooks(
        self,
        owner: Owner,
        webhooks: NamedDependency[WebhookService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> WebhookPage:
        return await webhooks.page(owner, limit=limit, cursor=cursor)

    @get(
        "/event-types",
        summary="The event types an endpoint can subscribe to",
        description='Sorted; an endpoint subscribes to some of them, or to `["*"]` for all.',
        responses=problems(401),
    )
    async def list_webhook_event_types(self) -> EventTypeList:
        return EventTypeList(items=sorted(EVENT_TYPES))

    @get(_ONE, summary="Show one webhook endpoint (secret masked)", responses=problems(401, 403, 404))
    async def get_webhook(
        self,
        owner: Owner,
        webhooks: NamedDependency[WebhookService],
        webhook_id: FromPath[uuid.UUID],
    ) -> WebhookRead:
        return await webhooks.get(owner, webhook_id)

    @put(
        _ONE,
        summary="Replace a webhook endpoint's URL, event types, description and status",
        description=(
            "`status` defaults to `active`, so a PUT without it also re-enables a paused or failed endpoint."
            " The secret changes only through rotate-secret."
        ),
        responses=problems(401, 403, 404, 422),
    )
    async def replace_webhook(
        self,
        owner: Owner,
        webhooks: NamedDependency[WebhookService],
        webhook_id: FromPath[uuid.UUID],
        data: JSONBody[WebhookReplace],
    ) -> WebhookRead:
        return await webhooks.replace(owner, webhook_id, data)

    @patch(
        _ONE,
        summary="Change some of a webhook endpoint's fields",
        description=(
            "`status`: `inactive` pauses the endpoint (its waiting deliveries are stopped and can be recovered"
            " later); `active` re-enables it, also after it was disabled for failing."
        ),
        responses=problems(401, 403, 404, 422),
    )
    async def update_webhook(
        self,
        owner: Owner,
        webhooks: NamedDependency[WebhookService],
        webhook_id: FromPath[uuid.UUID],
        data: JSONBody[WebhookPatch],
    ) -> WebhookRead:
        return await webhooks.patch(owner, webhook_id, data)

    @delete(
        _ONE,
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete a webhook endpoint and its delivery log",
        responses=problems(401, 403, 404),
    )
    async def delete_webhook(
        self,
        owner: Owner,
        webhooks: NamedDependency[WebhookService],
        webhook_id: FromPath[uuid.UUID],
    ) -> None:
        await webhooks.delete(owner, webhook_id)

    @post(
        f"{_ONE}/rotate-secret",
        status_code=HTTP_200_OK,
        summary="Rotate the signing secret",
        description=(
            "Returns the new secret (generated, or the one given). Until `previous_secret_expires_at` every"
            " request is signed with both the new and the previous secret, so receivers can switch without"
            " downtime."
        ),
        responses=problems(401, 403, 404, 422),
    )
    async def rotate_secret(
        self,
        owner: Owner,
        webhooks: NamedDependency[WebhookService],
        webhook_id: FromPath[uuid.UUID],
        data: JSONBody[RotateSecret | None] = None,
    ) -> RotatedSecret:
        secret = data.secret if data is not None else None
        return await webhooks.rotate_secret(owner, webhook_id, secret)

    @post(
        f"{_ONE}/test",
        status_code=HTTP_200_OK,
        summary="Send a signed example event now",
        description=(
            "The delivery and its attempt are in the log (trigger `manual`); test events are not retried."
            " The body is optional: without one, the example is a `prospect_added` event."
        ),
        responses=problems(401, 403, 404, 422),
    )
    async def send_test_event(
        self,
        owner: Owner,
        webhooks: NamedDependency[WebhookService],
        webhook_id: FromPath[uuid.UUID],
        data: JSONBody[SendTest | None] = None,
    ) -> DeliveryDetail:
        event_type = (data or SendTest()).event_type
        return await webhooks.send_test(owner, webhook_id, event_type)

    @get(
        f"{_ONE}/deliveries",
        summary="The endpoint's deliveries, newest first",
        responses=problems(401, 403, 404, 422),
    )
    async def list_deliveries(
        self,
        owner: Owner,
        webhooks: NamedDependency[WebhookService],
        webhook_id: FromPath[uuid.UUID],
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
        status: FromQuery[DeliveryStatusName | None] = None,
        event_type: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> DeliveryPage:
        if event_type is not None and event_type not in EVENT_TYPES:
            raise InvalidInput(
                "Unknown event type.",
                errors=[FieldError(field="event_type", message=f"unknown: {event_type}")],
            )
        return await webhooks.deliveries(
            owner,
            webhook_id,
            limit=limit,
            cursor=cursor,
            status=status,
            event_type=event_type,
        )

    @get(
        f"{_ONE}/deliveries/{{delivery_id:uuid}}",
        summary="One delivery with every attempt",
        description=(
            "Each attempt: number, trigger (scheduled or manual), start time, duration, HTTP status, error class"
            " (timeout, connect, dns, tls, blocked, http, interrupted) and the first 16 KB of the response body."
        ),
        responses=problems(401, 403, 404),
    )
    async def get_delivery(
        self,
        owner: Owner,
        webhooks: NamedDependency[WebhookService],
        webhook_id: FromPath[uuid.UUID],
        delivery_id: FromPath[uuid.UUID],
    ) -> DeliveryDetail:
        return await webhooks.delivery(owner, webhook_id, delivery_id)

    @post(
        f"{_ONE}/deliveries/{{delivery_id:uuid}}/retry",
        status_code=HTTP_200_OK,
        summary="Send one delivery again now (same webhook-id)",
        description="A manual attempt: logged, but it changes neither the retry schedule nor the endpoint's health.",
        responses=problems(401, 403, 404, 409),
    )
    async def retry_delivery(
        self,
        owner: Owner,
        webhooks: NamedDependency[WebhookService],
        webhook_id: FromPath[uuid.UUID],
        delivery_id: FromPath[uuid.UUID],
    ) -> DeliveryDetail:
        return await webhooks.retry(owner, webhook_id, delivery_id)

    @post(
        f"{_ONE}/recover",
        status_code=HTTP_202_ACCEPTED,
        summary="Re-queue every failed delivery since a time, oldest first",
        description="Each re-queued delivery gets a fresh retry schedule. The endpoint must be active.",
        responses=problems(401, 403, 404, 409, 422),
    )
    async def recover_deliveries(
        self,
        owner: Owner,
        webhooks: NamedDependency[WebhookService],
        webhook_id: FromPath[uuid.UUID],
        data: JSONBody[RecoverRequest],
    ) -> Recovered:
        return await webhooks.recover(owner, webhook_id, data.since, data.until)
