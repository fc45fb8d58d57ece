"""Benchmark: how long one write blocks the event loop while the user's rules are evaluated.

The heavy case: 100 rules on ``content_updated``, each with 10 ``contains`` conditions on the
50 KB ``body``: nine hold and the tenth does not, so every condition is evaluated and no rule
fires. Content items are
updated one after another through the real service (SQLite by default, ``--postgres`` too),
while a ticker task on the same loop records the longest stretch between two of its wake-ups:
the longest time any other request on this process would have waited. Printed per write
(median and max of ``--writes``), with the same updates for a user without rules as the
baseline, and the cost of evaluating the rules alone (no database) for comparison.

    PYTHONPATH=src:. python bench/automation_eval.py [--writes 30] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec
from tests.conftest import PG_ADMIN_URL, create_pg_database, drop_pg_database, make_settings

from aiclone import migrate
from aiclone.automations import conditions as rule_conditions
from aiclone.automations.schemas import AutomationCreate, Condition, NotifyAction
from aiclone.container import Services
from aiclone.content.schemas import ContentCreate, ContentUpdate

RULES = 100
CONDITIONS = 10
BODY_CHARS = 50_000
WORDS = ["warehouse", "robot", "retail", "automation", "pick", "ship", "order", "stock", "lane", "crate"]
# Case folding costs ten times more once the text is not pure ASCII.
ACCENTED = ["entrepôt", "größe", "façade", "écoute", "naïve", "señal", "crème", "smörgås", "ørsted", "ǆungla"]
ALPHABETS = {"ascii": WORDS, "accented": ACCENTED}


def body(seed: int, words_of: list[str] = WORDS) -> str:
    rng = random.Random(seed)
    words: list[str] = []
    size = 0
    while size < BODY_CHARS:
        word = rng.choice(words_of)
        words.append(word)
        size += len(word) + 1
    return " ".join(words)[:BODY_CHARS]


class Ticker:
    """Wakes up as often as the loop lets it and keeps the longest gap seen since ``reset``."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    def reset(self) -> None:
        self.longest = 0.0

    async def _run(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last)
            last = now

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def _user(services: Services) -> uuid.UUID:
    user = await services.auth.register(
        email=f"bench-{uuid.uuid4().hex[:10]}@example.com",
        password="a long enough passphrase 42",
        full_name="B",
    )
    return user.id


def _rule(index: int, words_of: list[str]) -> AutomationCreate:
    # Nine conditions hold (words of the body, found at once), the tenth reads the whole text
    # and fails: every rule evaluates all ten conditions and none fires.
    values = [words_of[(index + j) % len(words_of)] for j in range(CONDITIONS - 1)] + [
        f"absent phrase {index}"
    ]
    return AutomationCreate(
        name=f"rule {index}",
        trigger_event="content_updated",
        conditions=[Condition(field="body", op="contains", value=value) for value in values],
        action=NotifyAction(title="never"),
    )


async def _writes(
    services: Services, user: uuid.UUID, ticker: Ticker, writes: int, words_of: list[str] = WORDS
) -> list[float]:
    item = await services.content.create(user, ContentCreate(title="bench", body=body(0, words_of)))
    blocks: list[float] = []
    for index in range(writes):
        text = body(index + 1, words_of)
        await asyncio.sleep(0.01)
        ticker.reset()
        await services.content.update(user, item.id, ContentUpdate(body=text))
        await asyncio.sleep(0)
        blocks.append(ticker.longest * 1000)
    return blocks


def _evaluation_ms(rules: list[AutomationCreate], data: dict[str, Any], repeat: int = 5) -> float:
    """Matching every rule against one event, as the hook does (one EventFacts per event)."""
    plain = [msgspec.to_builtins(rule.conditions) for rule in rules]
    facts_of = getattr(rule_conditions, "EventFacts", lambda data: data)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        facts = facts_of(data)
        for conditions in plain:
            rule_conditions.matches(conditions, facts)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def run(name: str, url: str, data_dir: Path, writes: int) -> None:
    await asyncio.to_thread(migrate.upgrade, url)
    services = Services(make_settings(url, data_dir))
    await services.start(run_workers=False)
    ticker = Ticker()
    try:
        plain = await _user(services)
        ticker.start()
        await _writes(services, plain, ticker, 3)  # warm-up
        baseline = await _writes(services, plain, ticker, writes)
        print(f"\n{name}: longest loop block per content update, ms (median / max of {writes})")
        print(f"  {'no rules':44} {statistics.median(baseline):7.2f} / {max(baseline):7.2f}")
        for alphabet, words_of in ALPHABETS.items():
            heavy = await _user(services)
            rules = [_rule(index, words_of) for index in range(RULES)]
            for rule in rules:
                await services.automations.create(heavy, rule)
            loaded = await _writes(services, heavy, ticker, writes, words_of)
            label = f"{RULES} rules x {CONDITIONS} contains, 50 KB {alphabet}"
            print(f"  {label:44} {statistics.median(loaded):7.2f} / {max(loaded):7.2f}")
            evaluation = _evaluation_ms(rules, {"body": body(1, words_of)})
            print(f"  {'  matching alone (no database, no yield)':44} {evaluation:7.2f}")
    finally:
        await ticker.stop()
        await services.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=30)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await run("sqlite", f"sqlite+aiosqlite:///{tmp}/bench.db", Path(tmp), args.writes)
        if args.postgres:
            pg = await create_pg_database(PG_ADMIN_URL)
            try:
                await run("postgresql", pg, Path(tmp), args.writes)
            finally:
                await drop_pg_database(PG_ADMIN_URL, pg)


if __name__ == "__main__":
    asyncio.run(main())
