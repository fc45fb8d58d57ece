"""Queueing drafting tasks: checks first (provider, prospect, budget), then one task row and its event.

A drafting task is a research task of another ``kind`` (``outreach_draft``, ``content_draft``),
so it reuses the queue, the runner, leases, retries, cancellation, the live ticks and the
``/api/research-tasks`` endpoints as they are; only what it writes differs (see
:mod:`aiclone.drafting.drafter`). Drafting tasks are queued at high priority: a user waits for
them in the dashboard.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass

import msgspec

from aiclone.drafting.schemas import ContentGenerate, OutreachGenerate
from aiclone.errors import FieldError, InvalidInput
from aiclone.prospects.service import ProspectService
from aiclone.research.models import SourceType, TaskKind
from aiclone.research.schemas import ResearchTaskRead
from aiclone.research.service import ResearchService


class ProviderNotConfigured(InvalidInput):
    slug = "llm-not-configured"
    title = "No language model provider"


@dataclass(eq=False)
class DraftingService:
    research: ResearchService
    prospects: ProspectService
    _: KW_ONLY
    # None when a provider is configured; else why drafting cannot run (shown in the 422).
    unavailable_reason: Callable[[], str | None]

    def _require_provider(self) -> None:
        reason = self.unavailable_reason()
        if reason is not None:
            raise ProviderNotConfigured(f"Drafting needs a language model, and {reason}.")

    async def outreach(self, owner: uuid.UUID, data: OutreachGenerate) -> ResearchTaskRead:
        self._require_provider()
        prospect = await self.prospects.get(owner, data.prospect_id)  # another user's: 404
        who = f"{prospect.name} ({prospect.company})" if prospect.company else prospect.name
        return await self.research.queue_draft(
            owner,
            kind=TaskKind.OUTREACH_DRAFT,
            title=f"Draft {data.channel} to {who}",
            input_source=who,
            source_type=SourceType.PROFILE,
            params=msgspec.to_builtins(data, str_keys=True),
            prospect_id=data.prospect_id,
        )

    async def content(self, owner: uuid.UUID, data: ContentGenerate) -> ResearchTaskRead:
        self._require_provider()
        topic = data.topic.strip()
        if not topic:
            raise InvalidInput(
                "The draft request is not valid.",
                errors=[FieldError(field="topic", message="may not be blank")],
            )
        return await self.research.queue_draft(
            owner,
            kind=TaskKind.CONTENT_DRAFT,
            title=f"Draft {data.format} post: {topic}",
            input_source=topic,
            source_type=SourceType.KEYWORDS,
            params={**msgspec.to_builtins(data, str_keys=True), "topic": topic},
        )
