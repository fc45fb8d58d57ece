"""Small things a first user trips over: missing bodies, feed links, engines that cannot run a
task, the order of a task's times, and what ``GET /api/auth/me`` tells about the address."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import update

from aiclone.container import Services
from aiclone.research.models import ResearchTask, SourceType
from aiclone.research.repository import ResearchTaskRepository
from aiclone.research.schemas import ResearchTaskCreate
from tests.conftest import make_settings
from tests.support.factories import DEFAULT_PASSWORD, UserFactory
from tests.support.webhook_receiver import Receiver

Client = AsyncTestClient[Litestar]


async def test_a_missing_body_says_a_json_body_is_required(client: Client, users: UserFactory) -> None:
    user = await users.create()
    response = await client.post("/api/prospects", headers=user.headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["type"].endswith("/validation-error")
    assert problem["errors"] == [{"field": "body", "message": "a JSON request body is required"}]
    assert "'data'" not in response.text


async def test_sending_a_test_event_needs_no_body(
    database_url: str, tmp_path: Path, clean_tables: None, services: Services
) -> None:
    receiver = Receiver()
    app = Litestar_app(database_url, tmp_path)
    try:
        async with AsyncTestClient(app=app) as client:
            user = await UserFactory(client, services).create()
            created = await client.post(
                "/api/webhooks",
                json={"url": receiver.url(), "event_types": ["prospect_added"]},
                headers=user.headers,
            )
            assert created.status_code == 201, created.text
            hook = created.json()["id"]
            sent = await client.post(f"/api/webhooks/{hook}/test", headers=user.headers)
            spec = (await client.get("/api/openapi.json")).json()
        assert sent.status_code == 200, sent.text
        assert sent.json()["event_type"] == "prospect_added"  # the default
        assert len(receiver.received()) == 1
        operation = spec["paths"]["/api/webhooks/{webhook_id}/test"]["post"]
        assert operation["requestBody"].get("required", False) is False
    finally:
        receiver.close()


def Litestar_app(database_url: str, tmp_path: Path) -> Litestar:  # noqa: N802 - reads as the type it builds
    from aiclone.app import create_app

    return create_app(make_settings(database_url, tmp_path, webhook_allow_private=True))


async def test_research_entries_of_the_feed_link_to_their_task(client: Client, users: UserFactory) -> None:
    user = await users.create()
    created = await client.post(
        "/api/research-tasks",
        json={"title": "Acme", "input_source": "https://example.com/", "source_type": "urls"},
        headers=user.headers,
    )
    assert created.status_code == 201, created.text
    task = created.json()["id"]
    cancelled = await client.post(f"/api/research-tasks/{task}/cancel", headers=user.headers)
    assert cancelled.status_code == 200, cancelled.text
    feed = (await client.get("/api/activities", headers=user.headers)).json()["items"]
    links = [item["link"] for item in feed if item["link"] and "research" in item["link"]]
    assert links, feed
    assert set(links) == {f"/research-tasks/{task}"}


async def test_a_task_its_engine_cannot_run_is_refused_at_creation(
    client: Client, users: UserFactory
) -> None:
    user = await users.create()
    for source_type in ("keywords", "profile"):
        response = await client.post(
            "/api/research-tasks",
            json={
                "title": "t",
                "input_source": "warehouse robots",
                "source_type": source_type,
                "engine": "web",
            },
            headers=user.headers,
        )
        assert response.status_code == 422, response.text
        assert response.json()["type"].endswith("/validation-error")
        [error] = response.json()["errors"]
        assert error["field"] == "engine"
        assert f"cannot research {source_type} input" in error["message"]
        assert "no engine configured here can" in error["message"]
    listed = (await client.get("/api/research-tasks", headers=user.headers)).json()["items"]
    assert listed == []  # nothing was stored


async def test_a_run_never_starts_before_its_task_was_created(services: Services) -> None:
    """A claimer reads its clock, then a task commits, then the claimer's statement runs."""
    user = await services.auth.register(
        email=f"p-{uuid.uuid4().hex[:8]}@example.com", password=DEFAULT_PASSWORD, full_name="P"
    )
    task = await services.research.create(
        user.id,
        ResearchTaskCreate(title="t", input_source="https://example.com/", source_type=SourceType.URLS),
    )
    clock_read_before_the_commit = task.created_at - dt.timedelta(milliseconds=300)
    async with services.db.session() as session:
        claimed = await ResearchTaskRepository(session).claim_next(
            "worker-1",
            now=clock_read_before_the_commit,
            lease_until=task.created_at + dt.timedelta(seconds=30),
        )
    assert claimed is not None
    read = await services.research.get(user.id, task.id)
    assert read.started_at is not None
    assert read.started_at >= read.created_at
    async with services.db.session() as session:  # leave no running task behind
        await session.execute(
            update(ResearchTask).where(ResearchTask.id == task.id).values(status="cancelled")
        )


async def test_me_shows_a_pending_address_change_and_whether_the_address_is_verified(
    client: Client, users: UserFactory
) -> None:
    user = await users.create()
    before = (await client.get("/api/auth/me", headers=user.headers)).json()
    assert before["pending_email"] is None
    assert before["email_verified"] is False
    changed = await client.patch(
        "/api/auth/me",
        json={"email": "later@example.com", "current_password": DEFAULT_PASSWORD},
        headers=user.headers,
    )
    assert changed.status_code == 200, changed.text
    after = (await client.get("/api/auth/me", headers=user.headers)).json()
    assert after["pending_email"] == "later@example.com"
    assert after["email"] == user.email
    assert set(after) == set(changed.json())  # GET and PATCH /me answer the same schema
