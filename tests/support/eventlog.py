"""Checks shared by the domain tests: what the event log holds, and a hook that breaks a write.

``FailingHook`` is registered on the app's own EventLog (``app.state.services.events``): it runs
inside the writing transaction, after the change and the event row were written, so a failure
there must roll both back.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.container import Services
from aiclone.events.log import events_after
from aiclone.events.types import EventRecord


class HookFailure(RuntimeError):
    pass


class FailingHook:
    """Raises inside the transaction for the event types it is armed with."""

    def __init__(self) -> None:
        self.armed: set[str] = set()
        self.seen = 0

    def arm(self, *types: str) -> None:
        self.armed = set(types)

    async def on_event(self, session: AsyncSession, event: EventRecord) -> None:
        if event.type == "activity":  # derived feed lines; the domain event is what counts here
            return
        self.seen += 1
        if event.type in self.armed:
            raise HookFailure(f"in-transaction hook failed on {event.type}")


def install_failing_hook(app: Litestar) -> FailingHook:
    hook = FailingHook()
    services: Services = app.state.services
    services.events.add_hook(hook)
    return hook


async def events_of(services: Services, user_id: uuid.UUID, after: int = 0) -> list[EventRecord]:
    """The domain events of a user; the activity lines derived from them are test_feed's concern."""
    async with services.db.read_session() as session:
        events = await events_after(session, user_id, after, limit=5000)
    return [e for e in events if e.type != "activity"]


def assert_internal_error(response: Any) -> None:
    assert response.status_code == 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"].endswith("/internal-error")
    assert "HookFailure" not in response.text
    assert "Traceback" not in response.text


def field_errors(response: Any) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json().get("errors") or []}
