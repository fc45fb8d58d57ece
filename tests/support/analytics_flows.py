"""Data for the analytics tests: product flows through the real API, and webhook delivery rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import insert

from aiclone.container import Services
from aiclone.webhooks.models import WebhookDelivery, WebhookEndpoint


@dataclass
class Flows:
    prospects: list[dict[str, Any]]
    outreach: dict[str, Any]
    content: dict[str, Any]


async def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def run_flows(client: AsyncTestClient[Litestar], headers: dict[str, str]) -> Flows:
    """Three prospects (one added approved, one approved later, one with a formula-like name),
    one outreach message sent that books a meeting, one piece of content published."""
    p1 = await _ok(
        await client.post("/api/prospects", json={"name": "Ada", "tags": ["a"]}, headers=headers), 201
    )
    p2 = await _ok(
        await client.post(
            "/api/prospects", json={"name": "Grace", "approval_status": "approved"}, headers=headers
        ),
        201,
    )
    p3 = await _ok(
        await client.post(
            "/api/prospects", json={"name": '=HYPERLINK("http://x","y")', "company": "+Evil"}, headers=headers
        ),
        201,
    )
    p1 = await _ok(
        await client.patch(
            f"/api/prospects/{p1['id']}", json={"approval_status": "approved"}, headers=headers
        )
    )
    draft = await _ok(
        await client.post(
            "/api/outreach",
            json={"prospect_id": p1["id"], "subject": "-Hello", "body": "Hi"},
            headers=headers,
        ),
        201,
    )
    await _ok(await client.post(f"/api/outreach/{draft['id']}/send", headers=headers))
    message = await _ok(await client.post(f"/api/outreach/{draft['id']}/meeting-booked", headers=headers))
    item = await _ok(
        await client.post(
            "/api/content", json={"title": "@launch", "body": "We launched.", "tags": ["x"]}, headers=headers
        ),
        201,
    )
    item = await _ok(await client.post(f"/api/content/{item['id']}/publish", headers=headers))
    return Flows(prospects=[p1, p2, p3], outreach=message, content=item)


async def insert_deliveries(services: Services, user_id: uuid.UUID, rows: list[dict[str, Any]]) -> None:
    async with services.db.session() as session:
        endpoint = WebhookEndpoint(
            user_id=user_id, url="https://hooks.example/in", event_types=["*"], secret_sealed="sealed"
        )
        session.add(endpoint)
        await session.flush()
        defaults = {"event_type": "prospect_added", "payload": "{}", "is_test": False}
        await session.execute(
            insert(WebhookDelivery),
            [{**defaults, "endpoint_id": endpoint.id, "user_id": user_id, **row} for row in rows],
        )
