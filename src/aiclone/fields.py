"""Input field types and normalizers shared by the domain schemas and services.

msgspec bounds every input (lengths, ranges, list sizes) while decoding the body; what msgspec
cannot express — email syntax, URL shape, trimming and de-duplicating tags — is checked here, by
functions that raise :class:`ValueError` with a message fit for a ``FieldError``. Services turn
those into field errors under the right path (``email``, ``items[3].website``…).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlsplit

import msgspec
from email_validator import EmailNotValidError, validate_email

MAX_URL_LENGTH = 2048
MAX_TAGS = 20
MAX_TAG_LENGTH = 50

Url = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_URL_LENGTH, description="An http(s) URL.")]
ContactEmail = Annotated[
    str, msgspec.Meta(min_length=1, max_length=254, description="Email address; unique per user, any case.")
]
Tag = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_TAG_LENGTH,
        # No control characters and no commas (tags are often shown comma-separated).
        pattern=r"^[^\x00-\x1f\x7f,]+$",
        description="A short label; stored trimmed and lower-cased.",
    ),
]
Tags = Annotated[list[Tag], msgspec.Meta(max_length=MAX_TAGS, description=f"At most {MAX_TAGS} tags.")]


def clean_text(value: str | None) -> str | None:
    """Trim surrounding whitespace; an empty result means "no value"."""
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def normalize_email(raw: str) -> tuple[str, str]:
    """Return ``(email, key)``: the address as stored and its case-insensitive uniqueness key."""
    try:
        info = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return info.normalized, info.normalized.lower()


def check_http_url(raw: str, *, hosts: tuple[str, ...] = ()) -> str:
    """Accept absolute http(s) URLs without credentials; ``hosts`` restricts the domain."""
    value = raw.strip()
    if any(ch.isspace() for ch in value):
        raise ValueError("must not contain whitespace")
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ValueError("is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("must start with http:// or https://")
    if not hostname:
        raise ValueError("must name a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain credentials")
    if hosts and not any(hostname == host or hostname.endswith("." + host) for host in hosts):
        raise ValueError(f"must be a URL on {' or '.join(hosts)}")
    return value


def normalize_tags(tags: list[str]) -> list[str]:
    """Trim, lower-case and de-duplicate, keeping the first occurrence's position."""
    seen: dict[str, None] = {}
    for tag in tags:
        cleaned = tag.strip().lower()
        if not cleaned:
            raise ValueError("tags may not be blank")
        seen.setdefault(cleaned, None)
    return list(seen)


# Text the databases cannot store, refused for every route in one place
# (:mod:`aiclone.web.input_checks`): PostgreSQL rejects NUL in text, SQLite would keep it, and a
# datetime whose UTC form falls outside years 1-9999 overflows as soon as it is bound.
NUL_MESSAGE = "must not contain NUL (\\u0000) characters"
INSTANT_MESSAGE = "must be a time between years 1 and 9999 in UTC"


def nul_path(value: object) -> str | None:
    """Where the first NUL character sits in decoded JSON (``notes``, ``tags[1]``, ``a.b``), or None.

    A NUL in an object key is reported at the object holding it (``body`` at the top).
    """
    stack: list[tuple[str, object]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path or "body"
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                if "\x00" in key:
                    return path or "body"
                stack.append((f"{path}.{key}" if path else key, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{index}]", child) for index, child in reversed(list(enumerate(item))))
    return None


def storable_instant(value: dt.datetime) -> bool:
    """Whether ``value`` (naive means UTC) converts to UTC within years 1-9999."""
    try:
        (value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except OverflowError:
        return False
    return True
