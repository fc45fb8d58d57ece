"""Reading the URL list of a ``urls`` task (shared by the API's validation and the web engine)."""

from __future__ import annotations

import re

import httpx

_SEPARATORS = re.compile(r"[\s,]+")
MAX_URL_LENGTH = 2048


def split_urls(text: str) -> list[str]:
    """The URLs of an input, in order, without duplicates (separated by white space or commas)."""
    seen: dict[str, None] = {}
    for part in _SEPARATORS.split(text):
        if part:
            seen.setdefault(part, None)
    return list(seen)


def url_problem(raw: str) -> str | None:
    """Why ``raw`` cannot be fetched, or None. Only absolute http(s) URLs with a host, no credentials."""
    if len(raw) > MAX_URL_LENGTH:
        return f"is longer than {MAX_URL_LENGTH} characters"
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, ValueError) as exc:
        return f"is not a valid URL ({exc})"
    if url.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not url.host:
        return "has no host"
    if url.userinfo:
        return "may not contain credentials"
    return None
