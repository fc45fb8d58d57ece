"""Request and response bodies of the live-events API, and the JSON carried in stream frames."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec

from aiclone.notifications.schemas import Level

CloseReason = Literal["shutdown", "credential_expired", "error"]
ResetReason = Literal["retention", "unknown_id"]


class StreamTicket(msgspec.Struct):
    ticket: str
    expires_in: Annotated[int, msgspec.Meta(description="Seconds until the unused ticket expires.")]


class StreamCookie(msgspec.Struct):
    expires_in: Annotated[
        int,
        msgspec.Meta(description="Seconds the cookie authenticates the stream (the token's remaining life)."),
    ]


class BroadcastRequest(msgspec.Struct, forbid_unknown_fields=True):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    body: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    level: Level = "info"
    link: Annotated[str, msgspec.Meta(max_length=2048)] | None = None


class BroadcastResult(msgspec.Struct):
    recipients: Annotated[int, msgspec.Meta(description="Active users who received the notification.")]


class InstanceStreams(msgspec.Struct):
    instance_id: str
    streams: int
    users: int
    started_at: dt.datetime
    heartbeat_at: dt.datetime


class UserStreams(msgspec.Struct):
    user_id: uuid.UUID
    streams: int


class ClusterStreams(msgspec.Struct):
    total_streams: int
    users_online: int
    instances: list[InstanceStreams]
    per_user: Annotated[
        list[UserStreams], msgspec.Meta(description="Users with the most open streams first.")
    ]
    per_user_truncated: bool


class StreamStatus(msgspec.Struct):
    user_id: uuid.UUID
    streams: Annotated[int, msgspec.Meta(description="The user's open streams on every live instance.")]
    max_streams: int
    instance_id: Annotated[str, msgspec.Meta(description="The instance that answered.")]
    cluster: Annotated[ClusterStreams | None, msgspec.Meta(description="Admins only: every instance.")] = None


# --- JSON carried in the `data:` line of stream frames (see aiclone.live.stream) ---


class ConnectionInfo(msgspec.Struct):
    status: Literal["connected"]
    instance_id: str
    server_time: dt.datetime
    latest_seq: int
    resume_from: int | None
    heartbeat_seconds: float
    expires_at: dt.datetime
    types: list[str] | None


class ResetInfo(msgspec.Struct):
    reason: ResetReason
    last_event_id: int
    latest_seq: int
    oldest_seq: int | None


class CloseInfo(msgspec.Struct):
    reason: CloseReason


class EventEnvelope(msgspec.Struct):
    seq: int
    type: str
    created_at: dt.datetime
    by_automation: bool
    data: dict[str, Any]


class EphemeralEnvelope(msgspec.Struct):
    type: str
    ephemeral: bool
    data: dict[str, Any]
