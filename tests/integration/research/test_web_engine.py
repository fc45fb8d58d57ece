"""The web engine against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import msgspec
import pytest

from aiclone.research.engines.base import EngineError, ResearchJob
from aiclone.research.engines.page import parse_page
from aiclone.research.engines.phrases import key_phrases
from aiclone.research.engines.web import WebEngine, WebEngineConfig, fit_insight
from aiclone.research.models import SourceType
from aiclone.research.schemas import Insight, SourceReport
from tests.support.localweb import LocalSite, LoopbackNetwork, local_site

ACME = """<!doctype html>
<html><head>
<title>Acme Robotics — Warehouse automation</title>
<meta name="description" content="Acme builds warehouse robots for mid-size retailers.">
<style>.x { color: red } body { font: 12px }</style>
<script>var hidden = "script@example.com";</script>
</head><body>
<h1>Warehouse automation for retailers</h1>
<h2>Why warehouse robots</h2>
<p>Manual picking is slow and costly for growing retailers. Warehouse automation cuts picking time.</p>
<h3>Customers</h3>
<p>Our warehouse robots run in forty sites. Warehouse automation pays back in a year.</p>
<p>We are hiring robotics engineers for our new office in Lyon.</p>
<p>Write to sales@acme-robotics.test or see our logo@2x.png asset.</p>
<a href="mailto:Press@Acme-Robotics.test?subject=Hello">Press</a>
<a href="/about">About</a>
<a href="https://partner.example.org/case-study#top">Case study</a>
<a href="http://news.example.net/acme">News</a>
<a href="javascript:alert(1)">x</a>
</body></html>"""


def job(*urls: str, source_type: SourceType = SourceType.URLS, text: str | None = None) -> ResearchJob:
    return ResearchJob(
        task_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        title="t",
        input_source=text if text is not None else "\n".join(urls),
        source_type=source_type,
    )


class Ticks:
    def __init__(self) -> None:
        self.seen: list[tuple[int, str]] = []

    async def __call__(self, percent: int, message: str) -> None:
        self.seen.append((percent, message))


def engine(**overrides: object) -> WebEngine:
    values: dict[str, object] = {"allow_private": True, "fetch_timeout": 5.0}
    values.update(overrides)
    return WebEngine(WebEngineConfig(**values))  # type: ignore[arg-type]


@pytest.fixture
def site() -> Iterator[LocalSite]:
    with local_site() as running:
        running.page("/acme", ACME)
        running.page(
            "/plain", "<html><head><title>Plain page</title></head><body><p>Hello.</p></body></html>"
        )
        yield running


def source(insight: Insight, url: str) -> SourceReport:
    return next(s for s in insight.sources if s.url == url)


async def test_extracts_page_facts_into_the_insight(site: LocalSite) -> None:
    ticks = Ticks()
    insight = await engine().research(job(site.url("/acme"), site.url("/plain")), ticks)
    acme = source(insight, site.url("/acme"))
    assert acme.status == "ok"
    assert acme.http_status == 200
    assert acme.title == "Acme Robotics — Warehouse automation"
    assert acme.description == "Acme builds warehouse robots for mid-size retailers."
    assert acme.headings == ["Warehouse automation for retailers", "Why warehouse robots", "Customers"]
    # mailto (lower-cased, query dropped) and text; script contents and asset names are not emails.
    assert sorted(acme.emails) == ["press@acme-robotics.test", "sales@acme-robotics.test"]
    # Outbound only: other hosts, fragments dropped; same-site links left out.
    assert acme.outbound_links == ["https://partner.example.org/case-study", "http://news.example.net/acme"]
    assert acme.key_phrases[0] == "warehouse automation"
    assert "warehouse robots" in acme.key_phrases
    assert source(insight, site.url("/plain")).title == "Plain page"
    assert "Read 2 of 2 page(s)." in insight.summary
    assert "Acme Robotics" in insight.summary
    assert any("Contact emails: " in finding for finding in insight.key_findings)
    assert any("slow and costly" in point for point in insight.pain_points)
    assert any("hiring" in point for point in insight.opportunities)
    assert insight.suggested_outreach is not None
    assert "sales@acme-robotics.test" in insight.suggested_outreach or "press@" in insight.suggested_outreach
    # One progress tick per URL, ending below 100 (100 is the persisted "done").
    assert [p for p, _ in ticks.seen] == [50, 99]
    assert all("(1/2)" in m or "(2/2)" in m for _, m in ticks.seen)


async def test_redirects_within_the_limit_are_followed(site: LocalSite) -> None:
    site.redirect("/r1", "/r2", status=301)
    site.redirect("/r2", site.url("/acme"), status=307)
    insight = await engine(max_redirects=2).research(job(site.url("/r1")), Ticks())
    report = insight.sources[0]
    assert report.status == "ok"
    assert report.final_url == site.url("/acme")
    assert site.hits["/acme"] == 1


async def test_a_redirect_chain_beyond_the_limit_fails_that_url(site: LocalSite) -> None:
    for i in range(1, 8):
        site.redirect(f"/loop{i}", f"/loop{i + 1}")
    insight = await engine(max_redirects=5).research(job(site.url("/loop1"), site.url("/plain")), Ticks())
    report = source(insight, site.url("/loop1"))
    assert report.status == "failed"
    assert report.error == "stopped after 5 redirects (the limit)"
    assert site.hits["/loop6"] == 1
    assert site.hits["/loop7"] == 0
    assert "Could not read" in " ".join(insight.key_findings)


async def test_redirect_to_a_forbidden_address_is_checked_again(site: LocalSite) -> None:
    """The first hop is a "public" host (served locally by the test network); its redirect to
    127.0.0.1 is refused by the guard, so the internal page is never requested."""
    site.redirect("/start", site.url("/internal"))
    site.redirect("/to-file", "file:///etc/passwd")
    site.page("/internal", "<title>secret</title>")

    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34"]

    network = LoopbackNetwork({"93.184.216.34": "127.0.0.1"})
    web = WebEngine(WebEngineConfig(allow_private=False), resolver=resolver, network_backend=network)
    with pytest.raises(EngineError, match="None of the 2 URL"):
        await web.research(
            job(f"http://public.test:{site.port}/start", f"http://public.test:{site.port}/to-file"), Ticks()
        )
    assert site.hits["/start"] == 1
    assert site.hits["/to-file"] == 1
    assert site.hits["/internal"] == 0
    reports = {}
    async with web.client() as client:
        for path in ("/start", "/to-file"):
            reports[path], _ = await web.read(client, f"http://public.test:{site.port}{path}")
    assert "refused to connect to 127.0.0.1" in str(reports["/start"].error)
    assert "loopback" in str(reports["/start"].error)
    assert "must start with http" in str(reports["/to-file"].error)
    assert site.hits["/internal"] == 0


async def test_private_addresses_are_refused_by_default(site: LocalSite) -> None:
    with pytest.raises(EngineError, match="loopback"):
        await engine(allow_private=False).research(job(site.url("/acme")), Ticks())
    assert site.hits["/acme"] == 0


async def test_declared_oversized_body_is_refused_before_reading(site: LocalSite) -> None:
    site.big("/declared", 5_000_000, declare_length=True)
    report = (
        await engine(max_response_bytes=100_000).research(
            job(site.url("/declared"), site.url("/plain")), Ticks()
        )
    ).sources[0]
    assert report.status == "failed"
    assert report.error == "the page is 5000000 bytes; the limit is 100000 bytes"


async def test_undeclared_oversized_body_is_aborted_while_streaming(site: LocalSite) -> None:
    site.big("/stream", 50_000_000, declare_length=False)
    insight = await engine(max_response_bytes=100_000).research(
        job(site.url("/stream"), site.url("/plain")), Ticks()
    )
    report = source(insight, site.url("/stream"))
    assert report.status == "failed"
    assert report.error == "the page is larger than the limit of 100000 bytes"
    # The server could not finish writing 50 MB: the client hung up early.
    for _ in range(100):
        if "/stream" in site.aborted:
            break
        await asyncio.sleep(0.05)
    assert "/stream" in site.aborted


async def test_slow_server_hits_the_timeout(site: LocalSite) -> None:
    site.slow("/slow", "<title>late</title>", delay=30)
    site.drip("/drip", seconds=30, interval=0.05)
    insight = await engine(fetch_timeout=0.5).research(
        job(site.url("/slow"), site.url("/drip"), site.url("/plain")), Ticks()
    )
    assert source(insight, site.url("/slow")).error == "timed out after 0.5 s"
    # Bytes keep coming, so no read times out; the per-URL deadline still ends it.
    assert source(insight, site.url("/drip")).error == "timed out after 0.5 s"
    assert source(insight, site.url("/plain")).status == "ok"


async def test_non_html_content_is_not_read(site: LocalSite) -> None:
    site.page("/data.json", '{"a": 1}', content_type="application/json")
    site.page("/file.pdf", b"%PDF-1.4", content_type="application/pdf")
    site.page("/missing", "nope", status=404)
    insight = await engine().research(
        job(site.url("/data.json"), site.url("/file.pdf"), site.url("/missing"), site.url("/plain")), Ticks()
    )
    assert (
        source(insight, site.url("/data.json")).error
        == "the content type is application/json; only HTML pages are read"
    )
    assert (
        source(insight, site.url("/file.pdf")).error
        == "the content type is application/pdf; only HTML pages are read"
    )
    assert source(insight, site.url("/missing")).error == "the server answered HTTP 404"
    assert "Read 1 of 4 page(s)." in insight.summary


async def test_the_task_fails_when_no_url_can_be_read(site: LocalSite) -> None:
    site.page("/data.json", "{}", content_type="application/json")
    with pytest.raises(
        EngineError, match=r"None of the 2 URL\(s\) could be read: .*data.json: the content type"
    ):
        await engine().research(job(site.url("/data.json"), site.url("/nothing-here")), Ticks())


@pytest.mark.parametrize("kind", [SourceType.KEYWORDS, SourceType.PROFILE])
async def test_keywords_and_profiles_need_urls(kind: SourceType) -> None:
    with pytest.raises(EngineError, match="needs a list of URLs"):
        await engine().research(job(source_type=kind, text="warehouse robots lyon"), Ticks())


async def test_charset_is_taken_from_the_page(site: LocalSite) -> None:
    body = '<html><head><meta charset="iso-8859-1"><title>Caf\xe9 M\xfcller</title></head></html>'
    site.page("/latin1", body.encode("latin-1"), content_type="text/html")
    insight = await engine().research(job(site.url("/latin1")), Ticks())
    assert insight.sources[0].title == "Café Müller"


def test_key_phrases_prefer_recurring_phrases_and_skip_stop_words() -> None:
    text = [
        "Customer data platform for retailers.",
        "The customer data platform unifies customer profiles.",
        "Our platform is fast. It is the best customer data platform.",
    ]
    phrases = key_phrases(text, limit=3)
    assert phrases[0] == "customer data platform"
    assert "the" not in " ".join(phrases).split()
    assert all(p not in ("customer", "data", "platform") for p in phrases)


def test_same_site_links_with_or_without_www_are_not_outbound() -> None:
    page = parse_page(
        '<a href="https://www.acme.test/jobs">j</a><a href="/about">a</a><a href="https://other.test/x">o</a>'
        '<base href="https://cdn.test/"><a href="rel">r</a>',
        "https://acme.test/",
    )
    # A <base> on another host makes relative links outbound.
    assert page.outbound_links == ["https://other.test/x", "https://cdn.test/rel"]


def test_parser_ignores_invisible_text_and_bounds_lists() -> None:
    links = "".join(f'<a href="https://site{i}.example.org/">x</a>' for i in range(200))
    page = parse_page(
        f"<title>T</title><noscript>no@script.test</noscript><template><h1>hidden</h1></template>{links}",
        "https://example.com/",
    )
    assert page.emails == []
    assert page.headings == []
    assert len(page.outbound_links) == 50


def test_insight_is_trimmed_to_its_budget() -> None:
    report = SourceReport(
        url="https://a.test/",
        status="ok",
        outbound_links=[f"https://l{i}.example.org/" + "p" * 400 for i in range(50)],
        headings=["h" * 200] * 30,
    )
    insight = Insight(summary="s", sources=[report] * 20)
    fitted = fit_insight(insight, 64 * 1024)
    assert len(msgspec.json.encode(fitted)) <= 64 * 1024
    assert len(fitted.sources) == 20
