"""The bytes of the event-stream wire format (WHATWG HTML, "Server-sent events").

Every frame is built here, once, as bytes. JSON from msgspec never contains a raw line break
(control characters are escaped), so each payload fits on one ``data:`` line, and event names
come from a fixed vocabulary, so no field can smuggle in another.
"""

from __future__ import annotations

import re

import msgspec

from aiclone.events.types import Ephemeral, EventRecord
from aiclone.live.schemas import (
    CloseInfo,
    CloseReason,
    ConnectionInfo,
    EphemeralEnvelope,
    EventEnvelope,
    ResetInfo,
)

HEARTBEAT = b": ping\n\n"
_EVENT_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
_encode = msgspec.json.Encoder().encode


def event_frame(event: EventRecord) -> bytes:
    payload = _encode(EventEnvelope(event.seq, event.type, event.created_at, event.by_automation, event.data))
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event.seq, event.type.encode(), payload)


def ephemeral_frame(message: Ephemeral) -> bytes:
    # No id: a progress tick must not move the client's resume point.
    name = message.type if _EVENT_NAME.fullmatch(message.type) else "ephemeral"
    payload = _encode(EphemeralEnvelope(message.type, True, message.data))
    return b"event: %s\ndata: %s\n\n" % (name.encode(), payload)


def preamble(retry_ms: int, connection: ConnectionInfo, reset: ResetInfo | None) -> bytes:
    """``retry:`` once, the ``connection`` message, and a ``reset`` when the resume point is gone.

    The connection message carries the resume point as its id: the one the client sent, or the
    user's latest seq for a stream opened at the present. So a client cut off before any event
    reconnects from where this stream began, not from wherever the present is by then. Always
    a number (``0`` for a user without events): an empty ``id:`` would clear the client's id.
    """
    point = connection.latest_seq if connection.resume_from is None else connection.resume_from
    frame = b"retry: %d\nid: %d\nevent: connection\ndata: %s\n\n" % (retry_ms, point, _encode(connection))
    if reset is not None:
        # The reset carries the current seq as its id, so a reconnect after it resumes from there.
        frame += b"id: %d\nevent: reset\ndata: %s\n\n" % (reset.latest_seq, _encode(reset))
    return frame


def close_frame(reason: CloseReason) -> bytes:
    return b"event: close\ndata: %s\n\n" % _encode(CloseInfo(reason))


class FrameCache:
    """Encodes each live message once per process, however many local streams deliver it.

    The broker hands the same message object to every subscriber of its user, so frames are
    keyed by object identity. An entry keeps its message alive, so an id cannot be reused
    while cached. Bounded by entries and by bytes, oldest out first; frames too large to be
    worth keeping are encoded but not kept.
    """

    __slots__ = ("_bytes", "_entries", "_max_bytes", "_max_entries", "_max_frame")

    def __init__(self, *, max_entries: int = 4096, max_bytes: int = 4 * 1024 * 1024) -> None:
        self._entries: dict[int, tuple[EventRecord | Ephemeral, bytes]] = {}
        self._bytes = 0
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._max_frame = max_bytes // 16

    def frame(self, message: EventRecord | Ephemeral) -> bytes:
        key = id(message)
        hit = self._entries.get(key)
        if hit is not None and hit[0] is message:
            return hit[1]
        frame = event_frame(message) if isinstance(message, EventRecord) else ephemeral_frame(message)
        if len(frame) > self._max_frame:
            return frame
        entries = self._entries
        while entries and (len(entries) >= self._max_entries or self._bytes + len(frame) > self._max_bytes):
            oldest = next(iter(entries))
            self._bytes -= len(entries.pop(oldest)[1])
        entries[key] = (message, frame)
        self._bytes += len(frame)
        return frame

    def __len__(self) -> int:
        return len(self._entries)
