"""The runner's live text ticks: at most five a second per run, the newest held-back text sent."""

from __future__ import annotations

import asyncio
import itertools
import uuid

from aiclone.events.broker import MemoryBroker
from aiclone.events.types import Ephemeral
from aiclone.research.engines.base import EngineRegistry
from aiclone.research.models import SourceType, TaskKind
from aiclone.research.queue import Claim
from aiclone.research.runner import ResearchRunner, _Run
from aiclone.research.ticks import TEXT_TICKS_PER_SECOND


async def test_a_burst_of_text_becomes_a_few_ticks_ending_with_the_newest_text() -> None:
    broker = MemoryBroker(queue_size=1000)
    runner = ResearchRunner(None, broker, EngineRegistry())  # type: ignore[arg-type] # ticks only
    user = uuid.uuid4()
    claim = Claim(
        task_id=uuid.uuid4(),
        user_id=user,
        attempt=1,
        worker_id="w",
        title="t",
        input_source="s",
        source_type=SourceType.KEYWORDS,
        engine="llm",
        prospect_id=None,
        kind=TaskKind.CONTENT_DRAFT,
    )
    hold = asyncio.get_running_loop().create_future()
    runner._runs[claim.task_id] = _Run(claim=claim, task=asyncio.ensure_future(hold))
    subscription = broker.subscribe(user)
    loop = asyncio.get_running_loop()
    started = loop.time()
    text = ""
    for i in range(60):  # 60 pieces in about 0.6 s
        text += f"w{i} "
        await runner._tick(claim, 10, "writing", text)
        await asyncio.sleep(0.01)
    sent: list[str] = []
    async with asyncio.timeout(30):  # the held-back newest text goes out, however busy the loop
        while not sent or sent[-1] != text:
            message = await subscription.queue.get()
            assert isinstance(message, Ephemeral)
            sent.append(message.data["text"])
    elapsed = loop.time() - started
    assert sent[-1] == text  # nothing of the end is lost
    assert len(sent) <= elapsed * TEXT_TICKS_PER_SECOND + 1, (len(sent), elapsed)
    assert len(sent) >= 2
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(sent))
    hold.cancel()
