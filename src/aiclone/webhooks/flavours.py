"""What each flavour of endpoint receives: the body and the headers of a request.

Everything else (outbox, retries, Retry-After, the delivery log, the SSRF guard, auto-disable) is
shared by every flavour. The body is frozen in the event's transaction, once per flavour present
among the subscribed endpoints:

* ``standard`` — the Standard Webhooks envelope ``{"type", "timestamp", "data"}``, signed
  (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``);
* ``slack`` — a Block Kit message (:mod:`.slack`), no ``webhook-*`` headers at all (Slack verifies
  nothing and shows nothing of them);
* ``zapier`` — the flat trigger item (:mod:`.zapier`) with only ``webhook-id``, for de-duplication.

How a failure is judged also depends on the flavour: Slack's documented error strings disable a
``slack`` endpoint (:func:`.slack.permanent_failure`), and a ``410 Gone`` from Zapier removes the
subscription, since Zapier answers 410 when the Zap is gone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from aiclone.webhooks import slack, zapier
from aiclone.webhooks.models import Flavour
from aiclone.webhooks.signing import signature_header

FLAVOURS: frozenset[str] = frozenset(f.value for f in Flavour)


class Renderer:
    """Builds the frozen body of one event for each flavour (needs the dashboard's public URL)."""

    def __init__(self, *, public_url: str) -> None:
        self.public_url = public_url.rstrip("/")

    def body(
        self,
        flavour: str,
        event_type: str,
        timestamp: dt.datetime,
        data: dict[str, Any],
        *,
        seq: int | None,
        test_id: str = "",
    ) -> bytes:
        if flavour == Flavour.SLACK:
            return msgspec.json.encode(
                slack.render(event_type, timestamp, data, public_url=self.public_url, test=seq is None)
            )
        if flavour == Flavour.ZAPIER:
            return zapier.encode_item(zapier.trigger_item(event_type, seq, timestamp, data, test_id=test_id))
        return standard_body(event_type, timestamp, data)


class Envelope(msgspec.Struct):
    type: str
    timestamp: dt.datetime
    data: dict[str, Any]


def standard_body(event_type: str, timestamp: dt.datetime, data: dict[str, Any]) -> bytes:
    return msgspec.json.encode(Envelope(type=event_type, timestamp=timestamp, data=data))


def headers(flavour: str, *, msg_id: str, timestamp: int, body: bytes, keys: list[bytes]) -> dict[str, str]:
    """The flavour's own headers (content type and user agent are added by the sender)."""
    if flavour == Flavour.SLACK:
        return {}
    if flavour == Flavour.ZAPIER:
        return {"webhook-id": msg_id}
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(keys, msg_id, timestamp, body),
    }


def signed(flavour: str) -> bool:
    return flavour == Flavour.STANDARD


def shown_url(flavour: str, url: str) -> str:
    """The URL as written into notifications: a Slack webhook's last path segment is its token."""
    if flavour != Flavour.SLACK:
        return url
    head, sep, tail = url.rpartition("/")
    return f"{head}/…" if sep and tail and "://" in head else url


def permanent_failure(flavour: str, status: int | None, body: str | None) -> str | None:
    """Why this answer disables the endpoint at once (besides 410 Gone), or None."""
    if flavour == Flavour.SLACK:
        return slack.permanent_failure(status, body)
    return None
