"""A user's full rule set on a long text: every rule is judged, one fold per field, and the loop
serves other work between rules (the time it saves is measured in bench/automation_eval.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from aiclone.automations import conditions as rule_conditions
from aiclone.automations import hook as automation_hook
from aiclone.automations.conditions import EventFacts, holds, matches
from aiclone.container import Services
from aiclone.content.schemas import ContentCreate, ContentUpdate
from tests.support.factories import UserFactory

Client = AsyncTestClient[Litestar]
RULES = 100
TEXT = ("Entrepôt GRÖSSE façade " * 2300)[:49_900] + " the Straße at the END"


def _rule(index: int, last: str) -> dict[str, Any]:
    # Nine conditions hold; the last one decides.
    values = [
        "entrepôt",
        "grösse",
        "FAÇADE",
        "strasse",
        "größe",
        "ENTREPÔT",
        "Façade",
        "gRÖSSE",
        "straße",
        last,
    ]
    return {
        "name": f"rule {index}",
        "trigger_event": "content_updated",
        "conditions": [{"field": "body", "op": "contains", "value": value} for value in values],
        "action": {"type": "notify", "title": f"rule {index} fired"},
    }


def test_shared_facts_answer_like_a_fresh_evaluation() -> None:
    data = {"body": TEXT, "tags": ["a", "B"], "n": 5, "nested": {"title": "ÉCOLE"}}
    cases = [
        {"field": "body", "op": "contains", "value": "STRASSE AT THE end"},
        {"field": "body", "op": "contains", "value": "absent"},
        {"field": "nested.title", "op": "contains", "value": "école"},
        {"field": "tags", "op": "contains", "value": "B"},
        {"field": "tags", "op": "contains", "value": "b"},
        {"field": "n", "op": "contains", "value": "5"},
        {"field": "missing", "op": "contains", "value": "x"},
        {"field": "n", "op": "gt", "value": 4},
        {"field": "body", "op": "eq", "value": TEXT},
    ]
    facts = EventFacts(data)
    shared = [holds(case, facts) for case in cases]
    fresh = [holds(case, dict(data)) for case in cases]
    assert shared == fresh == [True, False, True, True, False, False, False, True, True]
    assert matches(cases[:1] + cases[2:4], facts)


def test_a_field_is_folded_once_per_event() -> None:
    class Folds(str):
        count = 0

        def casefold(self) -> str:
            Folds.count += 1
            return super().casefold()

    facts = EventFacts({"body": Folds(TEXT)})
    for index in range(RULES):
        matches(_rule(index, "end")["conditions"], facts)
    assert Folds.count == 1
    assert rule_conditions._folded("GRÖSSE") == "grösse"


async def test_a_full_rule_set_on_a_long_text_is_judged_and_yields_between_rules(
    client: Client, users: UserFactory, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await users.create()
    for index in range(RULES):
        # Only the last rule's last condition holds as well as the nine before it.
        last = "the end" if index == RULES - 1 else f"not there {index}"
        response = await client.post("/api/automations", json=_rule(index, last), headers=user.headers)
        assert response.status_code == 201, response.text
    item = await services.content.create(user.id, ContentCreate(title="t", body="short"))

    # Yield after every rule, and count how often this loop ran something else meanwhile (the
    # write runs on this loop through the service; the test client serves from its own).
    monkeypatch.setattr(automation_hook, "EVALUATION_SLICE_SECONDS", -1.0)
    turns = 0
    done = asyncio.Event()

    async def other_work() -> None:
        nonlocal turns
        while not done.is_set():
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    started = turns
    try:
        await services.content.update(user.id, item.id, ContentUpdate(body=TEXT))
    finally:
        done.set()
        await other
    assert turns - started >= RULES
    notes = (await client.get("/api/notifications", headers=user.headers)).json()["items"]
    assert [note["title"] for note in notes] == [f"rule {RULES - 1} fired"]
