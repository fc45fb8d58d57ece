"""The Prospects view in a real browser: table, filters, keyset paging, form, live rows, XSS.

Headless Chromium against a real ``aiclone serve`` (see tests.support.browser_support).
"""

from __future__ import annotations

import json
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
from tests.support.live_support import Account, Server

pytestmark = pytest.mark.slow

ROWS = "#prospects-rows tr"


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    async with dashboard_server(tmp_path_factory.mktemp("dashboard-prospects")) as srv:
        yield srv


async def open_prospects(page: Page, server: Server) -> Account:
    account = await sign_up_in_page(page, server.url)
    await page.click("nav a[data-view=prospects]")
    await page.wait_for_selector("#prospects-table:not([aria-busy])")
    return account


async def names(page: Page) -> list[str]:
    return await page.locator(f"{ROWS} .p-name strong").all_inner_texts()


async def row_count(page: Page) -> int:
    return int(await page.evaluate(f"document.querySelectorAll('{ROWS}').length"))


async def test_add_through_the_form_and_see_it_in_the_table(server: Server, page: Page) -> None:
    errors = PageErrors(page)
    await open_prospects(page, server)
    await page.wait_for_selector("#prospects-state .state-empty")
    await page.click("#add-prospect")
    await page.fill("#prospect-name", "Ada Lovelace")
    await page.fill("#prospect-email", "ada@example.com")
    await page.fill("#prospect-company", "Analytical Engines")
    await page.fill("#prospect-job-title", "Founder")
    await page.fill("#prospect-website", "https://example.com/ada")
    await page.fill("#prospect-linkedin", "https://www.linkedin.com/in/ada")
    await page.fill("#prospect-tags", "math, Pioneer")
    await page.fill("#prospect-fit-score", "87")
    await page.fill("#prospect-notes", "Met at the conference.")
    await page.click("#prospect-form button[type=submit]")
    await page.wait_for_selector("#prospect-dialog", state="detached")
    row = page.locator(f"{ROWS}:has-text('Ada Lovelace')")
    await row.wait_for()
    assert await row.locator(".p-company").inner_text() == "Analytical Engines"
    assert await row.locator(".p-score").inner_text() == "87"
    assert await row.locator(".p-tags .tag").all_inner_texts() == ["math", "pioneer"]
    assert await row.locator(".p-links a").evaluate_all("links => links.map(a => a.href)") == [
        "https://example.com/ada",
        "https://www.linkedin.com/in/ada",
    ]
    # Added by this page and then heard on the stream (the user's first event, seq 1): one row.
    await wait_until(page, "Number(window.aiclone.lastEventId) >= 1")
    assert await row_count(page) == 1
    assert errors.messages == []


async def test_a_prospect_created_through_the_api_appears_live(server: Server, page: Page) -> None:
    account = await open_prospects(page, server)
    await api(
        server.url, account, "POST", "/api/prospects", json={"name": "Live Larry", "company": "Elsewhere"}
    )
    await page.wait_for_selector(f"{ROWS}:has-text('Live Larry')")
    created = await api(server.url, account, "POST", "/api/prospects", json={"name": "Second Sue"})
    await page.wait_for_selector(f"{ROWS}:has-text('Second Sue')")
    assert (await names(page))[:2] == ["Second Sue", "Live Larry"]
    # An update elsewhere changes the row in place.
    await api(server.url, account, "PATCH", f"/api/prospects/{created['id']}", json={"fit_score": 64})
    await wait_until(
        page,
        f"document.querySelector('{ROWS}[data-id=\"{created['id']}\"] .p-score')?.textContent === '64'",
    )
    # One that does not match the current filter does not enter the table.
    await page.select_option("#prospect-filter-status", "approved")
    await page.wait_for_selector("#prospects-state .state-empty")
    await api(server.url, account, "POST", "/api/prospects", json={"name": "Pending Pat"})
    await api(
        server.url,
        account,
        "POST",
        "/api/prospects",
        json={"name": "Approved Amy", "approval_status": "approved"},
    )
    await page.wait_for_selector(f"{ROWS}:has-text('Approved Amy')")
    assert await names(page) == ["Approved Amy"]
    # In another order the page does not shift: a bar offers the new ones.
    await page.select_option("#prospect-sort", "name:asc")
    await page.wait_for_selector(f"{ROWS}:has-text('Approved Amy')")
    await api(
        server.url,
        account,
        "POST",
        "/api/prospects",
        json={"name": "Approved Abe", "approval_status": "approved"},
    )
    await page.wait_for_selector("#prospects-new-bar:not([hidden])")
    assert "1 new prospect" in await page.locator("#prospects-new-bar").inner_text()
    await page.click("#prospects-refresh")
    await wait_until(page, f"document.querySelectorAll('{ROWS}').length === 2")
    assert await names(page) == ["Approved Abe", "Approved Amy"]
    # Deleted elsewhere: the row goes.
    await api(server.url, account, "DELETE", f"/api/prospects/{created['id']}")
    await page.select_option("#prospect-filter-status", "")
    await page.wait_for_selector(f"{ROWS}:has-text('Live Larry')")
    assert "Second Sue" not in await names(page)


async def test_search_and_filters_narrow_the_table(server: Server, page: Page) -> None:
    account = await open_prospects(page, server)
    items = [
        {
            "name": "Grace Hopper",
            "company": "Navy",
            "email": "grace@navy.example",
            "fit_score": 90,
            "tags": ["cobol"],
        },
        {"name": "Alan Turing", "company": "Bletchley", "fit_score": 70, "tags": ["crypto"]},
        {"name": "Barbara Liskov", "company": "MIT", "email": "liskov@mit.example", "fit_score": 40},
        {"name": "Edsger Dijkstra", "company": "Navy Labs", "fit_score": 20, "approval_status": "rejected"},
    ]
    await api(server.url, account, "POST", "/api/prospects/bulk", json={"items": items})
    await wait_until(page, f"document.querySelectorAll('{ROWS}').length === 4")

    await page.fill("#prospect-search", "navy")
    await wait_until(page, f"document.querySelectorAll('{ROWS}').length === 2")
    assert sorted(await names(page)) == ["Edsger Dijkstra", "Grace Hopper"]
    await page.fill("#prospect-search", "LISKOV@")  # email, any case
    await wait_until(page, f"document.querySelectorAll('{ROWS}').length === 1")
    assert await names(page) == ["Barbara Liskov"]
    await page.fill("#prospect-search", "")
    await wait_until(page, f"document.querySelectorAll('{ROWS}').length === 4")

    await page.fill("#prospect-filter-score", "60")
    await wait_until(page, f"document.querySelectorAll('{ROWS}').length === 2")
    assert sorted(await names(page)) == ["Alan Turing", "Grace Hopper"]
    await page.fill("#prospect-filter-tag", "crypto")
    await wait_until(page, f"document.querySelectorAll('{ROWS}').length === 1")
    assert await names(page) == ["Alan Turing"]
    await page.click("#prospect-filters-clear")
    await wait_until(page, f"document.querySelectorAll('{ROWS}').length === 4")

    await page.select_option("#prospect-filter-status", "rejected")
    await wait_until(page, f"document.querySelectorAll('{ROWS}').length === 1")
    assert await names(page) == ["Edsger Dijkstra"]
    await page.select_option("#prospect-filter-status", "")
    # A created range that ends before today holds nothing; one that includes today holds all.
    await page.fill("#prospect-filter-to", "2020-01-01")
    await page.wait_for_selector("#prospects-state .state-empty")
    await page.fill("#prospect-filter-to", "")
    await page.fill("#prospect-filter-from", "2020-01-01")
    await wait_until(page, f"document.querySelectorAll('{ROWS}').length === 4")

    await page.select_option("#prospect-sort", "fit_score:desc")
    # The whole order, not the first row: the table before the sort may start with her too.
    by_score = ["Grace Hopper", "Alan Turing", "Barbara Liskov", "Edsger Dijkstra"]
    await wait_until(
        page,
        f"JSON.stringify([...document.querySelectorAll('{ROWS} .p-name strong')].map(n => n.textContent))"
        f" === {json.dumps(json.dumps(by_score, separators=(',', ':')))}",
    )
    assert await names(page) == by_score


async def test_keyset_paging_has_no_duplicate_and_no_gap(server: Server, page: Page) -> None:
    account = await open_prospects(page, server)
    # One bulk request: all 30 share created_at, so only the id tie-breaker separates them.
    items = [{"name": f"Paged {index:02d}", "fit_score": index % 7} for index in range(30)]
    await api(server.url, account, "POST", "/api/prospects/bulk", json={"items": items})
    await page.select_option("#prospects-page-size", "10")
    for sort in ("created_at:desc", "fit_score:desc", "name:asc"):
        await page.select_option("#prospect-sort", sort)
        await wait_until(page, "document.querySelector('#prospects-table')?.dataset.page === '1'")
        await wait_until(page, f"document.querySelectorAll('{ROWS}').length === 10")
        seen: list[str] = []
        for number in range(1, 4):
            await wait_until(
                page,
                f"document.querySelector('#prospects-table')?.dataset.page === '{number}'"
                " && !document.querySelector('#prospects-table').hasAttribute('aria-busy')",
            )
            seen.extend(await names(page))
            if number < 3:
                await page.click("#prospects-next")
        assert await page.locator("#prospects-next").is_disabled()
        assert len(seen) == 30, (sort, seen)
        assert sorted(seen) == sorted(item["name"] for item in items), sort
        if sort == "name:asc":
            assert seen == sorted(seen)
        # Previous goes back to exactly the page before.
        await page.click("#prospects-prev")
        await wait_until(page, "document.querySelector('#prospects-table')?.dataset.page === '2'")
        await wait_until(page, "!document.querySelector('#prospects-table').hasAttribute('aria-busy')")
        assert await names(page) == seen[10:20]


async def test_edit_approve_reject_and_delete(server: Server, page: Page) -> None:
    account = await open_prospects(page, server)
    made = await api(
        server.url,
        account,
        "POST",
        "/api/prospects/bulk",
        json={"items": [{"name": f"Row {index}", "email": f"row{index}@example.com"} for index in range(3)]},
    )
    ids = [item["id"] for item in made["items"]]
    await wait_until(page, f"document.querySelectorAll('{ROWS}').length === 3")

    # Edit: the form starts with the stored values; a cleared field is cleared.
    row0 = page.locator(f"{ROWS}[data-id='{ids[0]}']")
    await row0.locator("[data-action=edit]").click()
    assert await page.input_value("#prospect-email") == "row0@example.com"
    await page.fill("#prospect-name", "Row Zero Edited")
    await page.fill("#prospect-email", "")
    await page.fill("#prospect-company", "Edited Co")
    await page.click("#prospect-form button[type=submit]")
    await page.wait_for_selector("#prospect-dialog", state="detached")
    await row0.locator(".p-name:has-text('Row Zero Edited')").wait_for()
    stored = await api(server.url, account, "GET", f"/api/prospects/{ids[0]}")
    assert (stored["name"], stored["email"], stored["company"]) == ("Row Zero Edited", None, "Edited Co")

    # Approve and reject one row.
    await row0.locator("[data-action=approve]").click()
    await row0.locator(".pill[data-status=approved]").wait_for()
    await row0.locator("[data-action=reject]").click()
    await row0.locator(".pill[data-status=rejected]").wait_for()

    # Bulk approve over selected rows.
    for prospect_id in ids[1:]:
        await page.check(f"{ROWS}[data-id='{prospect_id}'] .row-select")
    assert await page.locator("#selected-count").inner_text() == "2 selected"
    await page.click("#bulk-approve")
    for prospect_id in ids[1:]:
        await page.locator(f"{ROWS}[data-id='{prospect_id}'] .pill[data-status=approved]").wait_for()
    listed = await api(server.url, account, "GET", "/api/prospects", params={"status": "approved"})
    assert sorted(item["id"] for item in listed["items"]) == sorted(ids[1:])
    # Select all on the page, reject in bulk.
    await page.check("#select-page")
    await page.click("#bulk-reject")
    await wait_until(page, f"document.querySelectorAll('{ROWS} .pill[data-status=rejected]').length === 3")

    # Delete asks first; "Keep" keeps, "Delete" deletes.
    row2 = page.locator(f"{ROWS}[data-id='{ids[2]}']")
    await row2.locator("[data-action=delete]").click()
    await page.click("#delete-dialog button:has-text('Keep')")
    await page.wait_for_selector("#delete-dialog", state="detached")
    assert await row_count(page) == 3
    await row2.locator("[data-action=delete]").click()
    await page.click("#confirm-delete")
    await row2.wait_for(state="detached")
    listed = await api(server.url, account, "GET", "/api/prospects")
    assert sorted(item["id"] for item in listed["items"]) == sorted(ids[:2])


async def test_validation_errors_are_shown_per_field_and_values_kept(server: Server, page: Page) -> None:
    errors = PageErrors(page)
    account = await open_prospects(page, server)
    await api(
        server.url, account, "POST", "/api/prospects", json={"name": "Taken", "email": "taken@example.com"}
    )
    await page.wait_for_selector(f"{ROWS}:has-text('Taken')")
    await page.click("#add-prospect")
    await page.fill("#prospect-name", "Copy Cat")
    await page.fill("#prospect-email", "TAKEN@example.com")
    await page.fill("#prospect-notes", "Keep these notes")
    await page.click("#prospect-form button[type=submit]")
    await page.wait_for_selector("#prospect-form .error-box")
    assert "already exists" in await page.locator("#prospect-form .error-box").inner_text()
    assert await page.locator("#prospect-email-error").inner_text() == "already used by a prospect"
    assert await page.get_attribute("#prospect-email", "aria-invalid") == "true"
    assert await page.input_value("#prospect-name") == "Copy Cat"
    assert await page.input_value("#prospect-notes") == "Keep these notes"

    # Several bad fields at once: each gets its own message.
    await page.fill("#prospect-email", "copy@example.com")
    await page.fill("#prospect-website", "ftp://example.com")
    await page.fill("#prospect-linkedin", "https://example.com/in/someone")
    await page.fill("#prospect-fit-score", "101")
    await page.click("#prospect-form button[type=submit]")
    await page.wait_for_selector("#prospect-fit-score-error:not([hidden])")
    assert await page.locator("#prospect-email-error").is_hidden()
    assert await page.locator("#prospect-fit-score-error").inner_text() != ""
    # Fix the score: the next error (website/linkedin) is named per field.
    await page.fill("#prospect-fit-score", "50")
    await page.click("#prospect-form button[type=submit]")
    await page.wait_for_selector("#prospect-website-error:not([hidden])")
    assert await page.locator("#prospect-linkedin-error").is_visible()
    assert await page.input_value("#prospect-website") == "ftp://example.com"
    await page.fill("#prospect-website", "https://copy.example")
    await page.fill("#prospect-linkedin", "")
    await page.click("#prospect-form button[type=submit]")
    await page.wait_for_selector("#prospect-dialog", state="detached")
    await page.wait_for_selector(f"{ROWS}:has-text('Copy Cat')")
    assert errors.messages == []


async def test_hostile_values_render_as_text(server: Server, page: Page) -> None:
    errors = PageErrors(page)
    account = await open_prospects(page, server)
    items = [
        {
            "name": name,
            "company": name,
            "job_title": name,
            "tags": [f"t{index}"],
            "notes": name,
        }
        for index, name in enumerate(HOSTILE)
    ]
    await api(server.url, account, "POST", "/api/prospects/bulk", json={"items": items})
    await wait_until(page, f"document.querySelectorAll('{ROWS}').length === {len(HOSTILE)}")
    shown = await names(page)
    for name in HOSTILE:
        assert name in shown
    companies = await page.locator(f"{ROWS} .p-company").all_inner_texts()
    assert sorted(companies) == sorted(HOSTILE)
    assert (
        await page.locator("#prospects-table img, #prospects-table script, #prospects-table svg").count() == 0
    )
    # The edit form shows them as values, not markup.
    await page.locator(f"{ROWS}:has-text('{HOSTILE[1]}') [data-action=edit]").click()
    assert await page.input_value("#prospect-name") == HOSTILE[1]
    assert await page.input_value("#prospect-notes") == HOSTILE[1]
    await page.keyboard.press("Escape")
    await page.wait_for_selector("#prospect-dialog", state="detached")
    # A live row too.
    await api(server.url, account, "POST", "/api/prospects", json={"name": HOSTILE[2], "company": HOSTILE[0]})
    await wait_until(page, f"document.querySelectorAll('{ROWS}').length === {len(HOSTILE) + 1}")
    await assert_no_xss(page)
    assert (
        await page.locator("#prospects-table img, #prospects-table script, #prospects-table svg").count() == 0
    )
    await page.screenshot(path=screenshot_path("prospects"), full_page=True)
    assert errors.messages == []


async def test_unsafe_links_are_plain_text(server: Server, page: Page) -> None:
    account = await open_prospects(page, server)
    made = await api(
        server.url,
        account,
        "POST",
        "/api/prospects",
        json={"name": "Linky", "website": "https://linky.example/"},
    )
    row = page.locator(f"{ROWS}[data-id='{made['id']}']")
    await row.wait_for()
    link = row.locator(".p-links a")
    assert await link.get_attribute("rel") == "noopener noreferrer"
    assert await link.get_attribute("target") == "_blank"
    # The API refuses javascript: URLs; the page would render one as text (h() refuses it as href).
    assert await page.evaluate(
        "import('/static/js/dom.js').then(m => [m.isSafeUrl('javascript:alert(1)'), m.isSafeUrl('https://x.example')])"
    ) == [False, True]


async def test_phone_width_has_no_horizontal_scroll(server: Server, browser: Browser) -> None:
    context, page = await new_page(browser, width=390, height=844)
    try:
        account = await open_prospects(page, server)
        await api(
            server.url,
            account,
            "POST",
            "/api/prospects",
            json={
                "name": "A rather long prospect name for a narrow screen",
                "company": "Wide Company Incorporated",
            },
        )
        await page.wait_for_selector(f"{ROWS}:has-text('narrow screen')")
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await page.click("#add-prospect")
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await page.screenshot(path=screenshot_path("prospects-phone"))
    finally:
        await context.close()
