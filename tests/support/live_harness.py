"""``aiclone serve`` with two extra test-only routes that commit events through the server's own
services, so live delivery can be tested on SQLite too (where only the writing process's broker
hears an event). Everything else is the real command and the real app.

It also serves an empty page (``/_test/blank``) for browser tests.

Run as ``python -m tests.support.live_harness serve --port N …`` (same arguments as ``aiclone``).
"""

from __future__ import annotations

import sys
import uuid
from typing import Any

import msgspec
from litestar import Litestar, MediaType, Response, get, post
from litestar.datastructures import State
from litestar.params import JSONBody

from aiclone import cli
from aiclone.app import create_app_from_env
from aiclone.container import Services
from aiclone.events.types import Ephemeral


class WriteEvents(msgspec.Struct):
    user_id: uuid.UUID
    count: int = 1
    type: str = "activity"
    per_transaction: int = 1
    data: dict[str, Any] = {}
    pad_bytes: int = 0


class PublishEphemeral(msgspec.Struct):
    user_id: uuid.UUID
    type: str = "task_update"
    data: dict[str, Any] = {}


@post("/_test/events", exclude_from_auth=True, include_in_schema=False)
async def write_events(data: JSONBody[WriteEvents], state: State) -> dict[str, list[int]]:
    services: Services = state.services
    seqs: list[int] = []
    remaining = data.count
    while remaining > 0:
        n = min(remaining, data.per_transaction)
        async with services.db.session() as session:
            for _ in range(n):
                payload = {**data.data, "n": len(seqs)}
                if data.pad_bytes:
                    payload["pad"] = "x" * data.pad_bytes
                event = await services.events.record(
                    session, user_id=data.user_id, type=data.type, data=payload
                )
                seqs.append(event.seq)
        remaining -= n
    return {"seqs": seqs}


@post("/_test/ephemeral", exclude_from_auth=True, include_in_schema=False)
async def publish_ephemeral(data: JSONBody[PublishEphemeral], state: State) -> dict[str, bool]:
    services: Services = state.services
    await services.broker.publish_ephemeral(Ephemeral(user_id=data.user_id, type=data.type, data=data.data))
    return {"ok": True}


# An empty document of the app's origin, for browser tests that drive a native EventSource from
# it. Its own policy allows connections to this origin only (no script runs but the test's).
BLANK_PAGE_CSP = "default-src 'none'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"


@get("/_test/blank", exclude_from_auth=True, include_in_schema=False, media_type=MediaType.HTML)
async def blank_page() -> Response[str]:
    return Response(
        "<!doctype html><meta charset=utf-8><title>blank</title>",
        headers={"Content-Security-Policy": BLANK_PAGE_CSP},
    )


def create_app_with_test_writer() -> Litestar:
    app = create_app_from_env()
    app.register(write_events)
    app.register(publish_ephemeral)
    app.register(blank_page)
    return app


if __name__ == "__main__":
    cli.APP_FACTORY = "tests.support.live_harness:create_app_with_test_writer"
    sys.exit(cli.main(sys.argv[1:]))
