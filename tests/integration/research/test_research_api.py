"""The research-tasks API: validation, ownership, listing, cancel/retry and their events.

Workers are off here, so tasks stay where the API puts them; the runner has its own tests.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.container import Services
from aiclone.events.log import events_after
from aiclone.events.models import Event
from aiclone.events.types import EventRecord
from aiclone.research.models import ResearchTask
from aiclone.settings import Settings
from tests.conftest import make_settings
from tests.support.factories import SignedInUser, UserFactory
from tests.support.problems import assert_problem

Client = AsyncTestClient[Litestar]
BASE = "/api/research-tasks"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, run_workers=False)


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Acme research",
        "input_source": "https://acme.example.com/\nhttps://acme.example.com/about",
        "source_type": "urls",
    }
    data.update(overrides)
    return data


async def create(client: Client, user: SignedInUser, **overrides: Any) -> dict[str, Any]:
    response = await client.post(BASE, json=body(**overrides), headers=user.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def events_of(services: Services, user_id: uuid.UUID) -> list[EventRecord]:
    async with services.db.read_session() as session:
        events = await events_after(session, user_id, 0)
    # The activity feed derives its own events from these; test_feed covers them.
    return [e for e in events if e.type != "activity"]


async def test_every_route_needs_a_token(client: Client) -> None:
    some = uuid.uuid4()
    for method, path in [
        ("POST", BASE),
        ("GET", BASE),
        ("GET", f"{BASE}/{some}"),
        ("POST", f"{BASE}/{some}/cancel"),
        ("POST", f"{BASE}/{some}/retry"),
    ]:
        response = await client.request(method, path, json=body() if method == "POST" else None)
        assert response.status_code == 401, (method, path)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_prospect_id_must_be_the_callers_own(client: Client, users: UserFactory) -> None:
    owner, other = await users.create(), await users.create()
    made = await client.post("/api/prospects", json={"name": "Mine"}, headers=owner.headers)
    assert made.status_code == 201, made.text
    for prospect_id in (made.json()["id"], str(uuid.uuid4())):
        response = await client.post(BASE, json=body(prospect_id=prospect_id), headers=other.headers)
        assert_problem(response, 422, "validation-error")
        assert response.json()["errors"][0]["field"] == "prospect_id"


async def test_create_queues_the_task_and_writes_its_event(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    made = await client.post("/api/prospects", json={"name": "Acme lead"}, headers=user.headers)
    assert made.status_code == 201, made.text
    prospect = uuid.UUID(made.json()["id"])
    task = await create(client, user, priority="high", prospect_id=str(prospect), title="  Acme  ")
    assert task["status"] == "queued"
    assert task["progress"] == 0
    assert task["attempts"] == 0
    assert task["engine"] == "web"
    assert task["priority"] == "high"
    assert task["title"] == "Acme"
    assert task["prospect_id"] == str(prospect)
    assert task["user_id"] == str(user.id)
    assert task["insight"] is None
    assert task["started_at"] is None
    events = [e for e in await events_of(services, user.id) if e.type != "prospect_added"]
    assert [(e.type, e.data["status"], e.data["task_id"]) for e in events] == [
        ("task_update", "queued", task["id"])
    ]
    assert events[0].data["progress"] == 0
    assert events[0].data["error"] is None


async def test_defaults_and_other_source_types(client: Client, users: UserFactory) -> None:
    user = await users.create()
    # An engine this instance does not run may be on the workers': accepted (see test_api_papercuts
    # for one that is configured here and cannot run the input).
    task = await create(
        client, user, source_type="keywords", input_source="warehouse robots lyon", engine="custom-2"
    )
    assert task["priority"] == "medium"
    profile = await create(
        client, user, source_type="profile", input_source="VP Ops at a retailer", engine="custom-1"
    )
    assert profile["engine"] == "custom-1"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"input_source": "x" * 10_001}, "input_source"),
        ({"input_source": "  "}, "input_source"),
        ({"source_type": "rumours"}, "source_type"),
        ({"priority": "urgent"}, "priority"),
        ({"engine": "Web Engine!"}, "engine"),
        ({"prospect_id": "not-a-uuid"}, "prospect_id"),
        ({"status": "done"}, "status"),  # unknown field: clients cannot set the state
        ({"input_source": "ftp://acme.example.com/"}, "input_source"),
        ({"input_source": "acme.example.com"}, "input_source"),
        ({"input_source": "https://user:pw@acme.example.com/"}, "input_source"),
        ({"input_source": " ".join(f"https://a{i}.example.com/" for i in range(21))}, "input_source"),
    ],
)
async def test_invalid_input_is_422_naming_the_field(
    client: Client, users: UserFactory, overrides: dict[str, Any], field: str
) -> None:
    user = await users.create()
    response = await client.post(BASE, json=body(**overrides), headers=user.headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert any(error["field"] == field for error in problem["errors"]), problem


async def test_missing_body_fields_are_422(client: Client, users: UserFactory) -> None:
    user = await users.create()
    response = await client.post(BASE, json={"title": "x"}, headers=user.headers)
    assert_problem(response, 422, "validation-error")


async def test_another_users_task_is_404_everywhere(client: Client, users: UserFactory) -> None:
    owner, other = await users.create(), await users.create()
    task = await create(client, owner)
    for method, suffix in [("GET", ""), ("POST", "/cancel"), ("POST", "/retry")]:
        response = await client.request(method, f"{BASE}/{task['id']}{suffix}", headers=other.headers)
        assert_problem(response, 404, "not-found", note=(method, suffix))
    listed = await client.get(BASE, headers=other.headers)
    assert listed.json()["items"] == []
    still = await client.get(f"{BASE}/{task['id']}", headers=owner.headers)
    assert still.json()["status"] == "queued"


async def test_unknown_task_is_404(client: Client, users: UserFactory) -> None:
    user = await users.create()
    assert_problem(await client.get(f"{BASE}/{uuid.uuid4()}", headers=user.headers), 404, "not-found")
    assert (await client.get(f"{BASE}/not-a-uuid", headers=user.headers)).status_code in (404, 422)


async def test_user_id_is_for_admins_only(client: Client, users: UserFactory) -> None:
    owner, other = await users.create(), await users.create()
    admin = await users.create(admin=True)
    task = await create(client, owner)
    # A non-admin naming another user: 403 on every route.
    for method, suffix in [("GET", ""), ("GET", f"/{task['id']}"), ("POST", f"/{task['id']}/cancel")]:
        response = await client.request(
            method, f"{BASE}{suffix}", params={"user_id": str(owner.id)}, headers=other.headers
        )
        assert_problem(response, 403, "forbidden", note=(method, suffix))
    # An admin sees it only when naming the owner.
    assert_problem(await client.get(f"{BASE}/{task['id']}", headers=admin.headers), 404, "not-found")
    seen = await client.get(f"{BASE}/{task['id']}", params={"user_id": str(owner.id)}, headers=admin.headers)
    assert seen.status_code == 200
    listed = await client.get(BASE, params={"user_id": str(owner.id)}, headers=admin.headers)
    assert [t["id"] for t in listed.json()["items"]] == [task["id"]]
    made = await client.post(BASE, json=body(), params={"user_id": str(owner.id)}, headers=admin.headers)
    assert made.status_code == 201
    assert made.json()["user_id"] == str(owner.id)
    cancelled = await client.post(
        f"{BASE}/{task['id']}/cancel", params={"user_id": str(owner.id)}, headers=admin.headers
    )
    assert cancelled.json()["status"] == "cancelled"


async def test_list_filters_and_keyset_pages(client: Client, users: UserFactory) -> None:
    user = await users.create()
    made = [await create(client, user, title=f"t{i}", priority=["high", "low"][i % 2]) for i in range(5)]
    await client.post(f"{BASE}/{made[0]['id']}/cancel", headers=user.headers)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(BASE, params=params, headers=user.headers)).json()
        seen.extend(t["title"] for t in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["t4", "t3", "t2", "t1", "t0"]
    low = (await client.get(BASE, params={"priority": "low"}, headers=user.headers)).json()["items"]
    assert [t["title"] for t in low] == ["t3", "t1"]
    cancelled = (await client.get(BASE, params={"status": "cancelled"}, headers=user.headers)).json()["items"]
    assert [t["title"] for t in cancelled] == ["t0"]
    queued_high = await client.get(
        BASE, params={"status": "queued", "priority": "high"}, headers=user.headers
    )
    assert [t["title"] for t in queued_high.json()["items"]] == ["t4", "t2"]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "sleeping"},
        {"priority": "urgent"},
        {"limit": 0},
        {"limit": 201},
        {"cursor": "%%%not-a-cursor"},
    ],
)
async def test_bad_list_parameters_are_422(
    client: Client, users: UserFactory, params: dict[str, Any]
) -> None:
    user = await users.create()
    response = await client.get(BASE, params=params, headers=user.headers)
    assert_problem(response, 422, "validation-error")


async def test_cancel_and_retry_follow_the_state_machine(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    task = await create(client, user)
    url = f"{BASE}/{task['id']}"
    assert (await client.post(f"{url}/retry", headers=user.headers)).status_code == 409  # queued
    cancelled = await client.post(f"{url}/cancel", headers=user.headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["completed_at"] is not None
    again = await client.post(f"{url}/cancel", headers=user.headers)
    assert again.status_code == 409
    assert again.json()["type"].endswith("/conflict")
    retried = await client.post(f"{url}/retry", headers=user.headers)
    assert retried.status_code == 200
    assert retried.json()["status"] == "queued"
    assert retried.json()["completed_at"] is None
    events = await events_of(services, user.id)
    assert [(e.type, e.data["status"]) for e in events] == [
        ("task_update", "queued"),
        ("task_update", "cancelled"),
        ("task_completed", "cancelled"),
        ("task_update", "queued"),
    ]
    assert events[1].data["detail"] == "cancelled while queued"
    assert events[3].data["detail"] == "retried"


class FailOn:
    """An in-transaction hook that fails when an event matches, like any hook failure would."""

    def __init__(self, type: str, status: str) -> None:
        self.type = type
        self.status = status

    async def on_event(self, session: AsyncSession, event: EventRecord) -> None:
        if event.type == self.type and event.data.get("status") == self.status:
            raise RuntimeError("hook failed")


async def _counts(services: Services, user_id: uuid.UUID) -> tuple[int, int]:
    async with services.db.read_session() as session:
        tasks = await session.scalar(
            select(func.count()).select_from(ResearchTask).where(ResearchTask.user_id == user_id)
        )
        # Derived activity events are left out: the feed's own tests cover them.
        events = await session.scalar(
            select(func.count()).select_from(Event).where(Event.user_id == user_id, Event.type != "activity")
        )
    return int(tasks or 0), int(events or 0)


async def test_a_failure_after_the_change_leaves_neither_change_nor_event(
    app: Litestar, client: Client, users: UserFactory, services: Services
) -> None:
    """An in-transaction hook fails after each change: create, retry and cancel roll back whole."""
    user = await users.create()
    task = await create(client, user)
    stopped = await create(client, user)
    await services.research.cancel(user.id, uuid.UUID(stopped["id"]))  # not through the app: no hooks
    assert await _counts(services, user.id) == (2, 4)
    app_services: Services = app.state.services

    app_services.events.add_hook(FailOn("task_update", "queued"))
    response = await client.post(f"{BASE}/{stopped['id']}/retry", headers=user.headers)
    assert response.status_code == 500
    assert "hook" not in response.text
    assert (await client.get(f"{BASE}/{stopped['id']}", headers=user.headers)).json()["status"] == "cancelled"
    assert (await client.post(BASE, json=body(), headers=user.headers)).status_code == 500
    assert await _counts(services, user.id) == (2, 4)

    app_services.events.add_hook(FailOn("task_completed", "cancelled"))
    assert (await client.post(f"{BASE}/{task['id']}/cancel", headers=user.headers)).status_code == 500
    assert (await client.get(f"{BASE}/{task['id']}", headers=user.headers)).json()["status"] == "queued"
    assert await _counts(services, user.id) == (2, 4)


async def test_openapi_documents_the_routes(client: Client) -> None:
    spec = (await client.get("/api/openapi.json")).json()
    paths = spec["paths"]
    assert set(paths[BASE]) == {"get", "post"}
    for suffix in ("/{task_id}", "/{task_id}/cancel", "/{task_id}/retry"):
        assert f"{BASE}{suffix}" in paths
    create_op = paths[BASE]["post"]
    assert create_op["summary"] == "Queue a research task"
    assert {"401", "422"} <= set(create_op["responses"])
    assert "Insight" in spec["components"]["schemas"]
