"""The drafting worker: one language-model call per task, streamed to the owner, landed as a draft.

Runs inside the research runner (:class:`aiclone.research.runner.ResearchRunner`), which gives it
claims, leases, cancellation, the task timeout and the live ticks. :meth:`LLMDrafter.draft`
builds the prompt (the prospect, its latest research insight), streams the answer as ephemeral
``task_update`` ticks carrying the text so far, and counts the call's tokens as soon as it ends.
:meth:`LLMDrafter.land` then writes the outreach draft or content item through the owning
domain's own session-level function, inside the transaction that marks the task done, so the
draft, its events (``outreach_updated`` + ``prospect_updated``, or ``content_updated``) and the
task's ``done`` commit together or not at all. A provider failure fails the task with the
provider's reason and writes no draft.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.content.schemas import ContentCreate
from aiclone.content.service import create_content
from aiclone.drafting import prompts
from aiclone.errors import NotFound
from aiclone.events.log import EventLog
from aiclone.llm import ChatMessage, LLMClient, LLMError, TextProgress
from aiclone.outreach.schemas import OutreachCreate
from aiclone.outreach.service import create_draft
from aiclone.prospects.service import ProspectService
from aiclone.research.engines.base import DraftResult, EngineError, ProgressReporter, ResearchJob
from aiclone.research.models import ResearchTask, TaskKind
from aiclone.research.service import ResearchService

MAX_OUTREACH_BODY = 20_000
MAX_CONTENT_BODY = 50_000
MAX_HEADING = 300
# Characters written per output token, to turn the text so far into a progress estimate.
CHARS_PER_TOKEN = 4
DRAFT_TAG = "ai-draft"


class LLMDrafter:
    def __init__(
        self,
        client: LLMClient,
        events: EventLog,
        prospects: ProspectService,
        research: ResearchService,
        *,
        max_output_tokens: int,
    ) -> None:
        self.client = client
        self.events = events
        self.prospects = prospects
        self.research = research
        self.max_output_tokens = max_output_tokens

    async def _outreach_prompt(self, job: ResearchJob) -> list[ChatMessage]:
        if job.prospect_id is None:
            raise EngineError("The draft has no prospect.")
        try:
            prospect = await self.prospects.get(job.user_id, job.prospect_id)
        except NotFound:
            raise EngineError("The prospect was deleted before its draft was written.") from None
        insight = await self.research.latest_insight(job.user_id, job.prospect_id)
        return prompts.outreach_messages(
            prospect,
            insight,
            channel=str(job.params["channel"]),
            tone=str(job.params["tone"]),
            length=str(job.params["length"]),
        )

    def _limit(self, job: ResearchJob) -> int:
        table = prompts.LENGTHS if job.kind == TaskKind.OUTREACH_DRAFT else prompts.CONTENT_LENGTHS
        return min(table[str(job.params.get("length", "medium"))][1], self.max_output_tokens)

    async def draft(self, job: ResearchJob, progress: ProgressReporter) -> DraftResult:
        if job.kind == TaskKind.OUTREACH_DRAFT:
            messages = await self._outreach_prompt(job)
            purpose = "outreach"
        else:
            messages = prompts.content_messages(
                topic=str(job.params["topic"]),
                format=str(job.params["format"]),
                tone=str(job.params["tone"]),
                length=str(job.params["length"]),
            )
            purpose = "content"
        limit = self._limit(job)
        await progress(5, "writing the draft")
        shown = 5

        async def on_text(update: TextProgress) -> None:
            nonlocal shown
            # Never backwards, even when a retried attempt starts its text over.
            shown = max(shown, min(95, 5 + len(update.text) * 90 // (limit * CHARS_PER_TOKEN)))
            await progress(shown, "writing the draft", text=update.text)

        try:
            completion = await self.client.complete(
                messages, max_tokens=limit, on_text=on_text, purpose=purpose
            )
        except LLMError as exc:
            raise EngineError(f"The language model could not write the draft: {exc}") from None
        if job.usage is not None:
            await job.usage(completion.usage.input_tokens, completion.usage.output_tokens)
        return self._result(job, completion.text)

    @staticmethod
    def _result(job: ResearchJob, text: str) -> DraftResult:
        outreach = job.kind == TaskKind.OUTREACH_DRAFT
        heading, body = prompts.split_heading(text, "Subject" if outreach else "Title")
        if not body:
            raise EngineError("The language model returned an empty draft.")
        if outreach and job.params.get("channel") != "email":
            heading = None
        return DraftResult(
            body=body[: MAX_OUTREACH_BODY if outreach else MAX_CONTENT_BODY],
            heading=None if heading is None else heading[:MAX_HEADING],
        )

    async def land(self, session: AsyncSession, task: ResearchTask, draft: DraftResult) -> uuid.UUID:
        params: dict[str, Any] = task.params or {}
        if task.kind == TaskKind.OUTREACH_DRAFT.value:
            if task.prospect_id is None:
                raise NotFound("The prospect does not exist.")
            message = await create_draft(
                self.events,
                session,
                task.user_id,
                OutreachCreate(
                    prospect_id=task.prospect_id,
                    channel=params.get("channel", "email"),
                    subject=draft.heading,
                    body=draft.body,
                ),
            )
            return message.id
        title = (draft.heading or str(params.get("topic") or "Draft")).strip()[:MAX_HEADING]
        item = await create_content(
            self.events,
            session,
            task.user_id,
            ContentCreate(
                title=title, body=draft.body, channel=params.get("format", "other"), tags=[DRAFT_TAG]
            ),
        )
        return item.id
