"""The Admin view in a real browser: the live-connections overview, users, and a broadcast that
reaches another user's open page live. Regular users do not get the view.
"""

from __future__ import annotations

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
from tests.support.live_support import PASSWORD, Account, Server, http

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    async with dashboard_server(tmp_path_factory.mktemp("dashboard-admin")) as srv:
        yield srv


async def sign_in_in_page(page: Page, base_url: str, account: Account) -> None:
    await page.goto(f"{base_url}/#signin")
    await page.fill("input[name=email]", account.email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form.auth-form button[type=submit]")
    await page.wait_for_selector(".light[data-state=connected]")


async def open_admin(page: Page) -> None:
    await page.click("nav a[data-view=admin]")
    await page.wait_for_selector("#admin-status .figure[data-key=total_streams]")


async def test_overview_users_and_a_broadcast_that_arrives_live(
    server: Server, browser: Browser, page: Page
) -> None:
    errors = PageErrors(page)
    admin = await admin_account(server)
    await sign_in_in_page(page, server.url, admin)
    await open_admin(page)

    # A regular user, in another browser, with the page open.
    other_context, other = await new_page(browser)
    try:
        other_errors = PageErrors(other)
        await sign_up_in_page(other, server.url, full_name=HOSTILE[2])
        assert await other.locator("#unread .badge").inner_text() == "0"

        # The overview counts both open pages after a refresh; the users list names both.
        await page.click("#status-refresh")
        await wait_until(
            page,
            "Number(document.querySelector('#admin-status .figure[data-key=users_online] dd').textContent) >= 2",
        )
        assert await page.locator("#instances tbody tr").count() >= 1
        assert "this one" in await page.inner_text("#instances")
        await page.click("nav a[data-view=activity]")
        await open_admin(page)  # remounted: the new user is in the list now
        users = await page.inner_text("#users")
        assert admin.email in users
        assert HOSTILE[2] in users
        assert admin.email in await page.inner_text("#per-user")
        await assert_no_xss(page)

        # Broadcast, with a confirmation; the result names the recipients.
        await page.fill("#broadcast-form input[name=title]", HOSTILE[1])
        await page.fill("#broadcast-form textarea[name=body]", HOSTILE[0])
        await page.select_option("#broadcast-form select[name=level]", "warning")
        await page.click("#broadcast-form button[type=submit]")
        await page.wait_for_selector("dialog.modal #broadcast-confirm")
        assert HOSTILE[1] in await page.inner_text("dialog.modal")
        await page.click("#broadcast-confirm")
        await page.wait_for_selector("#broadcast-result.sent")
        async with http(server.url) as client:
            listed = await client.get(
                "/api/admin/users",
                params={"limit": 100},
                headers={"Authorization": f"Bearer {admin.access_token}"},
            )
        active = sum(1 for item in listed.json()["items"] if item["is_active"])
        assert await page.inner_text("#broadcast-result") == f"Sent to {active} users."
        assert await page.input_value("#broadcast-form input[name=title]") == ""

        # The other user's page gets it live: the unread badge goes up, the text is text.
        await wait_until(other, "document.querySelector('#unread .badge').textContent === '1'")
        await other.locator("#notifications .notification.is-unread strong").first.wait_for()
        assert await other.locator("#notifications strong").first.inner_text() == HOSTILE[1]
        await assert_no_xss(other)
        await assert_no_xss(page)
        await page.screenshot(path=screenshot_path("admin"))
        assert other_errors.messages == []
    finally:
        await other_context.close()
    assert errors.messages == []


async def test_a_broadcast_without_a_title_is_refused_readably(server: Server, page: Page) -> None:
    admin = await admin_account(server)
    await sign_in_in_page(page, server.url, admin)
    await open_admin(page)
    await page.fill("#broadcast-form textarea[name=body]", "a body but no title")
    await page.click("#broadcast-form button[type=submit]")
    await page.wait_for_selector("#broadcast-form .error-box")
    assert "title" in await page.inner_text("#broadcast-form .error-box")
    assert await page.locator("dialog.modal").count() == 0
    assert await page.input_value("#broadcast-form textarea[name=body]") == "a body but no title"


async def test_a_regular_user_does_not_get_the_admin_view(server: Server, page: Page) -> None:
    errors = PageErrors(page)
    account = await sign_up_in_page(page, server.url)
    assert await page.locator("nav a[data-view=admin]").count() == 0
    await page.goto(f"{server.url}/#/admin")
    await page.wait_for_selector(".light[data-state=connected]")
    await page.wait_for_selector("section.view-activity")
    assert await page.locator("section.view-admin, #admin-status, #broadcast-form").count() == 0
    async with http(server.url) as client:
        users = await client.get("/api/admin/users", headers=account.headers)
        broadcast = await client.post(
            "/api/events/broadcast", json={"title": "nope"}, headers=account.headers
        )
    assert users.status_code == 403
    assert broadcast.status_code == 403
    assert errors.messages == []


async def test_phone_width_has_no_horizontal_scroll(server: Server, browser: Browser) -> None:
    context, page = await new_page(browser, width=390, height=844)
    try:
        admin = await admin_account(server)
        await sign_in_in_page(page, server.url, admin)
        await open_admin(page)
        await page.wait_for_selector("#users tr")
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await page.screenshot(path=screenshot_path("admin-phone"), full_page=True)
    finally:
        await context.close()


async def test_an_admin_deactivates_promotes_and_deletes_users(server: Server, page: Page) -> None:
    errors = PageErrors(page)
    admin = await admin_account(server)
    async with http(server.url) as client:
        before = await client.get(
            "/api/admin/users", params={"role": "admin", "limit": 100}, headers=admin.headers
        )
    # Demote every other admin first, through the API, so this one is the last active admin.
    for other in before.json()["items"]:
        if other["email"] != admin.email and other["is_active"]:
            async with http(server.url) as client:
                await client.patch(
                    f"/api/admin/users/{other['id']}", json={"role": "user"}, headers=admin.headers
                )
    target_context, target_page = await new_page(page.context.browser)  # type: ignore[arg-type]
    try:
        target = await sign_up_in_page(target_page, server.url, full_name="Tara Target")
    finally:
        await target_context.close()
    await sign_in_in_page(page, server.url, admin)
    await open_admin(page)
    row = page.locator(f"#users tr[data-id='{target.id}']")
    await row.wait_for()

    await row.locator("button[data-action=toggle-active]").click()
    await page.wait_for_selector(f"#users tr[data-id='{target.id}'][data-active=false]")
    async with http(server.url) as client:
        login = await client.post("/api/auth/login", data={"username": target.email, "password": PASSWORD})
    assert login.status_code in (401, 403), login.text
    await row.locator("button[data-action=toggle-active]").click()
    await page.wait_for_selector(f"#users tr[data-id='{target.id}'][data-active=true]")
    await row.locator("select[data-action=role]").select_option("admin")
    await page.wait_for_selector(f"#users tr[data-id='{target.id}'][data-role=admin]")
    await row.locator("select[data-action=role]").select_option("user")
    await page.wait_for_selector(f"#users tr[data-id='{target.id}'][data-role=user]")

    # The last active admin cannot step down: the 409's detail is shown, the row is unchanged.
    me = await api(server.url, admin, "GET", "/api/auth/me")
    await page.locator(f"#users tr[data-id='{me['id']}'] select[data-action=role]").select_option("user")
    await page.wait_for_selector("#users-refusal .error-box")
    assert "last active admin" in await page.inner_text("#users-refusal")
    assert await page.locator(f"#users tr[data-id='{me['id']}']").get_attribute("data-role") == "admin"

    # Delete, after a confirmation.
    await row.locator("button[data-action=delete]").click()
    await page.wait_for_selector("dialog.modal #delete-user-confirm")
    assert target.email in await page.inner_text("dialog.modal")
    await page.click("#delete-user-confirm")
    await wait_until(page, f"!document.querySelector(\"#users tr[data-id='{target.id}']\")")
    async with http(server.url) as client:
        gone = await client.get(f"/api/admin/users/{target.id}", headers=admin.headers)
    assert gone.status_code == 404
    assert gone.json()["type"] == "https://aiclone.dev/problems/not-found"
    assert [m for m in errors.messages if "409" not in m] == []
