"""The Automations view in a real browser: rules made in the form run on real events, live.

Headless Chromium against a real ``aiclone serve`` (see tests.support.browser_support): prospects are
added through the API, the rules run in the server, and the page shows the runs as they happen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

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

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    async with dashboard_server(tmp_path_factory.mktemp("dashboard-automations")) as srv:
        yield srv


async def open_view(page: Page) -> None:
    await page.goto(page.url.split("#")[0] + "#/automations")
    await page.wait_for_selector("#automation-form[data-mode=create]")
    await page.wait_for_selector("#automations, .view-automations .state-empty")


def rule(page: Page, rule_id: str) -> Any:
    return page.locator(f"#automations li.rule[data-id='{rule_id}']")


async def rule_id_by_name(page: Page, name: str) -> str:
    item = page.locator("#automations li.rule", has=page.locator(".rule-name", has_text=name))
    await item.wait_for()
    value = await item.get_attribute("data-id")
    assert value
    return value


async def add_rule(server: Server, account: Account, **body: Any) -> str:
    created = await api(server.url, account, "POST", "/api/automations", json=body)
    return str(created["id"])


async def test_rule_made_in_the_form_tags_only_matching_prospects_live(server: Server, page: Page) -> None:
    errors = PageErrors(page)
    account = await sign_up_in_page(page, server.url)
    await open_view(page)
    await page.wait_for_selector("text=No rules yet")
    await page.fill("#automation-form input[name=name]", "Hot leads")
    await page.select_option("#automation-form select[name=trigger_event]", "prospect_added")
    await page.click("#add-condition")
    await page.fill(".condition-row .cond-field", "fit_score")
    await page.select_option(".condition-row .cond-op", "gte")
    await page.fill(".condition-row .cond-value", "70")
    await page.select_option("#automation-form select[name=action_type]", "tag_prospect")
    await page.fill("#automation-form input[name=add]", "hot")
    await page.click("#automation-submit")
    rule_id = await rule_id_by_name(page, "Hot leads")
    card = rule(page, rule_id)
    assert await card.locator(".rule-conditions").inner_text() == "fit_score ≥ 70"
    assert await card.locator(".rule-action").inner_text() == "Tag the prospect: +hot"
    assert await card.locator(".runs").inner_text() == "0"
    stored = await api(server.url, account, "GET", f"/api/automations/{rule_id}")
    assert stored["conditions"] == [{"field": "fit_score", "op": "gte", "value": 70}]

    cold = await api(server.url, account, "POST", "/api/prospects", json={"name": "Cold Co", "fit_score": 40})
    hot = await api(server.url, account, "POST", "/api/prospects", json={"name": "Hot Co", "fit_score": 85})
    # The count moves in the page without a reload.
    await wait_until(
        page, f"document.querySelector('li.rule[data-id=\"{rule_id}\"] .runs')?.textContent === '1'"
    )
    assert "Tagged Hot Co: +hot" in await card.locator(".last-result").inner_text()
    assert await card.locator(".last-run time").count() == 1
    assert (await api(server.url, account, "GET", f"/api/prospects/{hot['id']}"))["tags"] == ["hot"]
    assert (await api(server.url, account, "GET", f"/api/prospects/{cold['id']}"))["tags"] == []
    assert (await api(server.url, account, "GET", f"/api/automations/{rule_id}"))["run_count"] == 1
    await page.screenshot(path=screenshot_path("automations"), full_page=True)

    # Edit in the form: the values come back, a change is saved.
    await card.locator("[data-action=edit]").click()
    await page.wait_for_selector("#automation-form[data-mode=edit]")
    assert await page.input_value("#automation-form input[name=name]") == "Hot leads"
    assert await page.input_value(".condition-row .cond-value") == "70"
    assert await page.input_value("#automation-form input[name=add]") == "hot"
    await page.fill("#automation-form input[name=name]", "Very hot leads")
    await page.fill(".condition-row .cond-value", "90")
    await page.click("#automation-submit")
    await page.wait_for_selector("#automation-form[data-mode=create]")
    await card.locator(".rule-name", has_text="Very hot leads").wait_for()
    assert await card.locator(".rule-conditions").inner_text() == "fit_score ≥ 90"

    # The toggle pauses it; delete asks first.
    await card.locator("[data-action=toggle]").uncheck()
    await card.locator(".pill", has_text="Paused").wait_for()
    assert (await api(server.url, account, "GET", f"/api/automations/{rule_id}"))["enabled"] is False
    await card.locator("[data-action=delete]").click()
    await page.click("#confirm-delete")
    await card.wait_for(state="detached")
    assert (await api(server.url, account, "GET", "/api/automations"))["items"] == []
    assert errors.messages == []


async def test_notification_from_a_hostile_name_is_text_and_run_now_shows_the_result(
    server: Server, page: Page
) -> None:
    errors = PageErrors(page)
    account = await sign_up_in_page(page, server.url)
    rule_id = await add_rule(
        server,
        account,
        name="Greet",
        trigger_event="prospect_added",
        action={"type": "notify", "title": "New: {{name}}", "body": "{{company}}"},
    )
    await open_view(page)
    card = rule(page, rule_id)
    await card.wait_for()
    for name in HOSTILE:
        await api(server.url, account, "POST", "/api/prospects", json={"name": name, "company": name})
    await wait_until(
        page,
        f"document.querySelector('li.rule[data-id=\"{rule_id}\"] .runs')?.textContent === '{len(HOSTILE)}'",
    )
    # Toasts go after a few seconds: their text is read in the same evaluation that finds them.
    toasts = await wait_until(
        page, "[...document.querySelectorAll('#toasts .toast')].map((t) => t.textContent).join('\\n')"
    )
    shown = await card.locator(".last-result").inner_text()
    assert "Notified: New: " in shown
    assert any(name in shown for name in HOSTILE)
    assert any(f"New: {name}" in toasts for name in HOSTILE)
    await assert_no_xss(page)
    assert (
        await page.locator("#automations img, #automations script, #automations svg, #toasts img").count()
        == 0
    )
    notes = await api(server.url, account, "GET", "/api/notifications")
    assert {item["title"] for item in notes["items"]} == {f"New: {name}" for name in HOSTILE}

    # Run now: a bad sample is refused in place, a good one shows the outcome.
    await card.locator("[data-action=run]").click()
    await page.fill("dialog .sample-data", "{not json")
    await page.click("#run-submit")
    await page.locator("dialog .error-box").wait_for()
    assert "data: not valid JSON" in await page.locator("dialog .error-box").inner_text()
    assert await page.input_value("dialog .sample-data") == "{not json"
    await page.fill("dialog .sample-data", '{"name": "Sample Person"}')
    await page.click("#run-submit")
    await page.locator("#run-result [data-status=ok]").wait_for()
    assert "Notified: New: Sample Person" in await page.locator("#run-result").inner_text()
    await page.keyboard.press("Escape")
    await wait_until(
        page,
        f"document.querySelector('li.rule[data-id=\"{rule_id}\"] .runs')?.textContent === '{len(HOSTILE) + 1}'",
    )
    assert errors.messages == []


async def test_failures_show_their_error_and_a_failed_manual_run(server: Server, page: Page) -> None:
    errors = PageErrors(page)
    account = await sign_up_in_page(page, server.url)
    rule_id = await add_rule(
        server,
        account,
        name="Research " + HOSTILE[2],
        trigger_event="prospect_added",
        action={"type": "create_research_task", "priority": "high"},
    )
    await open_view(page)
    card = rule(page, rule_id)
    await card.wait_for()
    prospect = await api(server.url, account, "POST", "/api/prospects", json={"name": HOSTILE[0]})
    await wait_until(
        page, f"document.querySelector('li.rule[data-id=\"{rule_id}\"] .failures')?.textContent === '1'"
    )
    error_text = await card.locator(".last-error-text").inner_text()
    assert error_text == f"The prospect {HOSTILE[0]!r} has no website to research."
    assert await card.locator(".runs").inner_text() == "0"

    await card.locator("[data-action=run]").click()
    await page.fill("dialog .sample-data", f'{{"id": "{prospect["id"]}"}}')
    await page.click("#run-submit")
    await page.locator("#run-result [data-status=failed]").wait_for()
    assert "has no website to research" in await page.locator("#run-result").inner_text()
    await page.keyboard.press("Escape")
    await wait_until(
        page, f"document.querySelector('li.rule[data-id=\"{rule_id}\"] .failures')?.textContent === '2'"
    )
    await assert_no_xss(page)
    assert await page.locator("#automations img, #automations svg").count() == 0
    assert errors.messages == []


async def test_validation_errors_are_readable_and_keep_the_form(server: Server, page: Page) -> None:
    account = await sign_up_in_page(page, server.url)
    await open_view(page)
    await page.fill("#automation-form input[name=name]", "Tagged ones")
    await page.click("#add-condition")
    await page.fill(".condition-row .cond-field", "tags")
    await page.select_option(".condition-row .cond-op", "in")
    await page.fill("#automation-form input[name=title]", "Seen {{name}}")
    await page.click("#automation-submit")
    box = page.locator("#automation-form .error-box")
    await box.wait_for()
    assert "conditions[0].value: must be a non-empty list for in" in await box.inner_text()
    assert await page.get_attribute(".condition-row .cond-value", "aria-invalid") == "true"
    assert "non-empty list" in await page.locator(".condition-row .field-error").inner_text()
    # Nothing typed is lost.
    assert await page.input_value("#automation-form input[name=name]") == "Tagged ones"
    assert await page.input_value(".condition-row .cond-field") == "tags"
    assert await page.input_value("#automation-form input[name=title]") == "Seen {{name}}"

    # A refused combination: research events may not create research tasks.
    await page.fill(".condition-row .cond-value", '["vip"]')
    await page.select_option("#automation-form select[name=trigger_event]", "research_completed")
    await page.select_option("#automation-form select[name=action_type]", "create_research_task")
    await page.click("#automation-submit")
    await box.filter(has_text="action.type").wait_for()
    assert "create_research_task cannot run on research_completed" in await box.inner_text()
    assert await page.get_attribute("#automation-form select[name=action_type]", "aria-invalid") == "true"
    assert await page.locator(".condition-row .field-error").count() == 0
    assert (await api(server.url, account, "GET", "/api/automations"))["items"] == []

    await page.select_option("#automation-form select[name=trigger_event]", "prospect_updated")
    await page.click("#automation-submit")
    rule_id = await rule_id_by_name(page, "Tagged ones")
    stored = await api(server.url, account, "GET", f"/api/automations/{rule_id}")
    assert stored["conditions"] == [{"field": "tags", "op": "in", "value": ["vip"]}]
    assert stored["action"]["type"] == "create_research_task"
    assert await page.locator("#automation-form .error-box").count() == 0


async def test_phone_width(server: Server, browser: Browser) -> None:
    context, page = await new_page(browser, width=390, height=844)
    try:
        errors = PageErrors(page)
        account = await sign_up_in_page(page, server.url)
        rule_id = await add_rule(
            server,
            account,
            name="A rather long rule name that keeps going " * 3,
            trigger_event="prospect_added",
            conditions=[{"field": "name", "op": "contains", "value": "n" * 120}],
            action={"type": "create_research_task"},
        )
        await open_view(page)
        await api(server.url, account, "POST", "/api/prospects", json={"name": "N" * 150})
        await wait_until(
            page, f"document.querySelector('li.rule[data-id=\"{rule_id}\"] .failures')?.textContent === '1'"
        )
        await page.click("#add-condition")
        await page.click("#add-condition")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
        await page.screenshot(path=screenshot_path("automations-phone"), full_page=True)
        assert errors.messages == []
    finally:
        await context.close()
