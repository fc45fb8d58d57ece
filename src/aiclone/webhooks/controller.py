from __future__ import annotations

import uuid
from typing import Annotated

from litestar import HttpMethod, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from aiclone.auth.handlers import DomainController, Query, Resource, optional
from aiclone.auth.owner import Owner
from aiclone.errors import FieldError, InvalidInput
from aiclone.events.types import EVENT_TYPES
from aiclone.openapi import problems, prose
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

_SIGNING = (
    "Every request carries the Standard Webhooks headers `webhook-id` (stable across retries),"
    " `webhook-timestamp` and `webhook-signature` (`v1,<base64 HMAC-SHA256 of id.timestamp.body>`)."
)


endpoints = Resource("webhooks", WebhookService, "webhook_id", read=WebhookRead)
_ONE = endpoints.one


class WebhookController(DomainController, domain="webhooks"):
    path = "/api/webhooks"

    create_webhook = endpoints.create(
        WebhookCreate,
        returns=WebhookCreated,
        summary="Register a webhook endpoint",
        description=(
            "The URL is checked now and on every delivery: it must be https (http outside production), carry"
            " no credentials, and resolve only to public addresses. The response holds the signing secret"
            f" in full; it is shown only here and on rotation. {_SIGNING}"
        ),
        responses=problems(401, 403, 409, 422),
    )

    list_webhooks = endpoints.list(
        WebhookPage,
        query={"limit": Query(Limit, DEFAULT_LIMIT), "cursor": optional(str)},
        method="page",
        summary="List webhook endpoints, oldest first",
        responses=problems(401, 403, 422),
    )

    @get(
        "/event-types",
        summary="The event types an endpoint can subscribe to",
        description='Sorted; an endpoint subscribes to some of them, or to `["*"]` for all.',
        responses=problems(401),
    )
    async def list_webhook_event_types(self) -> EventTypeList:
        return EventTypeList(items=sorted(EVENT_TYPES))

    get_webhook = endpoints.get(
        summary="Show one webhook endpoint (secret masked)", responses=problems(401, 403, 404)
    )

    replace_webhook = endpoints.replace(
        WebhookReplace,
        summary="Replace a webhook endpoint's URL, event types, description and status",
        description=prose("""
            `status` defaults to `active`, so a PUT without it also re-enables a paused or failed endpoint.
            The secret changes only through rotate-secret.
        """),
        responses=problems(401, 403, 404, 422),
    )

    update_webhook = endpoints.update(
        WebhookPatch,
        method="patch",
        summary="Change some of a webhook endpoint's fields",
        description=prose("""
            `status`: `inactive` pauses the endpoint (its waiting deliveries are stopped and can be recovered
            later); `active` re-enables it, also after it was disabled for failing.
        """),
        responses=problems(401, 403, 404, 422),
    )

    delete_webhook = endpoints.delete(
        summary="Delete a webhook endpoint and its delivery log", responses=problems(401, 403, 404)
    )

    @post(
        f"{_ONE}/rotate-secret",
        status_code=HTTP_200_OK,
        summary="Rotate the signing secret",
        description=prose("""
            Returns the new secret (generated, or the one given). Until `previous_secret_expires_at` every
            request is signed with both the new and the previous secret, so receivers can switch without
            downtime.
        """),
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
        description=prose("""
            The delivery and its attempt are in the log (trigger `manual`); test events are not retried. The
            body is optional: without one, the example is a `prospect_added` event.
        """),
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

    get_delivery = endpoints.build(
        HttpMethod.GET,
        f"{_ONE}/deliveries/{{delivery_id:uuid}}",
        "delivery",
        returns=DeliveryDetail,
        summary="One delivery with every attempt",
        description=prose("""
            Each attempt: number, trigger (scheduled or manual), start time, duration, HTTP status, error
            class (timeout, connect, dns, tls, blocked, http, interrupted) and the first 16 KB of the response
            body.
        """),
        responses=problems(401, 403, 404),
    )

    retry_delivery = endpoints.action(
        "retry",
        path="deliveries/{delivery_id:uuid}/retry",
        returns=DeliveryDetail,
        summary="Send one delivery again now (same webhook-id)",
        description="A manual attempt: logged, but it changes neither the retry schedule nor the endpoint's health.",
        responses=problems(401, 403, 404, 409),
    )

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
