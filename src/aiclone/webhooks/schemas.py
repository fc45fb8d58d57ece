from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec

Url = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=2048,
        description="Where deliveries are POSTed: https (http only outside production), no credentials.",
        examples=["https://hooks.example.com/aiclone"],
    ),
]
EventTypes = Annotated[
    list[Annotated[str, msgspec.Meta(max_length=64)]],
    msgspec.Meta(
        min_length=1,
        max_length=20,
        description='Event types to receive, or ["*"] for all of them.',
        examples=[["prospect_added", "task_completed"]],
    ),
]
Description = Annotated[str, msgspec.Meta(max_length=500)]
SecretText = Annotated[
    str,
    msgspec.Meta(
        max_length=200,
        description="whsec_ followed by the standard base64 of 24 to 64 random bytes.",
    ),
]
EndpointStatusName = Literal["active", "inactive", "failed"]
FlavourName = Literal["standard", "slack", "zapier"]
# Zapier subscriptions are made through /api/hooks/subscriptions, never here.
CreatableFlavour = Annotated[
    Literal["standard", "slack"],
    msgspec.Meta(
        description=(
            "`standard`: Standard Webhooks (signed JSON envelope). `slack`: the URL is a Slack incoming"
            " webhook; each event is posted as a Block Kit message, unsigned."
        )
    ),
]
SettableStatus = Literal["active", "inactive"]
DeliveryStatusName = Literal["pending", "sending", "succeeded", "failed"]
ErrorClass = Literal["timeout", "connect", "dns", "tls", "blocked", "http", "interrupted", "internal"]


class WebhookCreate(msgspec.Struct, forbid_unknown_fields=True):
    url: Url
    event_types: EventTypes
    description: Description = ""
    secret: SecretText | None = None
    flavour: CreatableFlavour = "standard"


class WebhookReplace(msgspec.Struct, forbid_unknown_fields=True):
    """PUT: the whole editable state (the secret changes only by rotation)."""

    url: Url
    event_types: EventTypes
    description: Description = ""
    status: SettableStatus = "active"


class WebhookPatch(msgspec.Struct, forbid_unknown_fields=True):
    url: Url | msgspec.UnsetType = msgspec.UNSET
    event_types: EventTypes | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    status: SettableStatus | msgspec.UnsetType = msgspec.UNSET


class WebhookRead(msgspec.Struct):
    id: uuid.UUID
    url: str
    # Fixed at creation; zapier endpoints are REST-hook subscriptions managed by Zapier.
    flavour: FlavourName
    event_types: list[str]
    description: str
    status: EndpointStatusName
    # The secret is masked here; it is shown in full only on creation and rotation.
    secret_hint: str
    previous_secret_expires_at: dt.datetime | None
    consecutive_failures: int
    failing_since: dt.datetime | None
    disabled_at: dt.datetime | None
    disabled_reason: str | None
    last_success_at: dt.datetime | None
    last_failure_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class WebhookCreated(WebhookRead):
    secret: str


class WebhookPage(msgspec.Struct):
    items: list[WebhookRead]
    next_cursor: str | None = None


class EventTypeList(msgspec.Struct):
    items: Annotated[
        list[str], msgspec.Meta(description='Every event type an endpoint may subscribe to; "*" means all.')
    ]


class RotateSecret(msgspec.Struct, forbid_unknown_fields=True):
    secret: SecretText | None = None


class RotatedSecret(msgspec.Struct):
    secret: str
    # Until then every request carries a signature made with the previous secret too.
    previous_secret_expires_at: dt.datetime | None


class SendTest(msgspec.Struct, forbid_unknown_fields=True):
    event_type: Annotated[str, msgspec.Meta(max_length=64)] = "prospect_added"


class RecoverRequest(msgspec.Struct, forbid_unknown_fields=True):
    since: dt.datetime
    until: dt.datetime | None = None


class Recovered(msgspec.Struct):
    requeued: int


class AttemptRead(msgspec.Struct):
    number: int
    trigger: Literal["scheduled", "manual"]
    started_at: dt.datetime
    duration_ms: int
    status_code: int | None
    error_class: ErrorClass | None
    error: str | None
    # The first 16 KB of the response body, as text.
    response_body: str | None
    remote_address: str | None


class DeliveryRead(msgspec.Struct):
    id: uuid.UUID
    webhook_id: str
    endpoint_id: uuid.UUID
    event_type: str
    event_seq: int | None
    test: bool
    status: DeliveryStatusName
    attempts: int
    next_attempt_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


class DeliveryDetail(DeliveryRead):
    payload: dict[str, Any]
    attempt_log: list[AttemptRead]


class DeliveryPage(msgspec.Struct):
    items: list[DeliveryRead]
    next_cursor: str | None = None


# --- REST hooks (Zapier) ----------------------------------------------------------------------

TriggerEvent = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        description="A trigger's event type (see GET /api/hooks/triggers).",
        examples=["prospect_added"],
    ),
]


class SubscriptionCreate(msgspec.Struct, forbid_unknown_fields=True):
    target_url: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=2048,
            description="Where each event is POSTed (Zapier's bundle.targetUrl).",
            examples=["https://hooks.zapier.com/hooks/standard/123/abc/"],
        ),
    ]
    event: TriggerEvent


class SubscriptionRead(msgspec.Struct):
    id: uuid.UUID
    target_url: str
    event: str
    status: EndpointStatusName
    created_at: dt.datetime


class TriggerRead(msgspec.Struct):
    event: str
    label: str
    noun: str
    description: str
    # An item as the hook sends it, built from example data (for a trigger's sample).
    example: dict[str, Any]


class TriggerList(msgspec.Struct):
    items: list[TriggerRead]


class TriggerItemList(msgspec.Struct):
    # Newest first; each item is exactly the body a subscription to this event receives.
    items: list[dict[str, Any]]
