"""The analytics view in a real browser: charts drawn from the summary, ranges, live, exports.

Headless Chromium against a real ``aiclone serve`` (see tests.support.browser_support). The browser runs
in Australia/Adelaide (+09:30 or +10:30), so the page must send its own zone, not UTC, for the buckets. Each
check compares the drawing with the very summary response the page received.

User-provided text: the view shows none (metric and funnel names are fixed words, bucket labels
are dates). Prospects with hostile names still feed the charts, must not run as markup, and come
back unchanged as data in the export.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from aiclone import migrate
from tests.conftest import create_pg_database, drop_pg_database
from tests.support.browser_support import (
    HOSTILE,
    PageErrors,
    api,
    assert_no_xss,
    browser_page,
    dashboard_server,
    screenshot_path,
    sign_up_in_page,
    wait_until,
)
from tests.support.live_support import Account, Server

pytestmark = pytest.mark.slow

ZONE = "Australia/Adelaide"
SUMMARY = "/api/analytics/summary"


@pytest.fixture(scope="module")
async def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    """SQLite (the dashboard's default); tests of the data paths also run on PostgreSQL."""
    data_dir = tmp_path_factory.mktemp("dashboard-analytics")
    if getattr(request, "param", "sqlite") == "sqlite":
        async with dashboard_server(data_dir) as srv:
            yield srv
        return
    admin = request.getfixturevalue("pg_admin_url")
    url = await create_pg_database(admin)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        srv = await Server(url, data_dir, harness=False, name="dashboard", sse_heartbeat_seconds=2).start()
        try:
            yield srv
        finally:
            await srv.stop()
    finally:
        await drop_pg_database(admin, url)


both_databases = pytest.mark.parametrize("server", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def page_options() -> dict[str, object]:
    return {"height": 900, "timezone_id": ZONE, "accept_downloads": True}


@pytest.fixture
async def phone(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    async with browser_page(
        browser, request, width=390, height=844, timezone_id=ZONE, accept_downloads=True
    ) as item:
        yield item


def _is_summary(url: str) -> bool:
    return urllib.parse.urlsplit(url).path == SUMMARY


async def open_analytics(page: Page, base_url: str) -> dict[str, Any]:
    """Navigates to the view; returns the summary the page received (after it is drawn)."""
    async with page.expect_response(lambda response: _is_summary(response.url)) as info:
        await page.goto(f"{base_url}/#/analytics")
    response = await info.value
    assert response.ok, await response.text()
    body: dict[str, Any] = await response.json()
    await page.wait_for_selector("#analytics-status[data-state=ready]")
    return body


async def drawn(page: Page, metric: str) -> dict[str, Any]:
    """What the chart of ``metric`` shows: bar heights, titles, the total text, the trend."""
    card = f'.metric-card[data-metric="{metric}"]'
    result: dict[str, Any] = await page.evaluate(
        """(card) => {
            const root = document.querySelector(card);
            const svg = root.querySelector("svg");
            return {
                heights: [...svg.querySelectorAll("rect.bar")].map((r) => Number(r.getAttribute("height"))),
                titles: [...svg.querySelectorAll(".chart-bar > title")].map((t) => t.textContent),
                role: svg.getAttribute("role"),
                label: svg.getAttribute("aria-label"),
                viewBox: svg.getAttribute("viewBox"),
                total: root.querySelector(".metric-total").textContent,
                trend: root.querySelector(".metric-trend").dataset.trend,
            };
        }""",
        card,
    )
    return result


async def add_prospects(base_url: str, account: Account, names: list[str]) -> None:
    for name in names:
        await api(base_url, account, "POST", "/api/prospects", json={"name": name, "company": "Acme"})


@both_databases
async def test_charts_totals_and_funnel_match_the_summary(server: Server, page: Page) -> None:
    errors = PageErrors(page)
    account = await sign_up_in_page(page, server.url)
    await add_prospects(server.url, account, [*HOSTILE, "Ada Lovelace"])
    content = await api(
        server.url, account, "POST", "/api/content", json={"title": "Launch", "body": "Hello"}
    )
    await api(server.url, account, "POST", f"/api/content/{content['id']}/publish")

    summary = await open_analytics(page, server.url)
    assert summary["tz"] == ZONE
    assert summary["time_range"] == "week"
    assert await page.locator("#analytics-range").is_visible()

    prospects = summary["metrics"]["prospects_analyzed"]
    assert prospects["total"] == len(HOSTILE) + 1
    chart = await drawn(page, "prospects_analyzed")
    counts = [bucket["count"] for bucket in prospects["buckets"]]
    assert len(chart["heights"]) == len(counts) == 7
    # The tallest bar is the bucket with the prospects in it; empty buckets are flat.
    tallest = max(range(len(counts)), key=lambda i: chart["heights"][i])
    assert counts[tallest] == max(counts) == prospects["total"]
    assert all(height == 0 for i, height in enumerate(chart["heights"]) if counts[i] == 0)
    assert chart["titles"][tallest].endswith(f": {prospects['total']}")
    assert chart["role"] == "img"
    assert chart["viewBox"].startswith("0 0 ")
    assert f"Prospects added: {prospects['total']} in 7 day buckets" in chart["label"]
    assert chart["total"] == str(prospects["total"])
    assert chart["trend"] == prospects["trend"] == "up"

    # Every metric of the summary has a card whose total is the summary's.
    totals = await page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll(".metric-card")].map(
            (card) => [card.dataset.metric, card.querySelector(".metric-total").textContent]))"""
    )
    assert totals == {key: str(metric["total"]) for key, metric in summary["metrics"].items()}
    assert totals["content_published"] == "1"

    funnel = await page.evaluate(
        """() => [...document.querySelectorAll(".funnel-stage")].map(
            (li) => [li.dataset.stage, li.querySelector(".funnel-count").textContent])"""
    )
    assert funnel == [[stage["stage"], str(stage["count"])] for stage in summary["funnel"]["stages"]]
    assert funnel[0] == ["added", str(len(HOSTILE) + 1)]
    assert await page.locator("#analytics-empty .state-empty").count() == 0
    await assert_no_xss(page)
    await page.screenshot(path=screenshot_path("analytics"), full_page=True)
    assert errors.messages == []


async def test_new_user_sees_zero_filled_charts_and_each_range_redraws(server: Server, page: Page) -> None:
    errors = PageErrors(page)
    await sign_up_in_page(page, server.url)
    summary = await open_analytics(page, server.url)
    assert await page.locator("#analytics-empty .state-empty").is_visible()
    chart = await drawn(page, "prospects_analyzed")
    assert len(chart["heights"]) == 7
    assert set(chart["heights"]) == {0}
    assert chart["total"] == "0"
    assert await page.locator(".metric-card").count() == len(summary["metrics"])

    for time_range, buckets in (("day", 24), ("month", 30), ("quarter", 13), ("year", 12)):
        async with page.expect_response(lambda response: _is_summary(response.url)) as info:
            await page.select_option("#analytics-range-select", time_range)
        response = await info.value
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(response.url).query)
        assert query == {"time_range": [time_range], "tz": [ZONE]}
        body = await response.json()
        assert len(body["metrics"]["outreach_sent"]["buckets"]) == buckets
        await wait_until(
            page, f"document.querySelector('#analytics-metrics').dataset.range === '{time_range}'"
        )
        for metric in ("prospects_analyzed", "outreach_sent"):
            assert len((await drawn(page, metric))["heights"]) == buckets
    # The range is kept on the form.
    assert await page.locator("#analytics-range-select").input_value() == "year"
    assert errors.messages == []


def _summary_for(start: str, end: str) -> Any:
    """Matches the summary request of the custom range ``start … end``."""

    def matches(response: Any) -> bool:
        if not _is_summary(response.url):
            return False
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(response.url).query)
        return query.get("start") == [start] and query.get("end") == [end]

    return matches


async def choose_dates(page: Page, start: str, end: str) -> Any:
    """Fills both dates (each change reloads); returns the response of the final pair."""
    async with page.expect_response(_summary_for(start, end)) as info:
        await page.fill("#analytics-start", start)
        await page.fill("#analytics-end", end)
    return await info.value


@both_databases
async def test_a_custom_range_draws_its_buckets(server: Server, page: Page) -> None:
    errors = PageErrors(page)
    account = await sign_up_in_page(page, server.url)
    await add_prospects(server.url, account, ["Today's prospect"])
    await open_analytics(page, server.url)
    assert not await page.locator("#analytics-custom").is_visible()

    # Choosing "Custom range…" shows the dates, prefilled with the last 30 days (today included).
    async with page.expect_response(lambda response: _is_summary(response.url)) as info:
        await page.select_option("#analytics-range-select", "custom")
    response = await info.value
    assert response.ok, await response.text()
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(response.url).query)
    today = await page.evaluate("new Date().toLocaleDateString('en-CA')")
    assert query["end"] == [today]
    assert query["tz"] == [ZONE]
    assert "time_range" not in query
    body = await response.json()
    assert body["bucket"] == "day"
    assert body["custom_range"] == {"start": query["start"][0], "end": today}
    await wait_until(page, "document.querySelector('#analytics-metrics').dataset.range === 'custom'")
    chart = await drawn(page, "prospects_analyzed")
    assert len(chart["heights"]) == 30
    assert chart["total"] == "1"
    assert chart["heights"][-1] > 0  # today's bar

    # Two days in winter (Adelaide +09:30, no DST change): 48 hourly bars.
    for (start, end), buckets, unit in (
        (("2026-06-10", "2026-06-11"), 48, "hour"),
        (("2026-01-05", "2026-04-14"), 15, "week"),  # 100 days from a Monday: 14 weeks and 2 days
    ):
        response = await choose_dates(page, start, end)
        assert response.ok, await response.text()
        body = await response.json()
        assert body["bucket"] == unit
        assert len(body["metrics"]["outreach_sent"]["buckets"]) == buckets
        await wait_until(
            page,
            f"document.querySelector('#analytics-metrics').dataset.period === 'custom:{start}:{end}'",
        )
        for metric in ("prospects_analyzed", "outreach_sent"):
            assert len((await drawn(page, metric))["heights"]) == buckets
        assert f"{start} \u2013 {end} (by {unit})" in await page.inner_text("#analytics-status")
    assert await page.input_value("#analytics-start") == "2026-01-05"
    assert await page.input_value("#analytics-end") == "2026-04-14"
    assert errors.messages == []


async def test_a_bad_custom_range_shows_the_422_and_keeps_the_dates(server: Server, page: Page) -> None:
    errors = PageErrors(page)
    await sign_up_in_page(page, server.url)
    await open_analytics(page, server.url)
    async with page.expect_response(lambda response: _is_summary(response.url)):
        await page.select_option("#analytics-range-select", "custom")
    await page.wait_for_selector("#analytics-status[data-state=ready]")

    response = await choose_dates(page, "2026-05-10", "2026-05-01")
    assert response.status == 422
    box = page.locator("#analytics-error .error-box")
    await box.wait_for()
    text = await box.inner_text()
    assert "Request validation failed" in text
    assert "end: must not be before start" in text
    assert await page.get_attribute("#analytics-status", "data-state") == "error"
    # Nothing was lost; the charts of another range are not shown as if they were this one.
    assert await page.input_value("#analytics-range-select") == "custom"
    assert await page.input_value("#analytics-start") == "2026-05-10"
    assert await page.input_value("#analytics-end") == "2026-05-01"
    assert await page.locator(".metric-card").count() == 0

    # Too long a range: the server's bound, readable too.
    response = await choose_dates(page, "2025-01-01", "2026-05-01")
    assert response.status == 422
    await wait_until(
        page, "document.querySelector('#analytics-error')?.textContent.includes('at most 366 days')"
    )

    # Fixing the dates draws the charts and clears the error.
    response = await choose_dates(page, "2026-05-01", "2026-05-10")
    assert response.ok
    await wait_until(page, "document.querySelectorAll('.metric-card').length > 0")
    assert await page.locator("#analytics-error .error-box").count() == 0
    assert len((await drawn(page, "prospects_analyzed"))["heights"]) == 10
    assert [message for message in errors.messages if "422" not in message] == []


@both_databases
async def test_a_prospect_added_elsewhere_moves_the_chart(server: Server, page: Page) -> None:
    errors = PageErrors(page)
    account = await sign_up_in_page(page, server.url)
    await add_prospects(server.url, account, ["First"])
    await open_analytics(page, server.url)
    assert (await drawn(page, "prospects_analyzed"))["total"] == "1"

    await add_prospects(server.url, account, ["Second", "Third"])
    await wait_until(
        page, """document.querySelector('[data-metric="prospects_analyzed"]')?.dataset.total === '3'"""
    )
    chart = await drawn(page, "prospects_analyzed")
    assert chart["total"] == "3"
    assert max(chart["heights"]) > 0
    funnel_added = await page.locator('.funnel-stage[data-stage="added"] .funnel-count').inner_text()
    assert funnel_added == "3"
    assert errors.messages == []


async def _download(page: Page, format_: str, tmp_path: Path) -> tuple[str, bytes]:
    async with page.expect_download() as info:
        await page.click(f'#analytics-export button[data-format="{format_}"]')
    download = await info.value
    target = tmp_path / download.suggested_filename
    await download.save_as(target)
    return download.suggested_filename, target.read_bytes()


@both_databases
async def test_export_buttons_download_files(server: Server, page: Page, tmp_path: Path) -> None:
    errors = PageErrors(page)
    account = await sign_up_in_page(page, server.url)
    names = [*HOSTILE, "=1+1", "Plain Name"]
    await add_prospects(server.url, account, names)
    await open_analytics(page, server.url)

    name, body = await _download(page, "csv", tmp_path)
    assert name.startswith("aiclone-prospects-")
    assert name.endswith(".csv")
    text = body.decode("utf-8-sig")
    header = text.splitlines()[0]
    assert header.startswith("id,created_at,updated_at,name,")
    rows = list(csv.DictReader(io.StringIO(text)))
    # Hostile names come back as data; the formula is neutralised with an apostrophe.
    assert sorted(row["name"] for row in rows) == sorted([*HOSTILE, "'=1+1", "Plain Name"])

    name, body = await _download(page, "xlsx", tmp_path)
    assert name.endswith(".xlsx")
    assert body[:2] == b"PK"

    name, body = await _download(page, "json", tmp_path)
    assert sorted(item["name"] for item in json.loads(body)) == sorted(names)

    name, body = await _download(page, "ndjson", tmp_path)
    assert len(body.decode().strip().splitlines()) == len(names)

    # Another table over custom dates: activity of today, inclusive "to".
    assert not await page.locator("#export-custom").is_visible()
    await page.select_option("#analytics-export select[name=data_type]", "activities")
    await page.select_option("#analytics-export select[name=range]", "custom")
    today = await page.evaluate("new Date().toLocaleDateString('en-CA')")
    await page.fill("#analytics-export input[name=from]", today)
    await page.fill("#analytics-export input[name=to]", today)
    name, body = await _download(page, "csv", tmp_path)
    assert name.startswith("aiclone-activities-")
    assert body.decode("utf-8-sig").splitlines()[0].startswith("id,created_at,type,title,")
    await assert_no_xss(page)
    assert errors.messages == []


async def test_an_invalid_export_range_is_a_readable_error_and_keeps_the_form(
    server: Server, page: Page
) -> None:
    errors = PageErrors(page)
    await sign_up_in_page(page, server.url)
    await open_analytics(page, server.url)
    await page.select_option("#analytics-export select[name=data_type]", "research_tasks")
    await page.select_option("#analytics-export select[name=range]", "custom")
    await page.fill("#analytics-export input[name=from]", "2026-05-10")
    await page.fill("#analytics-export input[name=to]", "2026-05-01")
    async with page.expect_response(lambda response: response.url.endswith("/api/analytics/export")) as info:
        await page.click('#analytics-export button[data-format="csv"]')
    assert (await info.value).status == 422
    box = page.locator("#export-error .error-box")
    await box.wait_for()
    text = await box.inner_text()
    assert "date_range.end: must be after date_range.start" in text
    # Nothing was lost: the form keeps every value and stays usable.
    assert await page.input_value("#analytics-export input[name=from]") == "2026-05-10"
    assert await page.input_value("#analytics-export input[name=to]") == "2026-05-01"
    assert await page.input_value("#analytics-export select[name=data_type]") == "research_tasks"
    assert await page.locator('#analytics-export button[data-format="csv"]').is_enabled()
    # The charts are untouched by the failed export.
    assert await page.locator("#analytics-error .error-box").count() == 0
    assert await page.locator(".metric-card").count() > 0
    assert [message for message in errors.messages if "422" not in message] == []


async def test_phone_width_has_no_horizontal_scroll(server: Server, phone: Page) -> None:
    errors = PageErrors(phone)
    account = await sign_up_in_page(phone, server.url)
    await add_prospects(server.url, account, ["A very long prospect name that keeps going and going"] * 2)
    await open_analytics(phone, server.url)
    await phone.select_option("#analytics-export select[name=range]", "custom")
    for time_range in ("week", "month", "day"):
        await phone.select_option("#analytics-range-select", time_range)
        await wait_until(
            phone, f"document.querySelector('#analytics-metrics').dataset.range === '{time_range}'"
        )
        assert await phone.evaluate("document.documentElement.scrollWidth") <= 390
    # Every chart fits its card.
    widths = await phone.evaluate(
        "[...document.querySelectorAll('.metric-card svg')].map((svg) => svg.getBoundingClientRect().right)"
    )
    assert widths
    assert max(widths) <= 390
    await phone.screenshot(path=screenshot_path("analytics-phone"), full_page=True)
    assert errors.messages == []
