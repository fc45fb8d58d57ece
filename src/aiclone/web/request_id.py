"""Request ids: a sane incoming ``X-Request-ID`` is kept, anything else is replaced.

Sane means 1-128 characters from ``A-Z a-z 0-9 - _ . : + / =`` (uuids, ULIDs, base64 and the
ids of common proxies fit). Anything longer or with other characters (spaces, quotes, control
characters, non-ASCII) could forge log lines or bloat them, so it is dropped and a fresh id
(32 hex digits) is made instead.
"""

from __future__ import annotations

import re
import uuid

REQUEST_ID_HEADER = b"x-request-id"
MAX_LENGTH = 128
_SANE = re.compile(rb"[A-Za-z0-9\-_.:+/=]{1,128}")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_or_create(incoming: bytes | None) -> str:
    if incoming is not None and _SANE.fullmatch(incoming):
        return incoming.decode("ascii")
    return new_request_id()
