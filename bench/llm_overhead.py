"""What the llm engine adds per task beyond the provider's own time.

A local OpenAI-compatible provider (tests/support/llm_provider.py) answers every request at once with
the same valid insight, streamed in 40 chunks, and a local site serves one page. Per round,
interleaved so a slow spell on a shared machine hits every variant alike:

* **bare**: one httpx ``AsyncClient`` POSTs the request body the engine sends and reads the
  stream to its end (the provider's own time plus the least any client pays);
* **client**: :meth:`aiclone.llm.LLMClient.complete` with the same messages and schema (SSE
  parsing, semaphore, breaker, metrics, the guarded transport);
* **fetch**: the web engine's guarded fetch and parse of the page alone (what any engine reading
  pages pays, the ``web`` engine included);
* **engine**: :meth:`LLMEngine.research` on a one-URL job (guarded page fetch and parse, token
  budget, prompt, the call, throttled progress, msgspec validation, claims check, insight).

Prints the median milliseconds per call of each, the differences against bare, and the engine's
own overhead: engine - fetch - bare.

    PYTHONPATH=src:. python bench/llm_overhead.py [--calls 50] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx
from tests.support.llm_provider import LLMProvider, Stream
from tests.support.localweb import local_site

from aiclone.llm import ApiKey, LLMClient, LLMConfig
from aiclone.metrics import Metrics
from aiclone.research.engines.base import ResearchJob
from aiclone.research.engines.llm import LLMEngine
from aiclone.research.engines.llm_answer import (
    ANSWER_SCHEMA,
    PageText,
    build_messages,
    cut_to_budget,
    page_text,
)
from aiclone.research.engines.page import parse_page
from aiclone.research.engines.web import WebEngine, WebEngineConfig
from aiclone.research.models import SourceType

PAGE = (
    "<html><head><title>Acme</title><meta name='description' content='Tools for builders.'></head><body>"
    + "<h2>Shipping</h2><p>Winter orders ship late; we are hiring a logistics lead.</p>" * 40
    + "</body></html>"
)


async def _progress(percent: int, message: str, *, text: str | None = None) -> None:  # noqa: ARG001
    return None


async def timed(call: Callable[[], Awaitable[object]], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        await call()
    return (time.perf_counter() - started) * 1000 / calls


async def main(calls: int, rounds: int) -> None:
    provider = LLMProvider()
    with local_site() as site:
        site.page("/acme", PAGE)
        url = site.url("/acme")
        answer = {
            "summary": "Acme sells tools to builders.",
            "key_findings": [{"text": "Hiring a logistics lead.", "source_url": url}],
            "pain_points": [{"text": "Winter orders ship late.", "source_url": url}],
            "opportunities": [{"text": "Growing team.", "source_url": url}],
            "suggested_angle": "Ask about winter shipping.",
            "fit_score": 70,
            "fit_rationale": "Visible logistics pain.",
        }
        provider.script(default=Stream.text(json.dumps(answer), pieces=40, usage=(900, 120)))
        config = LLMConfig(
            base_url=provider.base_url, api_key=ApiKey("sk-bench"), model="bench", allow_private=True
        )
        client = LLMClient(config, metrics=Metrics())
        engine = LLMEngine(client, WebEngine(WebEngineConfig(allow_private=True)))
        facts = parse_page(PAGE, url)
        messages = build_messages("Acme", cut_to_budget([PageText(url, page_text(facts))], 6000))
        body = client._body(messages, ANSWER_SCHEMA, None, None)  # the very bytes the client sends
        headers = client._headers()
        job = ResearchJob(
            task_id=uuid.uuid4(),
            user_id=uuid.uuid4(),
            title="Acme",
            input_source=url,
            source_type=SourceType.URLS,
        )

        async with httpx.AsyncClient(trust_env=False) as bare_http:

            async def bare() -> None:
                async with bare_http.stream("POST", config.url, content=body, headers=headers) as response:
                    # A refused call is not a baseline: stop rather than time it.
                    response.raise_for_status()
                    async for _ in response.aiter_raw():
                        pass

            async def via_client() -> None:
                await client.complete(messages, schema=ANSWER_SCHEMA)

            async def via_engine() -> None:
                await engine.research(job, _progress)

            async def fetch_only() -> None:
                async with engine.fetcher.client() as pages:
                    report, _ = await engine.fetcher.read(pages, url)
                if report.status != "ok":
                    raise SystemExit(f"the page fetch failed ({report.error}); no figure printed")

            variants = {"bare": bare, "client": via_client, "fetch": fetch_only, "engine": via_engine}
            for call in variants.values():  # warm up connections and caches
                await timed(call, 3)
            figures: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(rounds):
                for name, call in variants.items():
                    figures[name].append(await timed(call, calls))
        await client.aclose()
    provider.close()
    medians = {name: statistics.median(values) for name, values in figures.items()}
    base = medians["bare"]
    print(f"{calls} calls x {rounds} rounds, median ms per call")
    for name, value in medians.items():
        extra = "" if name == "bare" else f"  (+{value - base:.2f} ms over bare, x{value / base:.2f})"
        print(f"  {name:<7} {value:7.2f} ms{extra}")
    own = medians["engine"] - medians["fetch"] - base
    print(f"  engine overhead beyond the provider and the page fetch: {own:.2f} ms per task")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.rounds))
