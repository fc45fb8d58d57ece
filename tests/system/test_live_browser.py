"""A native ``EventSource`` in Chromium against a real server, with the network cut under it.

The page is the app's own (``/_test/blank`` of tests.support.live_harness), reached through a
:class:`~tests.support.live_support.CuttableProxy`, so the browser's own reconnect logic (not ours) is
what resumes the stream: it sends back the last ``id`` it saw as ``Last-Event-ID``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page

from tests.support.browser_support import browser_page, wait_until
from tests.support.live_support import Account, CuttableProxy, Server, sign_up

pytestmark = pytest.mark.slow

# Opens a same-origin stream authenticated by the stream cookie, and records what it sees.
OPEN_STREAM = """async (token) => {
  const cookie = await fetch("/api/events/cookie", {
    method: "POST", headers: { Authorization: "Bearer " + token },
  });
  if (!cookie.ok) throw new Error("cookie: " + cookie.status);
  window.connections = [];
  window.seqs = [];
  window.errors = 0;
  const source = new EventSource("/api/events");
  source.addEventListener("connection", (e) =>
    window.connections.push({ id: e.lastEventId, data: JSON.parse(e.data) }));
  source.addEventListener("activity", (e) => window.seqs.push(Number(e.lastEventId)));
  source.onerror = () => { window.errors += 1; };
  window.source = source;
}"""


@pytest.fixture(scope="module")
async def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    # A short reconnect delay; the proxy decides when the reconnect gets through anyway.
    srv = Server(database_url, tmp_path_factory.mktemp("live-browser"), sse_retry_ms=200)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def proxy(server: Server) -> AsyncIterator[CuttableProxy]:
    relay = await CuttableProxy(server.url).start()
    try:
        yield relay
    finally:
        await relay.close()


async def open_in_page(page: Page, proxy: CuttableProxy, user: Account) -> None:
    await page.goto(f"{proxy.url}/_test/blank")
    await page.evaluate(OPEN_STREAM, user.access_token)
    await wait_until(page, "window.connections.length === 1")


@pytest.mark.parametrize("history", ["new user", "earlier events"])
async def test_native_eventsource_cut_before_its_first_event_resumes_without_loss(
    server: Server, proxy: CuttableProxy, browser: Browser, request: pytest.FixtureRequest, history: str
) -> None:
    user = await sign_up(server.url)
    before = await server.write_events(user.id, 2) if history == "earlier events" else []
    async with browser_page(browser, request) as page:
        await open_in_page(page, proxy, user)
        assert await page.evaluate("window.seqs") == []

        proxy.hold()
        accepted = proxy.accepted
        assert proxy.cut() >= 1
        # The browser notices and reconnects by itself; its reconnect waits at the proxy.
        await wait_until(page, "window.errors >= 1 && window.source.readyState === EventSource.CONNECTING")
        await wait_until_parked(page, proxy, accepted)
        gap = await server.write_events(user.id, 3)  # committed while the stream is down
        proxy.release()

        await wait_until(page, f"window.seqs.length >= {len(gap)}")
        live = await server.write_events(user.id, 2)
        await wait_until(page, f"window.seqs.length >= {len(gap) + len(live)}")
        await page.wait_for_timeout(300)  # room for a duplicate to show up, were there one
        assert await page.evaluate("window.seqs") == gap + live
        connections = await page.evaluate("window.connections")
        assert len(connections) == 2
        # The reconnect carried the first connection frame's id as Last-Event-ID.
        assert connections[1]["data"]["resume_from"] == len(before)
        assert connections[0]["id"] == str(len(before))  # the resume point, from the first frame
        await page.evaluate("window.source.close()")


async def wait_until_parked(page: Page, proxy: CuttableProxy, accepted: int) -> None:
    """Until the reconnect has reached the proxy (and is held there)."""
    for _ in range(150):
        if proxy.parked >= 1 and proxy.accepted > accepted:
            return
        await page.wait_for_timeout(100)
    raise AssertionError("the browser never reconnected")
