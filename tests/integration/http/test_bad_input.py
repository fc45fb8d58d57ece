"""Input the databases cannot store is a 422 naming the field, on both databases, never a 500.

PostgreSQL refuses NUL characters in text and SQLite stores them; datetimes whose UTC form
falls outside years 1-9999 cannot be compared or stored. Both are refused before any query.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.events.types import EventRecord
from aiclone.pagination import encode_cursor
from aiclone.settings import Settings
from tests.conftest import make_settings
from tests.support.eventlog import assert_internal_error
from tests.support.factories import SignedInUser, UserFactory

Client = AsyncTestClient[Litestar]
VALIDATION = "https://aiclone.dev/problems/validation-error"
NUL = "a\x00b"
START = "2025-01-01T00:00:00Z"
END = "2025-02-01T00:00:00Z"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # Webhook endpoints on 127.0.0.1 (the recover case never delivers anything).
    return make_settings(database_url, tmp_path, webhook_allow_private=True)


def assert_invalid(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == VALIDATION
    fields = [error["field"] for error in problem.get("errors") or []]
    assert field in fields, problem


async def _prospect(client: Client, user: SignedInUser) -> str:
    response = await client.post("/api/prospects", json={"name": "Ada"}, headers=user.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _register(nul: str) -> dict[str, Any]:
    return {
        "email": f"n{uuid.uuid4().hex[:8]}@example.com",
        "password": "a long passphrase 42",
        "full_name": nul,
    }


def _automation(nul: str) -> dict[str, Any]:
    return {
        "name": "rule",
        "trigger_event": "prospect_added",
        "action": {"type": "notify", "title": "hello"},
        "conditions": [{"field": "company", "op": "contains", "value": nul}],
    }


def _export(**overrides: Any) -> dict[str, Any]:
    return {
        "data_type": "prospects",
        "format": "csv",
        "date_range": {"start": START, "end": END},
        **overrides,
    }


# (method, path, json body or None, field the problem names); "{prospect}" is a prospect's id.
NUL_CASES: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("POST", "/api/auth/register", _register(NUL), "full_name"),
    ("POST", "/api/prospects", {"name": NUL}, "name"),
    ("POST", "/api/prospects", {"name": "Ada", "notes": NUL}, "notes"),
    ("POST", "/api/prospects", {"name": "Ada", "tags": ["ok", NUL]}, "tags[1]"),
    ("PATCH", "/api/prospects/{prospect}", {"company": NUL}, "company"),
    ("GET", "/api/prospects?q=" + quote(NUL), None, "q"),
    ("GET", "/api/prospects?tag=" + quote(NUL), None, "tag"),
    ("POST", "/api/content", {"title": "t", "body": NUL}, "body"),
    ("GET", "/api/content?tag=" + quote(NUL), None, "tag"),
    ("POST", "/api/automations", _automation(NUL), "conditions[0].value"),
    ("POST", "/api/research-tasks", {"title": NUL, "input_source": "x", "source_type": "keywords"}, "title"),
    ("POST", "/api/events/broadcast", {"title": "t", "body": NUL}, "body"),
    ("POST", "/api/analytics/export", _export(filters={"company": [NUL]}), "filters.company[0]"),
    ("POST", "/api/analytics/export", _export(filters={NUL: ["x"]}), "filters"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), NUL_CASES)
async def test_a_nul_character_is_a_validation_error_naming_the_field(
    client: Client,
    users: UserFactory,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    field: str,
) -> None:
    user = await users.create(admin=path.endswith("/broadcast"))
    if "{prospect}" in path:
        path = path.replace("{prospect}", await _prospect(client, user))
    with caplog.at_level(logging.INFO):
        response = await client.request(method, path, json=body, headers=user.headers)
    assert_invalid(response, field)
    assert "\x00" not in response.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_nul_in_a_form_field_is_a_validation_error(client: Client, users: UserFactory) -> None:
    user = await users.create()
    response = await client.post("/api/auth/login", data={"username": user.email, "password": NUL})
    assert_invalid(response, "password")


async def test_text_without_nul_still_goes_through(client: Client, users: UserFactory) -> None:
    # A JSON escape that only looks like a NUL ("\\u0000" is a backslash and five characters).
    user = await users.create()
    response = await client.post(
        "/api/prospects", json={"name": "Ada", "notes": "\\u0000"}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["notes"] == "\\u0000"


# Datetimes whose UTC form is outside years 1-9999.
EDGE_TIMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:00:00-14:00"]


@pytest.mark.parametrize("value", EDGE_TIMES)
async def test_a_datetime_outside_the_storable_range_is_a_validation_error(
    client: Client, users: UserFactory, value: str
) -> None:
    user = await users.create()
    listed = await client.get("/api/prospects", params={"created_after": value}, headers=user.headers)
    assert_invalid(listed, "created_after")
    exported = await client.post(
        "/api/analytics/export", json=_export(date_range={"start": value, "end": END}), headers=user.headers
    )
    assert exported.status_code == 422, exported.text
    assert exported.json()["type"] == VALIDATION


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00+00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]
)
@pytest.mark.parametrize(
    "path", ["/api/prospects", "/api/content", "/api/automations", "/api/research-tasks"]
)
async def test_a_cursor_at_the_edge_of_time_is_refused_or_served(
    client: Client, users: UserFactory, path: str, value: str
) -> None:
    user = await users.create()
    cursors = [encode_cursor(value, str(uuid.uuid4())), encode_cursor("created_at", value, str(uuid.uuid4()))]
    for cursor in cursors:
        response = await client.get(path, params={"cursor": cursor}, headers=user.headers)
        assert response.status_code in (200, 422), response.text
        if response.status_code == 422:
            assert_invalid(response, "cursor")


SECRET = "$argon2id$v=19$m=65536,t=3,p=4$not-a-real-hash"
# Kept out of the function so the traceback's source lines do not quote it.
FAILING = text("INSERT INTO no_such_table (secret) VALUES (:secret)")


class FailingStatement:
    """Runs a statement that fails, with a secret bound to it, inside the writing transaction."""

    async def on_event(self, session: AsyncSession, event: EventRecord) -> None:
        if event.type == "prospect_added":
            await session.execute(FAILING, {"secret": SECRET})


async def test_a_database_error_is_logged_without_its_statement_or_parameters(
    app: Litestar, client: Client, users: UserFactory, caplog: pytest.LogCaptureFixture
) -> None:
    user = await users.create()
    app.state.services.events.add_hook(FailingStatement())
    with caplog.at_level(logging.INFO):
        response = await client.post("/api/prospects", json={"name": "Ada"}, headers=user.headers)
    assert_internal_error(response)
    logged = "\n".join(logging.Formatter().format(record) for record in caplog.records)
    assert SECRET not in logged
    assert "unhandled database error on POST /api/prospects" in logged
    assert "Error" in logged.split("unhandled database error", 1)[1]
    assert "no_such_table" not in logged
    assert "[parameters" not in logged


@pytest.mark.parametrize("value", EDGE_TIMES)
async def test_a_body_datetime_outside_the_storable_range_is_a_validation_error(
    client: Client, users: UserFactory, value: str
) -> None:
    user = await users.create()
    created = await client.post(
        "/api/webhooks", json={"url": "http://127.0.0.1:9/hook", "event_types": ["*"]}, headers=user.headers
    )
    assert created.status_code == 201, created.text
    response = await client.post(
        f"/api/webhooks/{created.json()['id']}/recover", json={"since": value}, headers=user.headers
    )
    assert_invalid(response, "since")
