"""The account pages in a real browser against a real ``aiclone serve``, with its mail read from
a real SMTP server on 127.0.0.1: sign-up and the address confirmation, a forgotten password, the
Account page (name, address change). The password hint of the forms is the server's policy.
"""

from __future__ import annotations

import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from tests.support.browser_support import (
    PageErrors,
    migrated_sqlite,
    new_page,
    screenshot_path,
    unique_email,
    wait_until,
)
from tests.support.live_support import PASSWORD, Server, http
from tests.support.mail_support import SmtpRecorder, smtp_url, start_smtp, token_of

pytestmark = pytest.mark.slow

MIN_LENGTH = 10  # not the default, so a hint taken from anywhere but the server shows up
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture(scope="module")
def mailbox() -> Iterator[SmtpRecorder]:
    recorder = SmtpRecorder()
    controller = start_smtp(recorder)
    recorder.url = smtp_url(controller)  # type: ignore[attr-defined]
    try:
        yield recorder
    finally:
        controller.stop()


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory, mailbox: SmtpRecorder) -> AsyncIterator[Server]:
    data_dir: Path = tmp_path_factory.mktemp("dashboard-account")
    srv = Server(
        await migrated_sqlite(data_dir),
        data_dir,
        harness=False,
        name="dashboard",
        sse_heartbeat_seconds=2,
        smtp_url=mailbox.url,  # type: ignore[attr-defined]
        mail_poll_seconds=0.5,
        require_email_verification="true",
        password_min_length=MIN_LENGTH,
    )
    srv.env["AICLONE_PUBLIC_URL"] = srv.url  # the mailed links open this server's page
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def link_in_mail(mailbox: SmtpRecorder, to: str, *, count: int = 1) -> str:
    """The fragment of the newest mailed link to ``to`` (once ``count`` mails arrived)."""
    message = (await mailbox.wait_for(to, count=count))[-1].message
    text = message.get_body(("plain",))
    assert text is not None
    for action in ("reset-password", "verify-email", "confirm-email"):
        if f"#{action}=" in str(text.get_content()):
            return f"#{action}={token_of(message)}"
    raise AssertionError(f"no account link in the mail to {to}")


async def verified_account(server: Server, mailbox: SmtpRecorder) -> str:
    """An account registered and confirmed through the API; returns its email."""
    email = unique_email("acct")
    async with http(server.url) as client:
        created = await client.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD, "full_name": "Ada Account"}
        )
        assert created.status_code == 201, created.text
        token = (await link_in_mail(mailbox, email)).split("=", 1)[1]
        verified = await client.post("/api/auth/verify-email", json={"token": token})
        assert verified.status_code == 200, verified.text
    return email


async def sign_in(page: Page, base_url: str, email: str, password: str = PASSWORD) -> None:
    await page.goto(f"{base_url}/#signin")
    await page.fill("#signin-form input[name=email]", email)
    await page.fill("#signin-form input[name=password]", password)
    await page.click("#signin-form button[type=submit]")
    await page.wait_for_selector(".light[data-state=connected]")


async def test_the_sign_up_hint_is_the_servers_minimum(server: Server, page: Page) -> None:
    await page.goto(f"{server.url}/#signup")
    password = page.locator("form.auth-form input[name=password]")
    await password.wait_for()
    hint = await page.locator("form.auth-form .field:has(input[name=password]) .hint").inner_text()
    assert hint == f"At least {MIN_LENGTH} characters."
    # One short of the minimum: the server's refusal names the same number.
    await page.fill("form.auth-form input[name=full_name]", "Short Password")
    await page.fill("form.auth-form input[name=email]", unique_email("short"))
    await password.fill("x1y2z3w4v")
    await page.click("form.auth-form button[type=submit]")
    await page.wait_for_selector("form.auth-form .error-box")
    assert f"at least {MIN_LENGTH} characters" in await page.inner_text("form.auth-form .error-box")


async def test_sign_up_then_confirm_the_address_from_the_mail(
    server: Server, mailbox: SmtpRecorder, page: Page
) -> None:
    errors = PageErrors(page)
    email = unique_email("signup")
    await page.goto(f"{server.url}/#signup")
    await page.fill("input[name=full_name]", "Vera Verify")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form.auth-form button[type=submit]")
    # Sign-in is refused until the address is confirmed: the page says so and offers a new link.
    notice = page.locator("#verify-notice")
    await notice.wait_for()
    assert email in await notice.inner_text()
    await link_in_mail(mailbox, email)
    await page.click("#resend-verification")
    await wait_until(page, "document.querySelector('#verify-notice').textContent.includes('on its way')")
    link = await link_in_mail(mailbox, email, count=2)

    # The newest link confirms the address; the fragment is gone afterwards.
    await page.goto(f"{server.url}/{link}")
    await page.wait_for_selector("#signin-form .notice:has-text('is confirmed')")
    assert email in await page.inner_text("#signin-form .notice")
    assert await page.evaluate("location.hash") == "#signin"
    await sign_in(page, server.url, email)
    assert errors.messages == []


async def test_a_forgotten_password_is_reset_from_the_mailed_link(
    server: Server, mailbox: SmtpRecorder, page: Page
) -> None:
    errors = PageErrors(page)
    email = await verified_account(server, mailbox)
    await page.goto(f"{server.url}/#signin")
    await page.click("text=Forgot password?")
    await page.fill("#forgot-form input[name=email]", email)
    await page.click("#forgot-form button[type=submit]")
    await page.wait_for_selector("#check-mail")
    assert "Check your mail" in await page.inner_text("#check-mail")
    link = await link_in_mail(mailbox, email, count=2)
    assert link.startswith("#reset-password=")

    await page.goto(f"{server.url}/{link}")
    await page.wait_for_selector("#reset-form")
    assert await page.evaluate("location.hash") == ""  # the token left the address bar at once
    hint = await page.locator("#reset-form .hint").inner_text()
    assert hint == f"At least {MIN_LENGTH} characters."
    await page.fill("#reset-form input[name=new_password]", NEW_PASSWORD)
    await page.click("#reset-form button[type=submit]")
    await page.wait_for_selector("#signin-form .notice:has-text('password is changed')")
    assert await page.evaluate("location.hash") == "#signin"

    # The old password no longer works; the new one does.
    await page.fill("#signin-form input[name=email]", email)
    await page.fill("#signin-form input[name=password]", PASSWORD)
    await page.click("#signin-form button[type=submit]")
    await page.wait_for_selector("#signin-form .error-box")
    await sign_in(page, server.url, email, NEW_PASSWORD)
    # A spent link is refused readably.
    await page.goto(f"{server.url}/{link}")
    await page.fill("#reset-form input[name=new_password]", "yet another passphrase")
    await page.click("#reset-form button[type=submit]")
    await page.wait_for_selector("#reset-form .error-box")
    assert "Invalid or expired token" in await page.inner_text("#reset-form .error-box")
    assert [m for m in errors.messages if "400" not in m and "401" not in m] == []


async def test_the_account_page_renames_and_moves_to_a_confirmed_address(
    server: Server, mailbox: SmtpRecorder, page: Page
) -> None:
    errors = PageErrors(page)
    email = await verified_account(server, mailbox)
    await sign_in(page, server.url, email)
    await page.click("nav a[data-view=account]")
    await page.wait_for_selector("#name-form")
    assert email in await page.inner_text("#current-email")

    await page.fill("#name-form input[name=full_name]", "Ada <b>Renamed</b>")
    await page.click("#name-form button[type=submit]")
    await page.wait_for_selector("#name-form-result:has-text('Name saved')")
    assert await page.inner_text("#who") == "Ada <b>Renamed</b>"

    new_email = unique_email("moved")
    await page.fill("#email-form input[name=email]", new_email)
    await page.fill("#email-form input[name=current_password]", "not the password")
    await page.click("#email-form button[type=submit]")
    await page.wait_for_selector("#email-form .error-box")
    assert "Current password is not correct" in await page.inner_text("#email-form .error-box")
    await page.fill("#email-form input[name=email]", new_email)
    await page.fill("#email-form input[name=current_password]", PASSWORD)
    await page.click("#email-form button[type=submit]")
    await page.wait_for_selector("#email-form-result:has-text('Confirmation sent to')")
    assert new_email in await page.inner_text("#email-form-result")
    # After a reload the page learns of the pending change from GET /api/auth/me.
    await page.reload()
    await page.click("nav a[data-view=account]")
    await page.wait_for_selector("#account-email .notice:has-text('Confirmation sent to')")
    assert new_email in await page.inner_text("#account-email .notice")

    link = await link_in_mail(mailbox, new_email)
    assert link.startswith("#confirm-email=")
    await page.goto(f"{server.url}/{link}")
    await page.wait_for_selector(".toast:has-text('Your account now uses')")
    await wait_until(page, "!location.hash.includes('confirm-email')")
    await page.click("nav a[data-view=account]")
    await page.wait_for_selector(f"#current-email:has-text('{new_email}')")
    assert [m for m in errors.messages if "403" not in m] == []


async def api_session(base_url: str, email: str, password: str = PASSWORD) -> str:
    """A second session of ``email`` (an API client's sign-in); returns its refresh token."""
    async with http(base_url) as client:
        login = await client.post("/api/auth/login", data={"username": email, "password": password})
        assert login.status_code == 200, login.text
        return str(login.json()["refresh_token"])


async def refresh_status(base_url: str, refresh_token: str) -> int:
    async with http(base_url) as client:
        answer = await client.post("/api/auth/refresh", json={"refresh_token": refresh_token})
    return answer.status_code


async def open_account(page: Page, *, sessions: bool = True) -> None:
    await page.click("nav a[data-view=account]")
    await page.wait_for_selector("#sessions tr" if sessions else "#export-data")


async def test_sessions_are_listed_and_signed_out_one_by_one_then_everywhere(
    server: Server, mailbox: SmtpRecorder, page: Page
) -> None:
    errors = PageErrors(page)
    email = await verified_account(server, mailbox)
    await sign_in(page, server.url, email)
    other = await api_session(server.url, email)
    await open_account(page)
    rows = page.locator("#sessions tr")
    assert await rows.count() == 2
    mine = page.locator("#sessions tr[data-current=true]")
    assert await mine.locator(".this-device").inner_text() == "this device"
    assert "Chrome" in await mine.locator("td.device").inner_text()
    assert await page.locator("#sessions tr[data-current=false] td.device").inner_text() == "Python client"

    # One other session signed out: the list shrinks, its refresh token is refused.
    await page.click("#sessions tr[data-current=false] button[data-action=end-session]")
    await wait_until(page, "document.querySelectorAll('#sessions tr').length === 1")
    assert await refresh_status(server.url, other) == 401

    # Everywhere, this one included: back to the sign-in form, and a reload stays signed out.
    third = await api_session(server.url, email)
    await page.click("#sign-out-everywhere")
    await page.wait_for_selector("#signin-form .notice:has-text('signed out on every device')")
    assert await refresh_status(server.url, third) == 401
    await page.reload()
    await page.wait_for_selector("#signin-form")
    assert errors.messages == []


async def test_a_password_change_says_how_many_other_sessions_ended(
    server: Server, mailbox: SmtpRecorder, page: Page
) -> None:
    errors = PageErrors(page)
    email = await verified_account(server, mailbox)
    await sign_in(page, server.url, email)
    others = [await api_session(server.url, email) for _ in range(2)]
    await open_account(page)
    await wait_until(page, "document.querySelectorAll('#sessions tr').length === 3")
    await page.fill("#password-form input[name=current_password]", PASSWORD)
    await page.fill("#password-form input[name=new_password]", NEW_PASSWORD)
    await page.click("#password-form button[type=submit]")
    await page.wait_for_selector("#password-form-result:has-text('2 other sessions were signed out')")
    await wait_until(page, "document.querySelectorAll('#sessions tr').length === 1")
    assert [await refresh_status(server.url, token) for token in others] == [401, 401]
    # This page stays signed in.
    await page.click("nav a[data-view=activity]")
    await page.wait_for_selector(".light[data-state=connected]")
    assert errors.messages == []


async def test_export_downloads_the_zip(server: Server, mailbox: SmtpRecorder, page: Page) -> None:
    email = await verified_account(server, mailbox)
    await sign_in(page, server.url, email)
    await open_account(page, sessions=False)
    async with page.expect_download() as waiting:
        await page.click("#export-data")
    download = await waiting.value
    assert download.suggested_filename.endswith(".zip")
    path = await download.path()
    with zipfile.ZipFile(path) as archive:
        assert "manifest.json" in archive.namelist()
    await page.wait_for_selector("#export-status:has-text('Downloaded')")


async def test_deleting_the_account_needs_the_password_and_ends_at_the_sign_in_form(
    server: Server, mailbox: SmtpRecorder, page: Page
) -> None:
    email = await verified_account(server, mailbox)
    await sign_in(page, server.url, email)
    await open_account(page, sessions=False)
    await page.click("#delete-account")
    await page.wait_for_selector("dialog.modal #delete-warning")
    assert "cannot be undone" in await page.inner_text("#delete-warning")
    await page.fill("#delete-form input[name=password]", "not the password")
    await page.click("#delete-confirm")
    await page.wait_for_selector("#delete-form .error-box")
    assert "not correct" in await page.inner_text("#delete-form .error-box")
    await page.fill("#delete-form input[name=password]", PASSWORD)
    await page.click("#delete-confirm")
    await page.wait_for_selector("#signin-form .notice:has-text('account and all its data are deleted')")
    async with http(server.url) as client:
        login = await client.post("/api/auth/login", data={"username": email, "password": PASSWORD})
    assert login.status_code == 401
    assert login.json()["type"] == "https://aiclone.dev/problems/unauthenticated"


async def test_the_account_page_fits_a_phone(server: Server, mailbox: SmtpRecorder, browser: Browser) -> None:
    email = await verified_account(server, mailbox)
    context, page = await new_page(browser, width=390, height=844)
    try:
        await sign_in(page, server.url, email)
        await open_account(page)
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await page.screenshot(path=screenshot_path("account-phone"), full_page=True)
    finally:
        await context.close()
