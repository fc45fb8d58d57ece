"""The baseline: a bare Litestar JSON endpoint, no middleware, no database.

Run by bench/http_me.py under the same server code and settings as ``aiclone serve``
(aiclone.serving), so the ratio against it isolates what the product adds per request.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import uuid

import msgspec
from litestar import Litestar, get

from aiclone.serving import SERVERS, run_server


class Payload(msgspec.Struct):
    """The same shape and size as the UserRead that /api/auth/me returns."""

    id: uuid.UUID
    email: str
    full_name: str
    role: str
    is_active: bool
    created_at: dt.datetime


_PAYLOAD = Payload(
    id=uuid.UUID("0b5c0e53-7d1c-4b5e-9d0a-6f0a3e1c2b4d"),
    email="bench@example.com",
    full_name="Bench User",
    role="user",
    is_active=True,
    created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
)


@get("/bare", sync_to_thread=False)
def bare() -> Payload:
    return _PAYLOAD


def create_app() -> Litestar:
    return Litestar(route_handlers=[bare], openapi_config=None, debug=False)


def main() -> int:
    parser = argparse.ArgumentParser(description="serve the bare baseline app")
    parser.add_argument("--server", choices=SERVERS, default="uvicorn")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    return run_server(
        "bench.bare_app:create_app",
        server=args.server,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        log_level="warning",
    )


if __name__ == "__main__":
    sys.exit(main())
