"""End-to-end support for the dashboard: Debian's Chromium driven by Playwright, a real server.

The browser is ``/usr/bin/chromium`` (``AICLONE_CHROMIUM`` overrides it), never a downloaded
one. Without it the browser tests skip, unless ``AICLONE_REQUIRE_BROWSER=1`` (as in CI), where a
missing browser fails the run.

The server is a real ``aiclone serve`` subprocess on a fresh, migrated SQLite file (the
README's default), with the research engine allowed to fetch 127.0.0.1 pages the tests start.
Screenshots go to ``artifacts/dashboard/`` (``AICLONE_ARTIFACTS_DIR`` overrides it), kept by
CI; a failing test leaves one named after itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.support.live_support import PASSWORD, ROOT, Account, Server, http, server_env

CHROMIUM = Path(os.environ.get("AICLONE_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(os.environ.get("AICLONE_ARTIFACTS_DIR", ROOT / "artifacts" / "dashboard"))
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Hostile strings that must show up as text, never as markup or script.
HOSTILE = [
    '<img src=x onerror="window.__xss=1">',
    "<script>window.__xss=1</script>",
    '"><svg onload=window.__xss=1>',
    "javascript:window.__xss=1",
]


def require_browser() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("AICLONE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"AICLONE_REQUIRE_BROWSER=1 but {CHROMIUM} does not exist")
    pytest.skip(f"{CHROMIUM} not found; install Debian's chromium to run the dashboard tests")


def screenshot_path(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"


async def migrated_sqlite(data_dir: Path) -> str:
    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite+aiosqlite:///{data_dir / 'dashboard.sqlite3'}"
    subprocess.run(
        [sys.executable, "-m", "aiclone", "db", "upgrade"],
        cwd=ROOT,
        env=server_env(url, data_dir),
        check=True,
        capture_output=True,
        timeout=120,
    )
    return url


async def start_dashboard_server(data_dir: Path, **settings: object) -> Server:
    url = await migrated_sqlite(data_dir)
    options: dict[str, object] = {
        "research_allow_private": "true",
        "webhook_allow_private": "true",
        "sse_heartbeat_seconds": 2,
        **settings,
    }
    return await Server(url, data_dir, harness=False, name="dashboard", **options).start()


async def launch_browser() -> AsyncIterator[Browser]:
    require_browser()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


class PageErrors:
    """Console errors and uncaught exceptions of a page (a test asserts there are none)."""

    def __init__(self, page: Page) -> None:
        self.messages: list[str] = []
        page.on("pageerror", lambda error: self.messages.append(f"pageerror: {error}"))
        page.on(
            "console",
            lambda message: (
                self.messages.append(f"console: {message.text}")
                if message.type == "error" and "Failed to load resource" not in message.text
                else None
            ),
        )


async def new_page(
    browser: Browser, *, width: int = 1280, height: int = 860, **options: Any
) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(viewport={"width": width, "height": height}, **options)
    context.set_default_timeout(15_000)
    page = await context.new_page()
    return context, page


@contextlib.asynccontextmanager
async def browser_page(
    browser: Browser, request: pytest.FixtureRequest, **options: Any
) -> AsyncIterator[Page]:
    """A page in a fresh context; a failed test leaves a screenshot named after itself."""
    context, page = await new_page(browser, **options)
    try:
        yield page
    finally:
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            await page.screenshot(path=screenshot_path(f"failed-{request.node.name}"), full_page=True)
        await context.close()


@contextlib.asynccontextmanager
async def dashboard_server(data_dir: Path, **settings: object) -> AsyncIterator[Server]:
    server = await start_dashboard_server(data_dir, **settings)
    try:
        yield server
    finally:
        await server.stop()


def unique_email(prefix: str = "dash") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


async def sign_up_in_page(page: Page, base_url: str, *, full_name: str = "Dana Dashboard") -> Account:
    """Sign up through the dashboard's form; returns the account with an API token of its own."""
    email = unique_email()
    await page.goto(f"{base_url}/#signup")
    await page.fill("input[name=full_name]", full_name)
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form.auth-form button[type=submit]")
    await page.wait_for_selector(".light[data-state=connected]")
    return await api_login(base_url, email)


async def api_login(base_url: str, email: str) -> Account:
    async with http(base_url) as client:
        login = await client.post("/api/auth/login", data={"username": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    return Account(id=uuid.UUID(me.json()["id"]), email=email, access_token=token)


async def api(base_url: str, account: Account, method: str, path: str, **kwargs: Any) -> Any:
    """One API call as ``account``; asserts success and returns the JSON body (None for 204)."""
    async with http(base_url) as client:
        response = await client.request(method, path, headers=account.headers, **kwargs)
    assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
    return None if response.status_code == 204 else response.json()


async def assert_no_xss(page: Page) -> None:
    assert await page.evaluate("window.__xss === undefined"), "an injected script ran"


def create_admin(server: Server) -> Account:
    """An admin made the way an operator makes one: ``aiclone users create --admin``."""
    email = unique_email("admin")
    subprocess.run(
        [sys.executable, "-m", "aiclone", "users", "create", "--email", email, "--admin", "--password-stdin"],
        cwd=ROOT,
        env=server.env,
        input=PASSWORD,
        text=True,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return Account(id=uuid.UUID(int=0), email=email, access_token="")


async def admin_account(server: Server) -> Account:
    return await api_login(server.url, create_admin(server).email)


async def wait_until(page: Page, expression: str, timeout: float = 15.0) -> Any:
    """Polls ``expression`` in the page until it is truthy.

    Playwright's ``wait_for_function`` evaluates its predicate with ``eval``, which the
    dashboard's CSP (rightly) refuses; ``page.evaluate`` runs through the debugger protocol.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await page.evaluate(expression)
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for: {expression}")
        await asyncio.sleep(0.1)
