"""Benchmark: what the automation hook costs the write path (create a prospect + its events).

In one process, on SQLite and on PostgreSQL, prospects are created one after another through
the real service (one transaction each: the prospect, ``prospect_added``, its activity line and
counters, and whatever the automation hook does). Four configurations run in interleaved
rounds, so machine noise hits them alike:

* ``no hook``: the automation hook removed from the event log (the baseline);
* ``no rules``: the hook present, the user has no rules (one indexed lookup per event);
* ``21 rules, no match``: 20 rules on other event types and one ``prospect_added`` rule whose
  condition does not match;
* ``1 matching rule``: a ``tag_prospect`` rule that fires on every prospect (a savepoint, the
  tag update, ``prospect_updated`` and ``automation_triggered``).

Usage: ``PYTHONPATH=src:. python bench/automations.py [--seconds 3] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from tests.conftest import PG_ADMIN_URL, create_pg_database, drop_pg_database, make_settings

from aiclone import migrate
from aiclone.automations.hook import AutomationHook
from aiclone.automations.schemas import AutomationCreate, Condition, NotifyAction, TagProspectAction
from aiclone.container import Services
from aiclone.prospects.schemas import ProspectCreate

OTHER_TRIGGERS = ["outreach_sent", "content_published", "task_completed", "prospect_updated"]


async def _user(services: Services) -> uuid.UUID:
    user = await services.auth.register(
        email=f"bench-{uuid.uuid4().hex[:10]}@example.com",
        password="a long enough passphrase 42",
        full_name="B",
    )
    return user.id


async def _rate(services: Services, user: uuid.UUID, seconds: float) -> float:
    count = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        await services.prospects.create(
            user, ProspectCreate(name=f"P {uuid.uuid4().hex[:8]}", fit_score=count % 100)
        )
        count += 1
    return count / elapsed


async def _configure(services: Services) -> dict[str, uuid.UUID]:
    users = {
        name: await _user(services)
        for name in ("no hook", "no rules", "21 rules, no match", "1 matching rule")
    }
    quiet = users["21 rules, no match"]
    for i in range(20):
        await services.automations.create(
            quiet,
            AutomationCreate(
                name=f"other {i}",
                trigger_event=OTHER_TRIGGERS[i % len(OTHER_TRIGGERS)],
                action=NotifyAction(title="never"),
            ),
        )
    await services.automations.create(
        quiet,
        AutomationCreate(
            name="never matches",
            trigger_event="prospect_added",
            conditions=[Condition(field="fit_score", op="gt", value=1000)],
            action=NotifyAction(title="never"),
        ),
    )
    await services.automations.create(
        users["1 matching rule"],
        AutomationCreate(
            name="tag all", trigger_event="prospect_added", action=TagProspectAction(add=["seen"])
        ),
    )
    return users


async def run(name: str, url: str, data_dir: Path, seconds: float, rounds: int) -> None:
    await asyncio.to_thread(migrate.upgrade, url)
    services = Services(make_settings(url, data_dir))
    await services.start(run_workers=False)
    try:
        users = await _configure(services)
        hooks = services.events._hooks  # the benchmark toggles the hook it measures
        automation_hook = next(h for h in hooks if isinstance(h, AutomationHook))
        rates: dict[str, list[float]] = {key: [] for key in users}
        await _rate(services, users["no rules"], 0.5)  # warm-up
        for _ in range(rounds):
            for key, user in users.items():
                if key == "no hook":
                    hooks.remove(automation_hook)
                try:
                    rates[key].append(await _rate(services, user, seconds))
                finally:
                    if automation_hook not in hooks:
                        hooks.append(automation_hook)
        base = statistics.median(rates["no hook"])
        print(f"\n{name}: prospects created per second (median of {rounds} rounds of {seconds:g} s)")
        for key, values in rates.items():
            rate = statistics.median(values)
            extra = 1000 / rate - 1000 / base
            print(f"  {key:20} {rate:7.1f}/s  {rate / base:6.1%} of no hook  ({extra:+.2f} ms per create)")
    finally:
        await services.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await run("sqlite", f"sqlite+aiosqlite:///{tmp}/bench.db", Path(tmp), args.seconds, args.rounds)
        pg = await create_pg_database(PG_ADMIN_URL)
        try:
            await run("postgresql", pg, Path(tmp), args.seconds, args.rounds)
        finally:
            await drop_pg_database(PG_ADMIN_URL, pg)


if __name__ == "__main__":
    asyncio.run(main())
