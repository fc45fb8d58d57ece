"""The built-in ``web`` engine: reads the pages a task lists and reports what they say.

Fetching is defensive, since the URLs come from users:

* only http(s); every connection goes through :mod:`aiclone.netguard` (private and internal
  addresses refused unless ``AICLONE_RESEARCH_ALLOW_PRIVATE``), redirects are followed by hand,
  at most ``AICLONE_RESEARCH_MAX_REDIRECTS``, each target checked like the first URL;
* one deadline per URL, redirects included (``AICLONE_RESEARCH_FETCH_TIMEOUT_SECONDS``, also
  the connect and read timeouts), so a server that drips bytes cannot hold a task;
* only HTML (``text/html``, ``application/xhtml+xml``) is read; the body is streamed and the
  fetch aborted as soon as it passes ``AICLONE_RESEARCH_MAX_RESPONSE_BYTES``, on the wire or
  decoded: gzip and deflate are undone here in bounded steps as the bytes arrive
  (:mod:`~aiclone.research.engines.decoding`), so a compression bomb costs no more memory
  than the limit; other encodings are refused;
* parsing runs in a thread, off the event loop.

Up to three URLs of a task are fetched at once; progress is reported after each. The task
fails when no URL could be read; otherwise the insight lists every URL with its own status.
``keywords`` and ``profile`` tasks fail: this engine does not search the web, it reads URLs.
"""

from __future__ import annotations

import asyncio
import codecs
import re
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpcore
import httpx
import msgspec

from aiclone.netguard import ForbiddenAddress, Resolver, guarded_client
from aiclone.research.engines.base import EngineError, ProgressReporter, ResearchJob
from aiclone.research.engines.decoding import ACCEPT_ENCODING, DecodingError, decoded_chunks
from aiclone.research.engines.page import PageFacts, parse_page
from aiclone.research.engines.phrases import OPPORTUNITY_CUES, PAIN_CUES, cue_sentences, key_phrases
from aiclone.research.models import SourceType
from aiclone.research.schemas import Insight, SourceReport
from aiclone.research.sources import split_urls, url_problem
from aiclone.settings import ResearchSettings

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
FETCH_CONCURRENCY = 3
# research_completed carries the insight; keep it far below the event payload limit.
INSIGHT_BUDGET_BYTES = 64 * 1024
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]{1,40})""", re.I)


class FetchError(Exception):
    """One URL could not be read; the message goes into that source's report."""


@dataclass(frozen=True)
class WebEngineConfig:
    allow_private: bool = False
    fetch_timeout: float = 10.0
    max_response_bytes: int = 2 * 1024 * 1024
    max_redirects: int = 5
    max_urls: int = 20
    user_agent: str = "aiclone-research/1.0 (+https://aiclone.dev/bot)"

    @classmethod
    def from_settings(cls, research: ResearchSettings) -> WebEngineConfig:
        return cls(
            research.allow_private,
            research.fetch_timeout_seconds,
            research.max_response_bytes,
            research.max_redirects,
            research.max_urls,
        )


@dataclass(frozen=True)
class Fetched:
    url: str
    final_url: str
    status: int
    content_type: str
    html: str


def _charset(content_type: str, head: bytes) -> str:
    for candidate in (_param(content_type, "charset"), _meta_charset(head)):
        if candidate:
            try:
                return codecs.lookup(candidate).name
            except LookupError:
                continue
    return "utf-8"


def _param(content_type: str, name: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == name:
            return value.strip().strip("\"'") or None
    return None


def _meta_charset(head: bytes) -> str | None:
    match = _META_CHARSET.search(head[:4096])
    return match.group(1).decode("ascii") if match else None


class WebEngine:
    name = "web"
    source_types = frozenset({SourceType.URLS})

    def __init__(
        self,
        config: WebEngineConfig | None = None,
        *,
        resolver: Resolver | None = None,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.config = config or WebEngineConfig()
        self._resolver = resolver
        self._network_backend = network_backend
        self._ssl_context: ssl.SSLContext | None = None

    def client(self) -> httpx.AsyncClient:
        timeout = self.config.fetch_timeout
        if self._ssl_context is None:
            # Loading the CA bundle costs tens of milliseconds: once per engine, not per task.
            self._ssl_context = httpx.create_ssl_context()
        return guarded_client(
            ssl_context=self._ssl_context,
            allow_private=self.config.allow_private,
            resolver=self._resolver,
            network_backend=self._network_backend,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(
                max_connections=FETCH_CONCURRENCY, max_keepalive_connections=FETCH_CONCURRENCY
            ),
            headers={
                "User-Agent": self.config.user_agent,
                "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
                "Accept-Encoding": ACCEPT_ENCODING,
            },
        )

    async def research(self, job: ResearchJob, progress: ProgressReporter) -> Insight:
        if job.source_type != SourceType.URLS:
            raise EngineError(
                f"The web engine reads web pages and needs a list of URLs (source_type 'urls'); it does not"
                f" search the web, so a '{job.source_type.value}' task cannot run on it."
            )
        urls = split_urls(job.input_source)[: self.config.max_urls]
        if not urls:
            raise EngineError("The task lists no URLs to read.")
        reports: list[SourceReport | None] = [None] * len(urls)
        facts: list[PageFacts | None] = [None] * len(urls)
        done = 0
        gate = asyncio.Semaphore(FETCH_CONCURRENCY)

        async def visit(index: int, url: str, client: httpx.AsyncClient) -> None:
            nonlocal done
            async with gate:
                reports[index], facts[index] = await self.read(client, url)
            done += 1
            status = "read" if reports[index] and reports[index].status == "ok" else "could not read"  # type: ignore[union-attr]
            await progress(min(99, done * 100 // len(urls)), f"{status} {url} ({done}/{len(urls)})")

        async with self.client() as client, asyncio.TaskGroup() as group:
            for index, url in enumerate(urls):
                group.create_task(visit(index, url, client))
        final = [report for report in reports if report is not None]
        pages = [(report, page) for report, page in zip(final, facts, strict=True) if page is not None]
        if not pages:
            reasons = "; ".join(f"{report.url}: {report.error}" for report in final[:5])
            raise EngineError(f"None of the {len(final)} URL(s) could be read: {reasons}")
        return fit_insight(build_insight(final, pages), INSIGHT_BUDGET_BYTES)

    async def read(self, client: httpx.AsyncClient, url: str) -> tuple[SourceReport, PageFacts | None]:
        """Fetch and parse one URL; failures become a report with ``status='failed'``."""
        try:
            fetched = await self.fetch(client, url)
        except FetchError as exc:
            return SourceReport(url=url, status="failed", error=str(exc)), None
        page = await asyncio.to_thread(parse_page, fetched.html, fetched.final_url)
        phrases = key_phrases([page.title or "", *page.headings, *page.text_blocks], limit=10)
        report = SourceReport(
            url=url,
            status="ok",
            final_url=fetched.final_url,
            http_status=fetched.status,
            content_type=fetched.content_type,
            title=page.title,
            description=page.description,
            headings=page.headings,
            emails=page.emails,
            outbound_links=page.outbound_links,
            key_phrases=phrases,
        )
        return report, page

    async def fetch(self, client: httpx.AsyncClient, url: str) -> Fetched:
        limit = self.config.fetch_timeout
        try:
            async with asyncio.timeout(limit):
                return await self._follow(client, url)
        except TimeoutError:
            raise FetchError(f"timed out after {limit:g} s") from None
        except ForbiddenAddress as exc:
            raise FetchError(str(exc)) from None
        except httpx.TimeoutException:
            raise FetchError(f"timed out after {limit:g} s") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"request failed: {exc or type(exc).__name__}") from None

    async def _follow(self, client: httpx.AsyncClient, url: str) -> Fetched:
        current = url
        redirects = 0
        while True:
            problem = url_problem(current)
            if problem is not None:
                raise FetchError(
                    f"the URL {current[:200]} {problem}" if current != url else f"the URL {problem}"
                )
            async with client.stream("GET", current) as response:
                location = response.headers.get("location")
                if response.status_code in REDIRECT_CODES and location:
                    if redirects >= self.config.max_redirects:
                        raise FetchError(f"stopped after {self.config.max_redirects} redirects (the limit)")
                    redirects += 1
                    try:
                        current = str(response.url.join(location))
                    except (httpx.InvalidURL, ValueError):
                        raise FetchError(
                            f"the redirect target {location[:200]!r} is not a valid URL"
                        ) from None
                    continue
                return await self._read_body(url, response)

    async def _read_body(self, url: str, response: httpx.Response) -> Fetched:
        if response.status_code >= 400:
            raise FetchError(f"the server answered HTTP {response.status_code}")
        if not 200 <= response.status_code < 300:
            raise FetchError(f"unexpected HTTP {response.status_code}")
        content_type = response.headers.get("content-type", "")
        mime = content_type.split(";", 1)[0].strip().lower()
        if mime not in HTML_TYPES:
            raise FetchError(f"the content type is {mime or 'missing'}; only HTML pages are read")
        cap = self.config.max_response_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError(f"the page is {int(declared)} bytes; the limit is {cap} bytes")
        body = bytearray()
        received = 0

        async def wire() -> AsyncIterator[bytes]:
            nonlocal received
            async for chunk in response.aiter_raw():
                received += len(chunk)
                if received > cap:  # compressed or not, no page needs more than the limit
                    raise FetchError(f"the page is larger than the limit of {cap} bytes")
                yield chunk

        try:
            async for piece in decoded_chunks(wire(), response.headers.get("content-encoding", "")):
                body += piece
                if len(body) > cap:
                    raise FetchError(f"the page is larger than the limit of {cap} bytes")
        except DecodingError as exc:
            raise FetchError(str(exc)) from None
        raw = bytes(body)
        html = raw.decode(_charset(content_type, raw), errors="replace")
        return Fetched(url, str(response.url), response.status_code, mime, html)


def _host(url: str) -> str:
    try:
        return httpx.URL(url).host or url
    except (httpx.InvalidURL, ValueError):
        return url


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def build_insight(reports: list[SourceReport], pages: list[tuple[SourceReport, PageFacts]]) -> Insight:
    texts = [text for _, page in pages for text in (page.title or "", *page.headings, *page.text_blocks)]
    themes = key_phrases(texts, limit=8)
    emails = list(dict.fromkeys(email for report, _ in pages for email in report.emails))
    links = list(dict.fromkeys(link for report, _ in pages for link in report.outbound_links))
    body_texts = [text for _, page in pages for text in page.text_blocks]
    pain_points = cue_sentences(body_texts, PAIN_CUES)
    opportunities = cue_sentences(body_texts, OPPORTUNITY_CUES)

    lead, _ = pages[0]
    name = lead.title or _host(lead.final_url or lead.url)
    summary = [f"Read {len(pages)} of {len(reports)} page(s)."]
    summary.append(f'Main page: "{name}"' + (f" — {lead.description}" if lead.description else "") + ".")
    if themes:
        summary.append(f"Recurring themes: {', '.join(themes[:5])}.")
    summary.append(f"Found {len(emails)} contact email(s) and {len(links)} outbound link(s).")

    findings: list[str] = []
    for report, page in pages:
        host = _host(report.final_url or report.url)
        line = f"{host}: {page.title or 'untitled page'}"
        if page.description:
            line += f" — {page.description}"
        findings.append(_shorten(line, 400))
        if page.headings:
            findings.append(_shorten(f"Headings on {host}: " + "; ".join(page.headings[:6]), 400))
    if emails:
        findings.append(_shorten("Contact emails: " + ", ".join(emails[:10]), 400))
    if themes:
        findings.append("Key phrases: " + ", ".join(themes))
    findings.extend(
        _shorten(f"Could not read {report.url}: {report.error}", 400)
        for report in reports
        if report.status == "failed"
    )

    outreach = f"Open with what {name} puts first"
    if themes:
        outreach += f" ({', '.join(themes[:2])})"
    if pain_points:
        outreach += f", and ask how they handle what they describe here: “{_shorten(pain_points[0], 160)}”"
    elif opportunities:
        outreach += f", and connect it to their news: “{_shorten(opportunities[0], 160)}”"
    outreach += (
        f". Write to {emails[0]}."
        if emails
        else ". No contact email was published; use the site's contact page."
    )

    return Insight(
        summary=_shorten(" ".join(summary), 1200),
        key_findings=findings,
        pain_points=pain_points,
        opportunities=opportunities,
        suggested_outreach=outreach,
        sources=reports,
    )


def fit_insight(insight: Insight, max_bytes: int) -> Insight:
    """Trim the per-source lists (links first, then headings) until the insight fits ``max_bytes``."""
    for links, headings in ((50, 30), (20, 15), (10, 8), (3, 3), (0, 0)):
        if len(msgspec.json.encode(insight)) <= max_bytes:
            return insight
        sources = [
            msgspec.structs.replace(
                s, outbound_links=s.outbound_links[:links], headings=s.headings[:headings]
            )
            for s in insight.sources
        ]
        insight = msgspec.structs.replace(insight, sources=sources)
    if len(msgspec.json.encode(insight)) > max_bytes:
        insight = msgspec.structs.replace(
            insight, key_findings=insight.key_findings[:20], sources=insight.sources[:20]
        )
    return insight
