"""The Research view in a real browser: create, live progress, insight, cancel, retry, errors, XSS.

Headless Chromium against a real ``aiclone serve`` whose web engine reads pages from a
``LocalSite`` on 127.0.0.1. Pages that must stay "in flight" wait on an event the test sets,
so progress is observed at a known point instead of by timing.
"""

from __future__ import annotations

import html
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from playwright.async_api import Browser, Page

from tests.support.browser_support import (
    HOSTILE,
    PageErrors,
    api,
    assert_no_xss,
    dashboard_server,
    new_page,
    screenshot_path,
    sign_up_in_page,
    wait_until,
)
from tests.support.live_support import Account, Server
from tests.support.localweb import LocalSite, local_site

pytestmark = pytest.mark.slow

GATE_SECONDS = 40.0


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    # Gated pages wait up to GATE_SECONDS; the fetch timeout must not end them first.
    async with dashboard_server(
        tmp_path_factory.mktemp("dashboard-research"), research_fetch_timeout_seconds=60
    ) as srv:
        yield srv


@pytest.fixture
def site() -> Iterator[LocalSite]:
    with local_site() as running:
        yield running


def gated(site: LocalSite, path: str, body: str, gate: threading.Event, *, first_only: bool = False) -> None:
    """A page that answers once ``gate`` is set (or the site stops); with ``first_only`` only the
    first request waits."""
    data = body.encode()

    def handler(request: BaseHTTPRequestHandler) -> None:
        if not first_only or site.hits[path] == 1:
            deadline = GATE_SECONDS
            while deadline > 0 and not gate.is_set() and not site.release.is_set():
                gate.wait(0.1)
                deadline -= 0.1
        request.send_response(200)
        request.send_header("Content-Type", "text/html; charset=utf-8")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    site.routes[path] = handler


def html_page(title: str, *headings: str, body: str = "") -> str:
    parts = "".join(f"<h2>{html.escape(text)}</h2>" for text in headings)
    return (
        f"<!doctype html><html><head><title>{html.escape(title)}</title>"
        f'<meta name="description" content="Robots for small warehouses."></head>'
        f"<body><h1>{html.escape(headings[0] if headings else title)}</h1>{parts}<p>{body}</p></body></html>"
    )


async def open_research(page: Page, server: Server) -> Account:
    account = await sign_up_in_page(page, server.url)
    await page.click("nav a[data-view=research]")
    await page.wait_for_selector("#research-form")
    return account


def task_li(task_id: str) -> str:
    return f"#research-tasks .task[data-id='{task_id}']"


async def created_task_id(page: Page, title: str) -> str:
    li = page.locator(f"#research-tasks .task:has(.task-title:text-is('{title}'))")
    await li.wait_for()
    task_id = await li.get_attribute("data-id")
    assert task_id
    return task_id


async def test_progress_moves_live_and_the_insight_renders_as_text(
    server: Server, page: Page, site: LocalSite
) -> None:
    errors = PageErrors(page)
    account = await sign_up_in_page(page, server.url)
    prospect = await api(
        server.url, account, "POST", "/api/prospects", json={"name": "Acme Buyer", "company": "Acme"}
    )
    await page.click("nav a[data-view=research]")
    await page.wait_for_selector(f"#research-prospect option[value='{prospect['id']}']", state="attached")

    hostile_title = f"{HOSTILE[0]} Acme Robotics"
    site.page(
        "/about", html_page(hostile_title, "Warehouse automation", "Pick faster", body="We are hiring.")
    )
    gate = threading.Event()
    gated(site, "/team", html_page("Acme team", "Our engineers"), gate)
    gated(site, "/news", html_page("Acme news", "Series A announced"), gate)

    await page.fill("#research-title", "Acme deep dive")
    await page.fill(
        "#research-urls", "\n".join([site.url("/about"), "", site.url("/team"), site.url("/news")])
    )
    await page.select_option("#research-priority", "high")
    await page.select_option("#research-prospect", prospect["id"])
    await page.click("#research-form button[type=submit]")
    task_id = await created_task_id(page, "Acme deep dive")
    li = task_li(task_id)

    # One page read, two held back: the bar stands part way, and the task is running.
    await wait_until(
        page,
        f'(() => {{ const li = document.querySelector("{li}");'
        " const v = li && Number(li.querySelector('progress').value);"
        " return li && li.dataset.status === 'running' && v > 0 && v < 100; })()",
        timeout=30,
    )
    assert await page.locator(f"{li} .pct").inner_text() == "33%"
    # The detail of the new task is open and moves too.
    await wait_until(page, "document.querySelector('#research-detail .task-view progress')?.value === 33")
    gate.set()
    await wait_until(page, f"document.querySelector(\"{li}\")?.dataset.status === 'done'", timeout=30)
    assert await page.eval_on_selector(f"{li} progress", "p => p.value") == 100
    assert await page.locator(f"{li} .pct").inner_text() == "100%"

    insight = page.locator("#research-insight")
    await insight.wait_for()
    text = await insight.inner_text()
    assert hostile_title in text
    assert "Warehouse automation" in text
    assert "Series A announced" in text
    assert await page.locator("#insight-findings li").count() > 0
    assert await page.locator("#insight-outreach").is_visible()
    links = page.locator("#insight-sources a")
    assert await links.count() == 3
    assert await links.first.get_attribute("rel") == "noopener noreferrer"
    assert hostile_title in await links.first.inner_text()
    assert (
        await page.locator("#research-detail img, #research-detail script, #research-detail svg").count() == 0
    )
    await assert_no_xss(page)

    stored = await api(server.url, account, "GET", f"/api/research-tasks/{task_id}")
    assert (stored["status"], stored["priority"], stored["prospect_id"]) == ("done", "high", prospect["id"])
    assert stored["insight"]["sources"][0]["title"] == hostile_title
    await page.screenshot(path=screenshot_path("research"), full_page=True)
    assert errors.messages == []


async def test_cancel_a_running_task_then_retry_it(server: Server, page: Page, site: LocalSite) -> None:
    errors = PageErrors(page)
    account = await open_research(page, server)
    gate = threading.Event()
    gated(site, "/hang", html_page("Finally here", "Worth the wait"), gate, first_only=True)

    await page.fill("#research-title", "Slow site")
    await page.fill("#research-urls", site.url("/hang"))
    await page.click("#research-form button[type=submit]")
    task_id = await created_task_id(page, "Slow site")
    li = task_li(task_id)
    await wait_until(page, f"document.querySelector(\"{li}\")?.dataset.status === 'running'", timeout=30)
    assert await page.locator(f"{li} [data-action=retry]").count() == 0
    await page.click(f"{li} [data-action=cancel]")
    await wait_until(page, f"document.querySelector(\"{li}\")?.dataset.status === 'cancelled'")
    stored = await api(server.url, account, "GET", f"/api/research-tasks/{task_id}")
    assert stored["status"] == "cancelled"
    assert await page.locator(f"{li} [data-action=cancel]").count() == 0

    # Retry: queued again; the page answers at once this time and the task completes.
    await page.click(f"{li} [data-action=retry]")
    await wait_until(page, f"document.querySelector(\"{li}\")?.dataset.status === 'done'", timeout=30)
    assert await page.eval_on_selector(f"{li} progress", "p => p.value") == 100
    await page.click(f"{li} [data-action=open]")
    await page.locator("#research-insight:has-text('Worth the wait')").wait_for()
    stored = await api(server.url, account, "GET", f"/api/research-tasks/{task_id}")
    assert (stored["status"], stored["attempts"]) == ("done", 2)
    gate.set()
    assert errors.messages == []


async def test_bad_input_failure_and_tasks_from_elsewhere(
    server: Server, page: Page, site: LocalSite
) -> None:
    errors = PageErrors(page)
    account = await open_research(page, server)
    await page.wait_for_selector("#research-state .state-empty")

    # Field errors (a blank title and a non-http URL are reported together), values kept.
    await page.fill("#research-title", "   ")
    await page.fill("#research-urls", "ftp://example.com/file")
    await page.click("#research-form button[type=submit]")
    await page.wait_for_selector("#research-form .error-box")
    await page.wait_for_selector("#research-title-error:not([hidden])")
    assert await page.locator("#research-input_source-error").is_visible()
    assert await page.input_value("#research-urls") == "ftp://example.com/file"
    assert await page.locator("#research-tasks .task").count() == 0

    # A task whose only page is missing fails, and the detail says why.
    await page.fill("#research-title", HOSTILE[3])
    await page.fill("#research-urls", site.url("/missing"))
    await page.click("#research-form button[type=submit]")
    await page.wait_for_selector("#research-form .error-box", state="detached")
    await page.wait_for_selector("#research-detail .task-view[data-status=failed]", timeout=30_000)
    error = await page.locator("#research-error").inner_text()
    assert "could be read" in error
    assert await page.locator("#research-detail [data-action=retry]").is_visible()
    assert await page.locator("#research-detail .task-title").inner_text() == HOSTILE[3]

    # A task queued through the API shows up without a reload, and moves to done.
    site.page("/elsewhere", html_page(HOSTILE[1], "From the API"))
    made = await api(
        server.url,
        account,
        "POST",
        "/api/research-tasks",
        json={"title": HOSTILE[2], "input_source": site.url("/elsewhere"), "source_type": "urls"},
    )
    li = task_li(made["id"])
    await wait_until(page, f"document.querySelector(\"{li}\")?.dataset.status === 'done'", timeout=30)
    assert await page.locator(f"{li} .task-title").inner_text() == HOSTILE[2]
    await page.click(f"{li} [data-action=open]")
    await page.locator("#research-insight:has-text('From the API')").wait_for()
    assert HOSTILE[1] in await page.locator("#research-insight").inner_text()
    await assert_no_xss(page)
    assert await page.locator("#research-tasks svg, #research-detail svg, #research-detail img").count() == 0

    # The status filter narrows the list.
    await page.select_option("#research-filter-status", "failed")
    await wait_until(page, "document.querySelectorAll('#research-tasks .task').length === 1")
    assert await page.locator("#research-tasks .task").get_attribute("data-status") == "failed"
    assert errors.messages == []


async def test_phone_width_has_no_horizontal_scroll(
    server: Server, browser: Browser, site: LocalSite
) -> None:
    context, page = await new_page(browser, width=390, height=844)
    try:
        account = await open_research(page, server)
        site.page("/p", html_page("A page with a rather long title for a narrow phone screen", "Heading"))
        made = await api(
            server.url,
            account,
            "POST",
            "/api/research-tasks",
            json={"title": "Phone-sized research", "input_source": site.url("/p"), "source_type": "urls"},
        )
        li = task_li(made["id"])
        await wait_until(page, f"document.querySelector(\"{li}\")?.dataset.status === 'done'", timeout=30)
        await page.click(f"{li} [data-action=open]")
        await page.wait_for_selector("#research-insight")
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await page.screenshot(path=screenshot_path("research-phone"), full_page=True)
    finally:
        await context.close()
