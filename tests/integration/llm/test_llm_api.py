"""The llm engine through the API: availability, refusal at creation, and a real server's SSE stream."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from aiclone.app import create_app
from aiclone.settings import Settings
from tests.conftest import make_settings
from tests.support.factories import UserFactory
from tests.support.live_support import Server, http, open_stream, sign_up
from tests.support.llm_provider import LLMProvider, Stream
from tests.support.localweb import LocalSite, local_site

Client = AsyncTestClient[Litestar]
KEY = "sk-live-api-test-key-0a1b2c3d4e5f"
TASKS = "/api/research-tasks"
ENGINES = "/api/research/engines"
PASSWORD = "a long enough passphrase 42"


@dataclass
class Caller:
    headers: dict[str, str]


async def sign_in(client: Client) -> Caller:
    email = f"llm-api-{uuid.uuid4().hex[:10]}@example.com"
    made = await client.post(
        "/api/auth/register", json={"email": email, "password": PASSWORD, "full_name": "L"}
    )
    assert made.status_code == 201, made.text
    login = await client.post("/api/auth/login", data={"username": email, "password": PASSWORD})
    return Caller({"Authorization": f"Bearer {login.json()['access_token']}"})


@pytest.fixture
def provider() -> Iterator[LLMProvider]:
    server = LLMProvider()
    yield server
    server.close()


@pytest.fixture
async def bare_client(database_url: str, tmp_path: Path, clean_tables: None) -> AsyncIterator[Client]:
    """An app with the default settings: no language model provider."""
    async with AsyncTestClient(app=create_app(make_settings(database_url, tmp_path))) as test_client:
        yield test_client


async def test_without_a_provider_llm_is_listed_unavailable_and_refused(bare_client: Client) -> None:
    client = bare_client
    user = await sign_in(client)
    assert (await client.get(ENGINES)).status_code == 401
    listed = await client.get(ENGINES, headers=user.headers)
    assert listed.status_code == 200, listed.text
    engines = {item["name"]: item for item in listed.json()["items"]}
    assert engines["web"] == {"name": "web", "available": True, "reason": None, "provider_state": None}
    assert engines["llm"]["available"] is False
    assert "AICLONE_LLM_BASE_URL" in engines["llm"]["reason"]

    refused = await client.post(
        TASKS,
        json={"title": "Acme", "input_source": "https://example.com", "source_type": "urls", "engine": "llm"},
        headers=user.headers,
    )
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert problem["type"].endswith("/engine-unavailable")
    assert "AICLONE_LLM_BASE_URL" in problem["detail"]
    assert problem["errors"][0]["field"] == "engine"
    assert (await client.get(TASKS, headers=user.headers)).json()["items"] == []  # nothing was queued

    web = await client.post(
        TASKS,
        json={"title": "Acme", "input_source": "https://example.com", "source_type": "urls"},
        headers=user.headers,
    )
    assert web.status_code == 201, web.text


@pytest.fixture
def settings(database_url: str, tmp_path: Path, provider: LLMProvider) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        llm_base_url=provider.base_url,
        llm_model="m",
        llm_api_key=KEY,
        run_workers=False,
    )


async def test_with_a_provider_llm_is_available(client: Client, users: UserFactory) -> None:
    user = await users.create()
    engines = {
        item["name"]: item for item in (await client.get(ENGINES, headers=user.headers)).json()["items"]
    }
    assert engines["llm"] == {"name": "llm", "available": True, "reason": None, "provider_state": "closed"}
    made = await client.post(
        TASKS,
        json={"title": "Acme", "input_source": "https://example.com", "source_type": "urls", "engine": "llm"},
        headers=user.headers,
    )
    assert made.status_code == 201, made.text
    assert made.json()["engine"] == "llm"
    assert KEY not in (await client.get(ENGINES, headers=user.headers)).text


@pytest.fixture
def site() -> Iterator[LocalSite]:
    with local_site() as running:
        yield running


@pytest.mark.slow
async def test_a_real_server_streams_the_insight_over_sse(
    database_url: str, tmp_path: Path, provider: LLMProvider, site: LocalSite
) -> None:
    site.page(
        "/acme",
        "<html><title>Acme</title><body><p>Acme ships tools; winter orders are late.</p></body></html>",
    )
    url = site.url("/acme")
    answer = {
        "summary": "Acme ships tools.",
        "key_findings": [{"text": "Ships tools.", "source_url": url}],
        "pain_points": [{"text": "Winter orders are late.", "source_url": url}],
        "opportunities": [],
        "suggested_angle": "Ask about winter.",
        "fit_score": 64,
        "fit_rationale": "A visible shipping pain.",
    }
    text = json.dumps(answer)
    provider.script(Stream.text(text, pieces=12, delay=0.1))
    server = Server(
        database_url,
        tmp_path / "srv",
        harness=False,
        llm_base_url=provider.base_url,
        llm_api_key=KEY,
        llm_model="test-model",
        llm_allow_private="true",
        research_allow_private="true",
        research_poll_seconds=0.5,
        log_level="DEBUG",
    )
    await server.start()
    try:
        account = await sign_up(server.url)
        async with open_stream(server.url, headers=account.headers) as stream:
            async with http(server.url) as api:
                made = await api.post(
                    TASKS,
                    json={"title": "Acme", "input_source": url, "source_type": "urls", "engine": "llm"},
                    headers=account.headers,
                )
            assert made.status_code == 201, made.text
            task_id = made.json()["id"]
            await stream.wait_for(lambda s: bool(s.named("research_completed")), timeout=30)
            frames = [(f.json, f.id) for f in stream.named("task_update")]
            updates = [
                {**body["data"], "_id": seq} for body, seq in frames if body["data"].get("task_id") == task_id
            ]
            completed = stream.named("research_completed")[0].json["data"]
        async with http(server.url) as api:
            row = (await api.get(f"{TASKS}/{task_id}", headers=account.headers)).json()
    finally:
        await server.stop()
    written = [u for u in updates if u.get("ephemeral") and "text" in u]
    assert written, updates
    assert all(u["_id"] is None for u in written)  # live ticks move no resume point
    assert [u["status"] for u in updates if not u.get("ephemeral")] == ["queued", "running", "done"]
    assert len(written) < 12  # throttled below one tick per delta
    assert text.startswith(written[0]["text"])
    assert text.startswith(written[-1]["text"])
    assert completed["task_id"] == task_id
    assert completed["insight"]["fit_score"] == 64
    assert completed["insight"]["claims"][1] == {
        "kind": "pain_point",
        "text": "Winter orders are late.",
        "source_url": url,
    }
    assert completed["insight"]["usage"]["input_tokens"] > 0
    assert row["status"] == "done"
    assert row["insight"]["fit_score"] == 64
    (request,) = provider.received()
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in server.log()  # not even at DEBUG
