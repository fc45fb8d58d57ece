"""The API keys page in a real browser against a real ``aiclone serve``: create a key with scope
checkboxes, see and copy it once, use it, see when and from where it was last used, revoke it
with a confirmation (it stops working at once). Admin-only scopes are offered to admins only.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from tests.support.browser_support import (
    HOSTILE,
    PageErrors,
    admin_account,
    assert_no_xss,
    dashboard_server,
    new_page,
    screenshot_path,
    sign_up_in_page,
    wait_until,
)
from tests.support.live_support import PASSWORD, Account, Server, http

pytestmark = pytest.mark.slow

KEY = re.compile(r"^ack_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$")
ADMIN_ONLY = ("metrics:read", "admin")


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    async with dashboard_server(tmp_path_factory.mktemp("dashboard-api-keys")) as srv:
        yield srv


@pytest.fixture
def page_options() -> dict[str, Any]:
    return {"permissions": ["clipboard-read", "clipboard-write"]}


async def open_keys(page: Page) -> None:
    await page.click("nav a[data-view=api-keys]")
    await page.wait_for_selector("#key-form")
    await wait_until(page, "!document.querySelector('#keys-state .state-loading')")


async def with_key(server: Server, key: str, method: str, path: str, **kwargs: Any) -> int:
    async with http(server.url) as client:
        response = await client.request(method, path, headers={"Authorization": f"Bearer {key}"}, **kwargs)
    return response.status_code


async def test_create_copy_use_and_revoke_a_key(server: Server, page: Page) -> None:
    errors = PageErrors(page)
    await sign_up_in_page(page, server.url)
    await open_keys(page)
    assert "No API keys yet." in await page.inner_text("#keys-list")
    # A regular user is not offered the admin-only scopes.
    for scope in ADMIN_ONLY:
        assert await page.locator(f"#key-scopes input[value='{scope}']").count() == 0
    assert await page.locator("#key-scopes tr[data-domain] input").count() == 16

    # Nothing checked: the form says so and sends nothing.
    await page.fill("#key-form input[name=name]", "Nothing")
    await page.click("#key-form button[type=submit]")
    assert "Choose at least one scope." in await page.inner_text("#key-form .form-errors")

    await page.fill("#key-form input[name=name]", HOSTILE[0])
    await page.check("#key-scopes input[value='prospects:read']")
    await page.check("#key-scopes input[value='events:read']")
    await page.click("#key-form button[type=submit]")
    await page.wait_for_selector("#new-key")
    key = (await page.inner_text("#new-key-text")).strip()
    assert KEY.match(key), key
    assert "shown only this once" in await page.inner_text("#new-key-warning")
    await page.click("#copy-key")
    await wait_until(page, "document.querySelector('#copy-status').textContent.includes('Copied')")
    assert await page.evaluate("navigator.clipboard.readText()") == key
    await page.screenshot(path=screenshot_path("api-keys-new-key"), full_page=True)

    # The list shows it: the name as text, the prefix (the key's public part), the scopes.
    row = page.locator("#keys tr").first
    await wait_until(page, "document.querySelectorAll('#keys tr').length === 1")
    assert HOSTILE[0] in await row.inner_text()
    prefix = (await row.locator(".key-prefix").inner_text()).strip()
    assert prefix
    assert prefix in key
    assert prefix != key
    assert "events read · prospects read" in await row.inner_text()
    assert "never" in await row.locator("td").nth(5).inner_text()

    # The key works within its scopes only.
    assert await with_key(server, key, "GET", "/api/prospects") == 200
    assert await with_key(server, key, "POST", "/api/prospects", json={"name": "Nope"}) == 403

    # Once stored, the key leaves the page for good.
    await page.click("#new-key-done")
    assert await page.locator("#new-key").count() == 0
    assert key not in await page.content()

    # Last used: written in the background after the first use; a remount reads the list afresh.
    for _ in range(50):
        await page.click("nav a[data-view=account]")
        await open_keys(page)
        row = page.locator("#keys tr").first
        if "never" not in await row.locator("td").nth(5).inner_text():
            break
        await asyncio.sleep(0.2)
    assert "never" not in await row.locator("td").nth(5).inner_text()
    assert "127.0.0.1" in await row.locator("td").nth(6).inner_text()

    # Revoke, with a confirmation naming the key; it stops working at once.
    await row.locator("button[data-action=revoke]").click()
    dialog = page.locator("dialog.modal")
    assert HOSTILE[0] in await dialog.inner_text()
    await page.click("#revoke-confirm")
    await wait_until(page, "document.querySelectorAll('#keys tr').length === 0")
    assert "No API keys yet." in await page.inner_text("#keys-list")
    assert await with_key(server, key, "GET", "/api/prospects") == 401
    await assert_no_xss(page)
    assert errors.messages == []


async def test_cancelling_a_revocation_keeps_the_key(server: Server, page: Page) -> None:
    errors = PageErrors(page)
    account = await sign_up_in_page(page, server.url)
    async with http(server.url) as client:
        created = await client.post(
            "/api/api-keys", headers=account.headers, json={"name": "kept", "scopes": ["prospects:read"]}
        )
    assert created.status_code == 201, created.text
    await open_keys(page)
    await page.locator("#keys tr button[data-action=revoke]").click()
    await page.click("dialog.modal button.ghost:text('Cancel')")
    # The dialog leaves the page when its close event has run, a moment after the click.
    await page.wait_for_selector("dialog.modal", state="detached")
    assert await page.locator("#keys tr").count() == 1
    assert await with_key(server, created.json()["key"], "GET", "/api/prospects") == 200
    assert errors.messages == []


async def sign_in_in_page(page: Page, base_url: str, account: Account) -> None:
    await page.goto(f"{base_url}/#signin")
    await page.fill("input[name=email]", account.email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form.auth-form button[type=submit]")
    await page.wait_for_selector(".light[data-state=connected]")


async def test_admins_are_offered_the_admin_scopes(server: Server, browser: Browser) -> None:
    admin = await admin_account(server)
    context, page = await new_page(browser, width=390, height=844)  # and it fits a phone
    try:
        errors = PageErrors(page)
        await sign_in_in_page(page, server.url, admin)
        await open_keys(page)
        for scope in ADMIN_ONLY:
            assert await page.locator(f"#key-scopes input[value='{scope}']").count() == 1
        await page.fill("#key-form input[name=name]", "Scraper")
        await page.check("#key-scopes input[value='metrics:read']")
        await page.click("#key-form button[type=submit]")
        await page.wait_for_selector("#new-key")
        await wait_until(page, "document.querySelectorAll('#keys tr').length === 1")
        assert "metrics read" in await page.inner_text("#keys tr")
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"the page is {overflow}px wider than a phone"
        await page.screenshot(path=screenshot_path("api-keys-admin-phone"), full_page=True)
        assert errors.messages == []
    finally:
        await context.close()
