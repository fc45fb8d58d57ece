from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from aiclone.db import Base, OwnedByUser, Timestamps, UUIDPrimaryKey, utcnow
from aiclone.events.models import JSONType


class EndpointStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"  # paused by its owner
    FAILED = "failed"  # disabled by us: repeated failures or 410 Gone


class Flavour(StrEnum):
    """What a receiver expects: the body and headers of each request (see :mod:`.flavours`)."""

    STANDARD = "standard"  # Standard Webhooks: signed envelope
    SLACK = "slack"  # a Slack incoming webhook: a Block Kit message, unsigned
    ZAPIER = "zapier"  # a Zapier REST-hook subscription: the flat event object


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt
    SENDING = "sending"  # claimed by a worker until lease_until
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # retries exhausted, or stopped because the endpoint was disabled


class WebhookEndpoint(UUIDPrimaryKey, OwnedByUser, Timestamps, Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        Index("ix_webhook_endpoints_user_created", "user_id", "created_at", "id"),
        Index("ix_webhook_endpoints_user_status", "user_id", "status"),
    )

    url: Mapped[str] = mapped_column(String(2048))
    flavour: Mapped[str] = mapped_column(
        String(16), default=Flavour.STANDARD.value, server_default=Flavour.STANDARD.value
    )
    description: Mapped[str] = mapped_column(String(500), default="")
    # Event type names, or ["*"] for every type.
    event_types: Mapped[list[str]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), default=EndpointStatus.ACTIVE.value)
    # Sealed with aiclone.webhooks.signing.SecretBox; never stored or logged in the clear.
    secret_sealed: Mapped[str] = mapped_column(String(256))
    previous_secret_sealed: Mapped[str | None] = mapped_column(String(256), default=None)
    previous_secret_expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Failed scheduled attempts since the last success; reaching the threshold disables the endpoint.
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[dt.datetime | None] = mapped_column(default=None)
    failure_notified_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    disabled_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    last_success_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_failure_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class WebhookDelivery(UUIDPrimaryKey, Base):
    """One event for one endpoint: its frozen body, where it stands, and its attempts.

    The ``webhook-id`` header is derived from the primary key (``msg_<hex>``), so it is stable
    across retries, manual resends and workers.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The workers' claim and next-wake queries walk this index.
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at", "id"),
        # Counting deliveries by outcome over time (analytics) without scanning.
        Index("ix_webhook_deliveries_user_status_created", "user_id", "status", "created_at"),
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(64))
    # The user's event seq; None for test deliveries, which have no event.
    event_seq: Mapped[int | None] = mapped_column(BigInteger, default=None)
    is_test: Mapped[bool] = mapped_column(default=False)
    # The exact bytes sent (compact JSON), frozen in the event's transaction.
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING.value)
    # Attempts started (numbers handed out), and scheduled retries used up.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retries_used: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    # A manual send (retry now, test) in progress; workers leave the delivery alone until then.
    manual_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # When it reached succeeded or failed.
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    @property
    def msg_id(self) -> str:
        return message_id(self.id)


def message_id(delivery_id: uuid.UUID) -> str:
    return f"msg_{delivery_id.hex}"


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"
    # One row per attempt number: a second sender of the same attempt could not record it.
    __table_args__ = (UniqueConstraint("delivery_id", "number", name="uq_webhook_attempts_delivery_number"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    trigger: Mapped[str] = mapped_column(String(16))  # scheduled | manual
    started_at: Mapped[dt.datetime]
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    # timeout | connect | dns | tls | blocked | http | interrupted | internal; None on success.
    error_class: Mapped[str | None] = mapped_column(String(16), default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    response_body: Mapped[str | None] = mapped_column(Text, default=None)
    remote_address: Mapped[str | None] = mapped_column(String(64), default=None)
