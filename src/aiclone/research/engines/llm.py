"""The ``llm`` engine: the web engine's fetcher reads the pages, a language model writes the insight.

1. **Fetch** the task's URLs with :class:`~aiclone.research.engines.web.WebEngine` itself (same
   guard, redirects, size and time limits, ``AICLONE_RESEARCH_*``), three at a time, 0-30 %.
2. **Cut** the page text to the token budget and build the prompt
   (:mod:`~aiclone.research.engines.llm_answer`: page text is data, between nonce markers).
3. **Ask** the model through :class:`~aiclone.llm.LLMClient` for a JSON-schema answer. While it
   writes, ephemeral ``task_update`` ticks carry the text so far, at most five a second
   (:class:`~aiclone.llm.throttle.TextThrottle`), 30-95 %. The very end of the text may come
   only with the result: the throttle does not hold the task back to send it.
4. **Validate** with msgspec. An invalid answer gets one repair attempt (the validation error is
   sent back with the answer); a second invalid answer fails the task with that error.
5. **Return** the insight; the runner persists it with ``research_completed``. Tokens in and
   out (both calls together) are on ``insight.usage``.

Provider failures (breaker open, rate limits past the retries, timeouts) fail the task with the
client's message, which never carries the API key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import httpx
import msgspec

from aiclone.llm import ChatMessage, Completion, LLMClient, LLMError, TextProgress, Usage
from aiclone.llm.throttle import TextThrottle
from aiclone.research.engines.base import EngineError, EngineStatus, ProgressReporter, ResearchJob
from aiclone.research.engines.llm_answer import (
    ANSWER_SCHEMA,
    REPAIR_PROMPT,
    Answer,
    PageText,
    build_messages,
    cited_claims,
    cut_to_budget,
    page_text,
    parse_answer,
)
from aiclone.research.engines.page import PageFacts
from aiclone.research.engines.web import FETCH_CONCURRENCY, INSIGHT_BUDGET_BYTES, WebEngine, fit_insight
from aiclone.research.models import SourceType
from aiclone.research.schemas import Insight, InsightUsage, SourceReport
from aiclone.research.sources import split_urls

logger = logging.getLogger("aiclone.research.llm")

FETCH_SHARE = 30  # percent of the progress bar for reading pages
WRITE_END = 95
# An invalid answer is sent back for repair; this much of it is enough to show the mistake.
REPAIR_ECHO_CHARS = 8000


class LLMEngine:
    name = "llm"
    source_types = frozenset({SourceType.URLS})

    def __init__(
        self,
        client: LLMClient,
        fetcher: WebEngine,
        *,
        input_token_budget: int = 6000,
        tick_interval: float = 0.2,
    ) -> None:
        self.client = client
        self.fetcher = fetcher
        self.input_token_budget = input_token_budget
        self.tick_interval = tick_interval

    def status(self) -> EngineStatus:
        reason = self.client.config.unavailable_reason
        provider = self.client.status()
        return EngineStatus(self.name, reason is None, reason, provider_state=provider.breaker)

    async def research(self, job: ResearchJob, progress: ProgressReporter) -> Insight:
        reason = self.client.config.unavailable_reason
        if reason is not None:
            raise EngineError(f"The llm engine is unavailable: {reason}.")
        if job.source_type != SourceType.URLS:
            raise EngineError(
                "The llm engine reads web pages and needs a list of URLs (source_type 'urls');"
                f" a '{job.source_type.value}' task cannot run on it."
            )
        reports, pages = await self._fetch(job, progress)
        texts = cut_to_budget(
            [PageText(report.url, page_text(facts)) for report, facts in pages], self.input_token_budget
        )
        messages = build_messages(job.title, texts)
        answer, usage, calls, model = await self._ask(messages, progress)
        claims, dropped = cited_claims(answer, reports)
        if dropped:
            logger.info("research task %s: dropped %d claim(s) citing pages not read", job.task_id, dropped)
        insight = Insight(
            summary=answer.summary.strip(),
            key_findings=[c.text for c in claims if c.kind == "finding"],
            pain_points=[c.text for c in claims if c.kind == "pain_point"],
            opportunities=[c.text for c in claims if c.kind == "opportunity"],
            suggested_outreach=answer.suggested_angle.strip(),
            sources=reports,
            fit_score=answer.fit_score,
            fit_rationale=answer.fit_rationale.strip(),
            claims=claims,
            usage=InsightUsage(
                model=model,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                estimated=usage.estimated,
                calls=calls,
            ),
            dropped_claims=dropped,
        )
        return fit_insight(insight, INSIGHT_BUDGET_BYTES)

    async def _fetch(
        self, job: ResearchJob, progress: ProgressReporter
    ) -> tuple[list[SourceReport], list[tuple[SourceReport, PageFacts]]]:
        urls = split_urls(job.input_source)[: self.fetcher.config.max_urls]
        if not urls:
            raise EngineError("The task lists no URLs to read.")
        results: list[tuple[SourceReport, PageFacts | None] | None] = [None] * len(urls)
        gate = asyncio.Semaphore(FETCH_CONCURRENCY)
        done = 0

        async def visit(index: int, url: str, client: httpx.AsyncClient) -> None:
            nonlocal done
            async with gate:
                results[index] = await self.fetcher.read(client, url)
            done += 1
            word = "read" if results[index][1] is not None else "could not read"  # type: ignore[index]
            await progress(done * FETCH_SHARE // len(urls), f"{word} {url} ({done}/{len(urls)})")

        async with self.fetcher.client() as client, asyncio.TaskGroup() as group:
            for index, url in enumerate(urls):
                group.create_task(visit(index, url, client))
        reports = [result[0] for result in results if result is not None]
        pages = [
            (report, facts) for report, facts in (r for r in results if r is not None) if facts is not None
        ]
        if not pages:
            reasons = "; ".join(f"{report.url}: {report.error}" for report in reports[:5])
            raise EngineError(f"None of the {len(reports)} URL(s) could be read: {reasons}")
        return reports, pages

    async def _ask(
        self, messages: list[ChatMessage], progress: ProgressReporter
    ) -> tuple[Answer, Usage, int, str]:
        expected = max(1, self.client.config.max_output_tokens * 4)
        percent = FETCH_SHARE

        async def tick(text: str) -> None:
            nonlocal percent
            percent = max(
                percent, min(WRITE_END, FETCH_SHARE + len(text) * (WRITE_END - FETCH_SHARE) // expected)
            )
            await progress(percent, "the model is writing the insight", text=text)

        usage = Usage()
        first = await self._complete(messages, tick)
        usage = usage + first.usage
        try:
            return parse_answer(first.text), usage, 1, first.model
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            error = _short(str(exc))
        await progress(percent, f"the answer was not valid ({error}); asking the model to correct it")
        repair = [
            *messages,
            ChatMessage("assistant", first.text[:REPAIR_ECHO_CHARS]),
            ChatMessage("user", REPAIR_PROMPT.format(error=error)),
        ]
        second = await self._complete(repair, tick)
        usage = usage + second.usage
        try:
            return parse_answer(second.text), usage, 2, second.model
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise EngineError(
                "The model's answer did not match the insight schema, even after one repair attempt:"
                f" {_short(str(exc))}"
            ) from None

    async def _complete(
        self, messages: list[ChatMessage], tick: Callable[[str], Awaitable[None]]
    ) -> Completion:
        throttle = TextThrottle(tick, interval=self.tick_interval)

        async def on_text(progress: TextProgress) -> None:
            await throttle.update(progress.text)

        try:
            completion = await self.client.complete(
                messages, schema=ANSWER_SCHEMA, on_text=on_text, purpose="research"
            )
        except LLMError as exc:
            raise EngineError(f"The language model could not write the insight: {exc}") from None
        await throttle.flush()
        return completion


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
