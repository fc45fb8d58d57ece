"""The Webhooks view in a real browser: endpoints, the one-time secret, the live delivery log.

Headless Chromium against a real ``aiclone serve`` (private targets allowed, so the receivers
on 127.0.0.1 can be reached), with real HTTP receivers from tests.support.webhook_receiver.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

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
from tests.support.live_support import Server
from tests.support.slack_support import like_slack, message_problems
from tests.support.webhook_receiver import Receiver, Reply

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    async with dashboard_server(tmp_path_factory.mktemp("dashboard-webhooks")) as srv:
        yield srv


@pytest.fixture
def page_options() -> dict[str, object]:
    return {"height": 900, "permissions": ["clipboard-read", "clipboard-write"]}


async def open_view(page: Page) -> None:
    await page.goto(page.url.split("#")[0] + "#/webhooks")
    await page.wait_for_selector("#webhook-form input[data-type='*']")


async def create_in_form(
    page: Page, url: str, *, description: str = "", types: list[str] | None = None
) -> None:
    await page.fill("#webhook-form input[name=url]", url)
    await page.fill("#webhook-form input[name=description]", description)
    if types is not None:
        await page.uncheck("#webhook-form input[data-type='*']")
        for name in types:
            await page.check(f"#webhook-form input[data-type={name}]")
    await page.click("#webhook-form button[type=submit]")


def row(page: Page, status: str | None = None) -> str:
    return "#deliveries tr" + (f"[data-status={status}]" if status else "")


async def test_create_see_secret_once_deliver_resend_and_rotate(
    server: Server, page: Page, receiver: Receiver
) -> None:
    errors = PageErrors(page)
    account = await sign_up_in_page(page, server.url)
    await open_view(page)
    await page.wait_for_selector("text=No endpoints yet")
    types = await api(server.url, account, "GET", "/api/webhooks/event-types")
    assert "prospect_added" in types["items"]
    assert await page.locator("#webhook-form input[type=checkbox]").count() == len(types["items"]) + 1
    await create_in_form(page, receiver.url("/ok"), description=HOSTILE[0], types=["prospect_added"])

    # The secret, once, with the notice and a working copy button.
    await page.wait_for_selector("#secret-value")
    secret = await page.input_value("#secret-value")
    assert secret.startswith("whsec_")
    assert "you will not see it again" in await page.inner_text("#secret-notice")
    await page.click("#copy-secret")
    await page.wait_for_selector("#copy-status.copied")
    assert await page.evaluate("navigator.clipboard.readText()") == secret

    card = page.locator("#endpoints li.endpoint")
    await card.first.wait_for()
    assert await card.count() == 1
    text = await card.inner_text()
    assert receiver.url("/ok") in text
    assert HOSTILE[0] in text  # the description, as text
    assert "prospect added" in text
    assert secret not in text  # only the masked hint
    await assert_no_xss(page)
    endpoint_id = await card.get_attribute("data-id")
    listed = await api(server.url, account, "GET", "/api/webhooks")
    assert [item["id"] for item in listed["items"]] == [endpoint_id]
    assert "secret" not in listed["items"][0]

    # The log is open; an event made elsewhere shows up with a successful attempt, no reload.
    await page.wait_for_selector("#log-panel:not([hidden])")
    await page.wait_for_selector("text=No deliveries yet")
    await api(server.url, account, "POST", "/api/prospects", json={"name": "Webhook Wanda"})
    await page.wait_for_selector(f"{row(page, 'succeeded')}[data-attempts='1']", timeout=20_000)
    got = await receiver.wait_for(1, "/ok")
    assert got[0].verify(secret)["type"] == "prospect_added"
    delivery = page.locator(row(page)).first
    assert "HTTP 200" in await delivery.locator(".last-response").inner_text()
    await delivery.locator("[data-action=details]").click()
    await page.wait_for_selector("#attempts .attempt[data-number='1']")
    assert "HTTP 200" in await page.inner_text("#attempts .attempt[data-number='1']")

    # Resend: a second attempt, same webhook-id.
    await delivery.locator("[data-action=resend]").click()
    await page.wait_for_selector(f"{row(page)}[data-attempts='2']")
    await page.wait_for_selector("#attempts .attempt[data-number='2']")
    got = await receiver.wait_for(2, "/ok")
    assert got[0].msg_id == got[1].msg_id

    # Rotate: a new secret, shown once, that signs the next delivery.
    await page.click(f"#endpoints li[data-id='{endpoint_id}'] [data-action=rotate]")
    await page.click("dialog.modal button[type=submit]")
    await wait_until(page, f"document.querySelector('#secret-value').value !== {secret!r}")
    rotated = await page.input_value("#secret-value")
    assert rotated.startswith("whsec_")
    assert "also signs requests until" in await page.inner_text("#webhook-secret")
    await api(server.url, account, "POST", "/api/prospects", json={"name": "After Rotation"})
    got = await receiver.wait_for(3, "/ok")
    assert got[2].verify(rotated)["data"]["name"] == "After Rotation"
    await page.wait_for_selector(f"{row(page, 'succeeded')} >> nth=1")
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=screenshot_path("webhooks"))
    # Dismissing the secret removes it from the page for good.
    await page.click("#webhook-secret button:has-text('I have stored it')")
    assert await page.locator("#secret-value").count() == 0
    assert errors.messages == []


async def test_hostile_failure_body_is_text_then_pause_and_recover(
    server: Server, page: Page, receiver: Receiver
) -> None:
    errors = PageErrors(page)
    hostile = "\n".join(HOSTILE).encode()
    receiver.script("/bad", default=Reply(500, body=hostile, headers={"content-type": "text/html"}))
    account = await sign_up_in_page(page, server.url)
    await open_view(page)
    await create_in_form(page, receiver.url("/bad"))  # all events ("*" is the default)
    await page.wait_for_selector("#secret-value")
    card = page.locator("#endpoints li.endpoint").first
    await card.wait_for()
    assert "All events" in await card.inner_text()

    # A test event: sent now, answered 500 with markup, shown as text in the attempt.
    await card.locator("[data-action=test]").click()
    await page.wait_for_selector("#attempts .attempt[data-status='500']")
    body = await page.inner_text("#delivery-detail .response-body")
    for item in HOSTILE:
        assert item in body
    assert (
        await page.locator("#delivery-detail img, #delivery-detail script, #delivery-detail svg").count() == 0
    )
    await assert_no_xss(page)

    # A real event fails, is scheduled for a retry, and the endpoint counts the failure.
    await api(server.url, account, "POST", "/api/prospects", json={"name": "Failing Fred"})
    pending = page.locator(row(page, "pending")).first
    await pending.wait_for(timeout=20_000)
    await wait_until(
        page,
        "document.querySelector('#deliveries tr[data-status=pending] .last-response').textContent.includes('HTTP 500')",
    )
    await wait_until(page, "Number(document.querySelector('#endpoints .failures').textContent) >= 1")
    await assert_no_xss(page)

    # Pause it in the edit dialog: the waiting delivery stops; the reason is shown.
    await card.locator("[data-action=edit]").click()
    await page.uncheck("dialog.modal input[name=enabled]")
    await page.click("dialog.modal button[type=submit]")
    await page.wait_for_selector("#endpoints li[data-status=inactive]")
    assert "paused by its owner" in await page.inner_text("#endpoints li.endpoint")
    await page.wait_for_selector(row(page, "failed") + ":not(:has-text('test'))")

    # Recover: re-enable and re-queue; the receiver now answers 200.
    receiver.script("/bad", default=Reply(200, body=b"fine"))
    await page.click("#endpoints li.endpoint [data-action=recover]")
    assert await page.is_checked("dialog.modal input[name=reenable]")
    await page.click("dialog.modal button[type=submit]")
    await page.wait_for_selector("#endpoints li[data-status=active]")
    await page.wait_for_selector(row(page, "succeeded"), timeout=20_000)
    assert errors.messages == []


async def test_bad_input_is_shown_readably_and_nothing_is_lost(server: Server, page: Page) -> None:
    await sign_up_in_page(page, server.url)
    await open_view(page)
    bad = "http://user:password@127.0.0.1:9/hook"
    await create_in_form(page, bad, description="keep me")
    await page.wait_for_selector("#webhook-form .error-box")
    text = await page.inner_text("#webhook-form .error-box")
    assert "may not receive webhooks" in text
    assert "credentials" in text
    assert await page.input_value("#webhook-form input[name=url]") == bad
    assert await page.input_value("#webhook-form input[name=description]") == "keep me"

    await create_in_form(page, "not a url at all", types=[])
    await page.wait_for_selector("#webhook-form .error-box")
    assert "event_types" in await page.inner_text("#webhook-form .error-box")
    await page.check("#webhook-form input[data-type=task_completed]")
    await page.click("#webhook-form button[type=submit]")
    await wait_until(page, "document.querySelector('#webhook-form .error-box')?.textContent.includes('url')")
    assert await page.locator("#endpoints li.endpoint").count() == 0


async def test_clipboard_refused_selects_the_secret(
    server: Server, browser: Browser, receiver: Receiver
) -> None:
    # Without a usable clipboard (no secure context, or an older browser), the copy button
    # selects the secret for a manual copy and says so.
    context, page = await new_page(browser)
    try:
        await sign_up_in_page(page, server.url)
        await open_view(page)
        await create_in_form(page, receiver.url("/x"))
        await page.wait_for_selector("#secret-value")
        await page.evaluate("Object.defineProperty(navigator, 'clipboard', { value: undefined })")
        await page.click("#copy-secret")
        await page.wait_for_selector("#copy-status.copy-failed")
        assert "press Ctrl+C" in await page.inner_text("#copy-status")
        selected = await page.evaluate(
            "(() => { const t = document.querySelector('#secret-value');"
            " return t.value.slice(t.selectionStart, t.selectionEnd); })()"
        )
        assert selected == await page.input_value("#secret-value")
    finally:
        await context.close()


async def test_phone_width_has_no_horizontal_scroll(
    server: Server, browser: Browser, receiver: Receiver
) -> None:
    context, page = await new_page(browser, width=390, height=844)
    try:
        account = await sign_up_in_page(page, server.url)
        created = await api(
            server.url,
            account,
            "POST",
            "/api/webhooks",
            json={"url": receiver.url("/phone/" + "long-path-segment" * 6), "event_types": ["*"]},
        )
        await open_view(page)
        await page.click(f"#endpoints li[data-id='{created['id']}'] [data-action=test]")
        await page.wait_for_selector("#attempts .attempt")
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await page.screenshot(path=screenshot_path("webhooks-phone"), full_page=True)
    finally:
        await context.close()


async def test_slack_endpoint_from_the_form_and_zapier_subscriptions_in_the_list(
    server: Server, page: Page, receiver: Receiver
) -> None:
    errors = PageErrors(page)
    slack_path = "/services/T0001/B0001/tokentokentoken"
    receiver.behave(slack_path, like_slack)
    account = await sign_up_in_page(page, server.url)
    await open_view(page)

    # A Slack channel: the type picked in the form changes the hint; no secret is shown.
    await page.select_option("#webhook-form select[name=flavour]", "slack")
    assert "Slack incoming-webhook URL" in await page.inner_text("#webhook-form")
    await create_in_form(page, receiver.url(slack_path), description="#sales", types=["prospect_added"])
    card = page.locator("#endpoints li.endpoint[data-flavour=slack]")
    await card.wait_for()
    text = await card.inner_text()
    assert "Slack" in text
    assert "tokentokentoken" not in text  # the webhook's token is masked
    assert receiver.url("/services/T0001/B0001/") in text
    assert await card.locator("[data-action=rotate]").count() == 0
    assert await page.locator("#secret-value").count() == 0
    [created] = (await api(server.url, account, "GET", "/api/webhooks"))["items"]
    assert created["flavour"] == "slack"
    assert created["url"] == receiver.url(slack_path)
    await card.locator("[data-action=test]").click()
    await page.wait_for_selector("#attempts .attempt[data-status='200']")
    [posted] = receiver.received(slack_path)
    assert message_problems(posted.body) == []
    assert "webhook-signature" not in posted.headers

    # A Zapier subscription made through the REST-hook API shows up labelled, and can be deleted.
    sub = await api(
        server.url,
        account,
        "POST",
        "/api/hooks/subscriptions",
        json={"target_url": receiver.url("/zap"), "event": "prospect_added"},
    )
    await open_view(page)
    zap = page.locator(f"#endpoints li.endpoint[data-id='{sub['id']}']")
    await zap.wait_for()
    assert await zap.get_attribute("data-flavour") == "zapier"
    zap_text = await zap.inner_text()
    assert "Zapier subscription" in zap_text
    assert "Made by a Zap" in zap_text
    assert await zap.locator("[data-action=edit]").count() == 0
    assert await zap.locator("[data-action=rotate]").count() == 0
    await zap.locator("[data-action=delete]").click()
    assert "Zapier subscription" in await page.inner_text("dialog.modal")
    await page.click("dialog.modal button[type=submit]")
    await zap.wait_for(state="detached")
    listed = (await api(server.url, account, "GET", "/api/webhooks"))["items"]
    assert [item["flavour"] for item in listed] == ["slack"]
    assert errors.messages == []
