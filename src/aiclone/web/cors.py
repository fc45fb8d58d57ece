"""CORS from ``AICLONE_CORS_ORIGINS``.

No origins (the default) means no CORS headers at all: only same-origin pages can call the
API from a browser. A wildcard never comes with credentials, and production refuses ``*``
outright (checked in settings). The rate-limit fields, Retry-After and the request id are
exposed so browser code can read them.
"""

from __future__ import annotations

from litestar.config.cors import CORSConfig

from aiclone.settings import Settings

EXPOSED_HEADERS = [
    "RateLimit",
    "RateLimit-Policy",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "Retry-After",
    "X-Request-ID",
]


def cors_config(settings: Settings) -> CORSConfig | None:
    origins = settings.server.cors_origins
    if not origins:
        return None
    return CORSConfig(
        allow_origins=list(origins),
        allow_credentials="*" not in origins,
        allow_headers=["Authorization", "Content-Type", "Last-Event-ID", "X-Request-ID"],
        expose_headers=EXPOSED_HEADERS,
    )
