"""Live progress ticks of a running task: ephemeral ``task_update`` messages, never persisted.

Ticks that carry text (an answer being written by a language model) are sent at most
:data:`TEXT_TICKS_PER_SECOND` times a second per run; the ones in between are dropped, since each
carries the whole text so far (its last :data:`TICK_TEXT_BYTES` bytes when longer).
"""

from __future__ import annotations

import msgspec

from aiclone.events.types import Ephemeral, EventType
from aiclone.research.models import TaskStatus
from aiclone.research.queue import Claim
from aiclone.research.schemas import TaskUpdateData

# Text carried by one live tick, in UTF-8 bytes: with JSON escaping and the other fields it stays
# under PostgreSQL's NOTIFY payload limit (8000 bytes).
TICK_TEXT_BYTES = 3000
TEXT_TICKS_PER_SECOND = 5


def tick_text(text: str, limit: int = TICK_TEXT_BYTES) -> tuple[str, int]:
    """``text``, or its last ``limit`` bytes when longer, and the number of characters left out."""
    raw = text.encode()
    if len(raw) <= limit:
        return text, 0
    tail = raw[-limit:].decode("utf-8", errors="ignore")  # a partial first character is dropped
    return tail, len(text) - len(tail)


def progress_tick(claim: Claim, percent: int, message: str, text: str | None) -> Ephemeral:
    """The live ``task_update`` of a running task at ``percent``, with the text so far if any."""
    data = TaskUpdateData(
        task_id=claim.task_id,
        status=TaskStatus.RUNNING,
        progress=percent,
        title=claim.title,
        engine=claim.engine,
        attempts=claim.attempt,
        detail=message[:300],
        ephemeral=True,
        kind=claim.kind,
    )
    if text is not None:
        data.text, data.text_offset = tick_text(text)
    return Ephemeral(claim.user_id, EventType.TASK_UPDATE.value, msgspec.to_builtins(data))
