""" "Draft with AI" in a real browser: prospects and outreach views, the draft shown as it streams.

Headless Chromium against a real ``aiclone serve`` whose language model is the local
OpenAI-compatible provider of ``tests.support.llm_provider``. The provider streams its answer in pieces
half a second apart; the page records every text the stream panel showed, so the test can tell
that the draft appeared piece by piece before the saved draft replaced it.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Page

from tests.support.browser_support import (
    HOSTILE,
    PageErrors,
    api,
    assert_no_xss,
    dashboard_server,
    sign_up_in_page,
    wait_until,
)
from tests.support.live_support import Account, Server
from tests.support.llm_provider import MODEL, Fail, LLMProvider, Stream
from tests.support.localweb import local_site

pytestmark = pytest.mark.slow

PIECES = ["Hi Wile,\n\n", "your rocket skates ", f"look great {HOSTILE[0]} ", "— shall we talk?"]
ANSWER = "".join(PIECES)

# Collects every text the stream panel shows (a MutationObserver; no timing involved).
RECORD_STREAM = """(selector) => {
  window.__shown = [];
  const target = document.querySelector(selector);
  new MutationObserver(() => window.__shown.push(target.textContent)).observe(target, {
    childList: true, characterData: true, subtree: true,
  });
}"""


@pytest.fixture(scope="module")
def provider() -> Iterator[LLMProvider]:
    running = LLMProvider()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory, provider: LLMProvider) -> AsyncIterator[Server]:
    async with dashboard_server(
        tmp_path_factory.mktemp("dashboard-drafting"),
        llm_base_url=provider.base_url,
        llm_model=MODEL,
        llm_allow_private="true",
        research_poll_seconds=0.5,
    ) as srv:
        yield srv


# Collects the texts of the research view's "writing" block each time the detail changes.
RECORD_WRITING = """() => {
  window.__written = [];
  const detail = document.querySelector("#research-detail");
  new MutationObserver(() => {
    const stream = document.querySelector("#research-stream");
    if (stream) window.__written.push(stream.textContent);
  }).observe(detail, { childList: true, characterData: true, subtree: true });
}"""


def slow_answer() -> Stream:
    return Stream(list(PIECES), delay=0.5, first_delay=0.3)


async def new_prospect(server: Server, account: Account) -> dict[str, str]:
    made: dict[str, str] = await api(
        server.url, account, "POST", "/api/prospects", json={"name": "Wile E. Coyote", "company": "Acme"}
    )
    return made


async def assert_streamed(page: Page) -> None:
    shown: list[str] = await page.evaluate("window.__shown")
    partial = [text for text in shown if text and ANSWER.startswith(text) and text != ANSWER]
    assert partial, shown  # the draft appeared before it was whole
    assert all(len(a) <= len(b) for a, b in itertools.pairwise(partial))


async def test_draft_with_ai_from_a_prospect_streams_and_links_to_the_saved_draft(
    server: Server, provider: LLMProvider, page: Page
) -> None:
    errors = PageErrors(page)
    provider.script(slow_answer())
    account = await sign_up_in_page(page, server.url)
    prospect = await new_prospect(server, account)
    await page.click("nav a[data-view=prospects]")
    row = page.locator(f"tr[data-id='{prospect['id']}']")
    await row.locator("button[data-action=draft]").click()
    await page.select_option("#prospect-draft-channel", "linkedin")
    await page.select_option("#prospect-draft-tone", "friendly")
    await page.select_option("#prospect-draft-length", "short")
    await page.evaluate(RECORD_STREAM, "#prospect-draft-stream")
    await page.click("#prospect-draft-submit")

    await page.wait_for_selector("#prospect-draft-link", timeout=30_000)
    await wait_until(page, f"document.querySelector('#prospect-draft-stream').textContent === {ANSWER!r}")
    await assert_streamed(page)
    await assert_no_xss(page)
    asked = provider.received()[-1]
    assert "Tone: friendly" in asked.message("system")
    assert '"name":"Wile E. Coyote"' in asked.message("user")

    await page.click("#prospect-draft-link")
    opened = page.locator("#outreach-list .outreach-item.is-open")
    await opened.wait_for()
    assert await opened.locator(".outreach-body").text_content() == ANSWER.strip()
    assert "linkedin" in (await opened.locator(".outreach-meta").text_content() or "")
    messages = await api(server.url, account, "GET", "/api/outreach")
    assert [m["body"] for m in messages["items"]] == [ANSWER.strip()]
    assert errors.messages == []


async def test_draft_with_ai_in_the_outreach_view_adds_the_message_live(
    server: Server, provider: LLMProvider, page: Page
) -> None:
    errors = PageErrors(page)
    provider.script(Stream(["Subject: Skates\n\n", "Hello Wile, ", "about the skates."], delay=0.5))
    account = await sign_up_in_page(page, server.url)
    prospect = await new_prospect(server, account)
    await page.click("nav a[data-view=outreach]")
    await page.wait_for_selector(
        f"#outreach-draft-prospect option[value='{prospect['id']}']", state="attached"
    )
    await page.select_option("#outreach-draft-prospect", prospect["id"])
    await page.evaluate(RECORD_STREAM, "#outreach-draft-stream")
    await page.click("#outreach-draft-submit")
    item = page.locator("#outreach-list .outreach-item").first
    await item.wait_for(timeout=30_000)
    assert await item.locator(".outreach-subject").text_content() == "Skates"
    assert await item.locator(".outreach-body").text_content() == "Hello Wile, about the skates."
    await page.wait_for_selector("#outreach-draft-link")
    shown: list[str] = await page.evaluate("window.__shown")
    assert any(text.startswith("Subject: Skates") and "about the skates." not in text for text in shown), (
        shown
    )

    # The drafting task is a task like any other in the research view, with a link to its draft.
    await page.click("nav a[data-view=research]")
    await page.locator("#research-tasks .task button[data-action=open]").first.click()
    await page.wait_for_selector("#research-output")
    assert errors.messages == []


async def test_a_failed_draft_says_why(server: Server, provider: LLMProvider, page: Page) -> None:
    provider.script(*[Fail(400, {"error": {"message": "model overloaded with skates"}})] * 3)
    account = await sign_up_in_page(page, server.url)
    prospect = await new_prospect(server, account)
    await page.click("nav a[data-view=prospects]")
    await page.locator(f"tr[data-id='{prospect['id']}'] button[data-action=draft]").click()
    await page.click("#prospect-draft-submit")
    alert = page.locator("#prospect-draft-result .error-box")
    await alert.wait_for(timeout=30_000)
    assert "model overloaded with skates" in (await alert.text_content() or "")
    assert (await api(server.url, account, "GET", "/api/outreach"))["items"] == []


async def test_the_research_view_shows_the_insight_as_it_is_written(
    server: Server, provider: LLMProvider, page: Page
) -> None:
    errors = PageErrors(page)
    with local_site() as site:
        site.page(
            "/about",
            "<html><head><title>Acme</title></head><body><p>Acme makes rocket skates.</p></body></html>",
        )
        url = site.url("/about")
        insight = {
            "summary": f"Acme sells rocket skates {HOSTILE[1]} to road runners.",
            "key_findings": [{"text": "A new skate line.", "source_url": url}],
            "pain_points": [{"text": "Brakes wear out.", "source_url": url}],
            "opportunities": [{"text": "Hiring a safety lead.", "source_url": url}],
            "suggested_angle": "Ask about brakes.",
            "fit_score": 80,
            "fit_rationale": "Clear pain.",
        }
        provider.script(Stream.json(insight, pieces=5, delay=0.5))
        await sign_up_in_page(page, server.url)
        await page.click("nav a[data-view=research]")
        await page.fill("#research-title", "Acme with the model")
        await page.fill("#research-urls", url)
        await page.select_option("#research-engine", "llm")
        await page.evaluate(RECORD_WRITING)
        await page.click("#research-form button[type=submit]")
        summary = page.locator("#research-insight .insight-summary")
        await summary.wait_for(timeout=30_000)
        assert await summary.text_content() == insight["summary"]
    written: list[str] = await page.evaluate("window.__written")
    # The answer's text appeared piece by piece before the structured insight replaced it.
    assert any('"summary"' in text for text in written), written
    assert len(set(written)) >= 2, written
    await assert_no_xss(page)
    assert errors.messages == []
