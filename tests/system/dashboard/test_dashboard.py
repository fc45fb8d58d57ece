"""The dashboard shell in a real browser: sign-up, session, live feed, connection light, XSS.

Headless Chromium against a real ``aiclone serve`` (see tests.support.browser_support).
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page

from tests.support.browser_support import (
    HOSTILE,
    PageErrors,
    admin_account,
    api,
    assert_no_xss,
    dashboard_server,
    new_page,
    screenshot_path,
    sign_up_in_page,
    wait_until,
)
from tests.support.live_support import PASSWORD, Server, http

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    async with dashboard_server(tmp_path_factory.mktemp("dashboard")) as srv:
        yield srv


async def feed_titles(page: Page) -> list[str]:
    return await page.locator("#activity-feed .feed-title").all_inner_texts()


async def test_page_is_served_with_a_strict_policy(server: Server) -> None:
    async with http(server.url) as client:
        page = await client.get("/")
        head = await client.head("/")
        script = await client.get("/static/js/main.js")
        missing = await client.get("/static/js/nothing.js")
        escape = await client.get("/static/../dashboard/controller.py")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert head.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert '<script type="module" src="/static/js/main.js">' in page.text
    assert "<script>" not in page.text  # no inline script at all
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert missing.status_code == 404
    assert escape.status_code == 404


async def test_sign_up_reload_and_sign_out(server: Server, page: Page) -> None:
    errors = PageErrors(page)
    account = await sign_up_in_page(page, server.url, full_name="Grace Hopper")
    assert await page.locator(".who").inner_text() == "Grace Hopper"
    # The refresh token is in an HttpOnly cookie: scripts cannot see it; a reload restores the session.
    assert "aiclone_session" not in await page.evaluate("document.cookie")
    cookies = {cookie["name"]: cookie for cookie in await page.context.cookies()}
    assert cookies["aiclone_session"]["httpOnly"] is True
    assert cookies["aiclone_session"]["sameSite"] == "Strict"
    assert cookies["aiclone_session"]["path"] == "/api/auth/session"
    await page.reload()
    await page.wait_for_selector(".light[data-state=connected]")
    assert await page.locator(".who").inner_text() == "Grace Hopper"

    await page.click("#sign-out")
    await page.wait_for_selector("form.auth-form")
    await page.reload()
    await page.wait_for_selector("form.auth-form")
    # Signing in again through the form works, and a wrong password is a readable error.
    await page.fill("input[name=email]", account.email)
    await page.fill("input[name=password]", "not the password at all")
    await page.click("form.auth-form button[type=submit]")
    await page.wait_for_selector(".error-box")
    assert "Incorrect email or password" in await page.locator(".error-box").inner_text()
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form.auth-form button[type=submit]")
    await page.wait_for_selector(".light[data-state=connected]")
    assert errors.messages == []


async def test_sign_up_errors_are_shown_field_by_field(server: Server, page: Page) -> None:
    await page.goto(f"{server.url}/#signup")
    await page.fill("input[name=full_name]", "Short Password")
    await page.fill("input[name=email]", "short@example.com")
    await page.fill("input[name=password]", "short")
    await page.click("form.auth-form button[type=submit]")
    await page.wait_for_selector(".error-box")
    assert await page.locator("form.auth-form").is_visible()


async def test_live_feed_shows_changes_made_elsewhere_as_text(server: Server, page: Page) -> None:
    errors = PageErrors(page)
    account = await sign_up_in_page(page, server.url, full_name=HOSTILE[0])
    assert await page.locator(".who").inner_text() == HOSTILE[0]
    await page.wait_for_selector("text=Nothing has happened yet")
    for index, name in enumerate(HOSTILE):
        await api(
            server.url,
            account,
            "POST",
            "/api/prospects",
            json={"name": name, "email": f"hostile{index}@example.com", "company": name},
        )
    await wait_until(page, "document.querySelectorAll('#activity-feed .feed-item').length >= 4")
    text = "\n".join(await feed_titles(page))
    for name in HOSTILE:
        assert name in text
    await assert_no_xss(page)
    assert await page.locator("#activity-feed img, #activity-feed script, #activity-feed svg").count() == 0
    await page.screenshot(path=screenshot_path("activity-feed"))
    assert errors.messages == []


async def test_notifications_count_and_mark_read(server: Server, page: Page) -> None:
    await sign_up_in_page(page, server.url)
    assert await page.locator("#unread .badge").inner_text() == "0"
    admin = await admin_account(server)
    await api(server.url, admin, "POST", "/api/events/broadcast", json={"title": HOSTILE[1], "body": "hello"})
    await page.locator("#notifications .notification.is-unread").first.wait_for()
    assert await page.locator("#unread .badge").inner_text() == "1"
    assert await page.locator("#notifications strong").first.inner_text() == HOSTILE[1]
    await assert_no_xss(page)
    await page.click("text=Mark all read")
    await wait_until(page, "document.querySelector('#unread .badge').textContent === '0'")
    assert await page.locator("#notifications .notification.is-unread").count() == 0


async def test_server_restart_turns_the_light_red_then_green_and_loses_nothing(
    server: Server, page: Page
) -> None:
    account = await sign_up_in_page(page, server.url)
    await api(server.url, account, "POST", "/api/prospects", json={"name": "Before Restart"})
    await page.wait_for_selector("#activity-feed .feed-title:has-text('Before Restart')")

    await server.stop(signal.SIGKILL)
    await page.wait_for_selector(".light[data-state=offline]", timeout=20_000)
    assert await page.locator(".light-text").inner_text() == "Offline"
    await page.screenshot(path=screenshot_path("offline"))

    await server.start()
    # Written while the page is still reconnecting (its backoff is up to 8 s): must be replayed.
    for name in ("After Restart 1", "After Restart 2", "After Restart 3"):
        await api(server.url, account, "POST", "/api/prospects", json={"name": name})
    await page.wait_for_selector(".light[data-state=connected]", timeout=30_000)
    await page.wait_for_selector("#activity-feed .feed-title:has-text('After Restart 3')")
    titles = await feed_titles(page)
    for name in ("Before Restart", "After Restart 1", "After Restart 2", "After Restart 3"):
        assert sum(name in title for title in titles) == 1, titles
    ids = await page.eval_on_selector_all(
        "#activity-feed .feed-item", "items => items.map(i => i.dataset.id)"
    )
    assert len(ids) == len(set(ids))
    # Newest first, in commit order.
    positions = [
        next(i for i, t in enumerate(titles) if n in t) for n in ("After Restart 3", "After Restart 1")
    ]
    assert positions == sorted(positions)


async def test_phone_width_and_keyboard(server: Server, browser: Browser) -> None:
    context, page = await new_page(browser, width=390, height=844)
    try:
        await sign_up_in_page(page, server.url)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
        # Keyboard: Tab reaches the skip link first, then the navigation works with Enter.
        await page.reload()
        await page.wait_for_selector(".light[data-state=connected]")
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.className") == "skip-link"
        await page.focus("nav a[data-view=prospects]")
        await page.keyboard.press("Enter")
        await wait_until(page, "location.hash === '#/prospects'")
        await page.screenshot(path=screenshot_path("phone"))
    finally:
        await context.close()
