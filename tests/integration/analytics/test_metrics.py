from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from aiclone.app import Services, create_app
from aiclone.metrics import Metrics
from aiclone.research.models import SourceType
from aiclone.research.schemas import ResearchTaskCreate
from aiclone.webhooks.schemas import WebhookCreate
from tests.conftest import make_settings
from tests.support.factories import UserFactory
from tests.support.localweb import local_site
from tests.support.ports import free_port
from tests.support.ratelimit_support import AppFactory, sample
from tests.support.webhook_receiver import Receiver, Reply

Client = AsyncTestClient[Litestar]


@pytest.fixture
def build_app(database_url: str, tmp_path: Path, clean_tables: None) -> AppFactory:
    def build(**overrides: object) -> Litestar:
        return create_app(make_settings(database_url, tmp_path, **overrides))

    return build


async def test_metrics_are_admin_only(client: Client, users: UserFactory) -> None:
    user = await users.create()
    admin = await users.create(admin=True)
    anonymous = await client.get("/metrics")
    as_user = await client.get("/metrics", headers=user.headers)
    as_admin = await client.get("/metrics", headers=admin.headers)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert as_user.status_code == 403
    assert as_admin.status_code == 200
    assert as_admin.headers["content-type"].startswith("text/plain")
    assert as_admin.headers["cache-control"] == "no-store"
    assert "/metrics" not in (await client.get("/api/openapi.json")).json()["paths"]


async def test_requests_are_counted_by_route_template_and_status(client: Client, users: UserFactory) -> None:
    admin = await users.create(admin=True)
    for _ in range(3):
        await client.get("/api/auth/me", headers=admin.headers)
    await client.get("/api/auth/me")
    await client.get("/no/such/thing/12345")
    await client.request("BREW", "/health")
    text = (await client.get("/metrics", headers=admin.headers)).text
    # create() called /me once with the token too.
    assert 'aiclone_http_requests_total{method="GET",route="/api/auth/me",status="200"} 4.0' in text
    assert 'aiclone_http_requests_total{method="GET",route="/api/auth/me",status="401"} 1.0' in text
    assert 'aiclone_http_requests_total{method="GET",route="(unmatched)",status="404"} 1.0' in text
    assert 'method="OTHER"' in text
    assert "BREW" not in text
    assert "/no/such/thing" not in text
    assert (
        'aiclone_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/auth/me"}' in text
    )
    assert 'aiclone_http_request_duration_seconds_count{method="GET",route="/api/auth/me"} 5.0' in text
    assert "aiclone_http_requests_in_flight 1.0" in text  # the scrape itself


async def test_collectors_for_other_packages_are_registered(client: Client, users: UserFactory) -> None:
    admin = await users.create(admin=True)
    text = (await client.get("/metrics", headers=admin.headers)).text
    for name, kind in (
        ("aiclone_sse_connections", "gauge"),
        ("aiclone_webhook_deliveries", "counter"),
        ("aiclone_research_tasks", "counter"),
        ("aiclone_rate_limit_rejections", "counter"),
        ("aiclone_rate_limit_storage_errors", "counter"),
        ("aiclone_rate_limit_fail_open", "counter"),
    ):
        assert re.search(rf"^# TYPE {name}(_total)? {kind}$", text, re.MULTILINE), name


async def test_collectors_record_what_other_packages_report(
    build_app: AppFactory, services: Services
) -> None:
    app = build_app()
    metrics: Metrics = app.state.services.metrics
    metrics.sse_connections.inc()
    metrics.sse_connections.inc()
    metrics.webhook_deliveries.labels(outcome="delivered").inc()
    metrics.research_tasks.labels(status="done").inc(3)
    async with AsyncTestClient(app=app) as client:
        admin = await UserFactory(client, services).create(admin=True)
        text = (await client.get("/metrics", headers=admin.headers)).text
    assert "aiclone_sse_connections 2.0" in text
    assert 'aiclone_webhook_deliveries_total{outcome="delivered"} 1.0' in text
    assert 'aiclone_research_tasks_total{status="done"} 3.0' in text


def test_each_app_has_its_own_registry(database_url: str, tmp_path: Path) -> None:
    first = create_app(make_settings(database_url, tmp_path))
    second = create_app(make_settings(database_url, tmp_path))
    first.state.services.metrics.sse_connections.inc()
    assert sample(first, "aiclone_sse_connections") == 1
    assert sample(second, "aiclone_sse_connections") == 0


async def test_rate_limit_rejections_show_in_metrics(build_app: AppFactory, services: Services) -> None:
    app = build_app(rate_limit_enabled=True, rate_limit="2/minute", rate_limit_user="1000/minute")
    async with AsyncTestClient(app=app) as client:
        admin = await UserFactory(client, services).create(admin=True)  # register is not used for admins
        codes = [(await client.get("/api/auth/me")).status_code for _ in range(4)]
        text = (await client.get("/metrics", headers=admin.headers)).text
    refused = codes.count(429)
    assert refused >= 1
    assert f'aiclone_rate_limit_rejections_total{{policy="default"}} {float(refused)}' in text


async def test_metrics_on_a_separate_bind(build_app: AppFactory) -> None:
    port = free_port()
    app = build_app(metrics_bind=f"127.0.0.1:{port}")
    async with AsyncTestClient(app=app) as client:
        await client.get("/health")
        on_app = await client.get("/metrics")
        async with httpx.AsyncClient() as scraper:
            scraped = await scraper.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert on_app.status_code == 404
    assert scraped.status_code == 200
    assert 'aiclone_http_requests_total{method="GET",route="/health",status="200"} 1.0' in scraped.text
    with pytest.raises(httpx.ConnectError):  # stopped with the app
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


@asynccontextmanager
async def _with_workers(database_url: str, tmp_path: Path, **overrides: object) -> AsyncIterator[Services]:
    services = Services(make_settings(database_url, tmp_path, **overrides))
    await services.start(run_workers=True)
    try:
        yield services
    finally:
        await services.stop()


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


def _count(services: Services, name: str, **labels: str) -> float:
    return services.metrics.registry.get_sample_value(name, labels) or 0.0


async def test_webhook_worker_counts_attempts_by_outcome(
    database_url: str, tmp_path: Path, clean_tables: None
) -> None:
    receiver = Receiver()
    receiver.script("/hook", Reply(503), default=Reply(200))
    settings = {"webhook_allow_private": True, "webhook_retry_schedule": "50ms", "webhook_retry_jitter": 0.0}
    try:
        async with _with_workers(database_url, tmp_path, webhook_poll_seconds=0.2, **settings) as services:
            user = await services.auth.register(
                email=f"m-{uuid.uuid4().hex[:8]}@example.com",
                password="a long enough passphrase 42",
                full_name="M",
            )
            await services.webhooks.create(
                user.id, WebhookCreate(url=receiver.url(), event_types=["prospect_added"])
            )
            async with services.db.session() as session:
                await services.events.record(session, user_id=user.id, type="prospect_added", data={"n": 1})

            async def delivered() -> bool:
                return _count(services, "aiclone_webhook_deliveries_total", outcome="delivered") >= 1

            await _eventually(delivered)
            assert _count(services, "aiclone_webhook_deliveries_total", outcome="retrying") == 1
            assert _count(services, "aiclone_webhook_deliveries_total", outcome="delivered") == 1
            assert _count(services, "aiclone_webhook_deliveries_total", outcome="failed") == 0
            assert len(receiver.received()) == 2
    finally:
        receiver.close()


async def test_research_tasks_count_the_states_they_reach(
    database_url: str, tmp_path: Path, clean_tables: None
) -> None:
    page = "<html><head><title>alpha</title></head><body><p>alpha@example.org</p></body></html>"
    overrides = {"research_allow_private": True, "research_poll_seconds": 0.2}
    with local_site() as site:
        site.page("/a", page)
        async with _with_workers(database_url, tmp_path, **overrides) as services:
            user = await services.auth.register(
                email=f"m-{uuid.uuid4().hex[:8]}@example.com",
                password="a long enough passphrase 42",
                full_name="M",
            )
            task = await services.research.create(
                user.id,
                ResearchTaskCreate(title="t", input_source=site.url("/a"), source_type=SourceType.URLS),
            )

            async def done() -> bool:
                return (await services.research.get(user.id, task.id)).status in ("done", "failed")

            await _eventually(done)
            assert (await services.research.get(user.id, task.id)).status == "done"
            for status, expected in (("queued", 1), ("running", 1), ("done", 1), ("failed", 0)):
                assert _count(services, "aiclone_research_tasks_total", status=status) == expected, status


async def test_text_responses_name_their_charset_once(client: Client, users: UserFactory) -> None:
    admin = await users.create(admin=True)
    for response in (await client.get("/"), await client.get("/metrics", headers=admin.headers)):
        assert response.status_code == 200
        content_type = response.headers["content-type"]
        parameters = [part.strip().lower() for part in content_type.split(";")[1:]]
        assert [p for p in parameters if p.startswith("charset=")] == ["charset=utf-8"], content_type
    assert response.headers["content-type"].startswith("text/plain; version=")
