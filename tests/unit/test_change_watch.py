"""ChangeWatch: an answer read while a signal for its user arrived is never remembered; Memory
keeps at most its capacity, and forgets a user's answers at once."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import NamedTuple

from aiclone.auth.identity import ChangeWatch, Memory
from aiclone.events.broker import IdentityChange, Resync

USER = uuid.UUID(int=1)
OTHER = uuid.UUID(int=2)


def _reader(watch: ChangeWatch, during: Callable[[int], None]) -> tuple[list[int], Callable[[], object]]:
    """A read that counts its calls and lets ``during(n)`` send signals while call n runs."""
    calls: list[int] = []

    async def read() -> tuple[uuid.UUID, int]:
        calls.append(len(calls) + 1)
        during(len(calls))
        return USER, len(calls)

    return calls, read


async def _settle(
    watch: ChangeWatch, during: Callable[[int], None]
) -> tuple[object, list[object], list[int]]:
    kept: list[object] = []
    calls, read = _reader(watch, during)
    answer = await watch.settle(read, lambda found: found[0], kept.append)  # type: ignore[arg-type, index]
    return answer, kept, calls


async def test_a_quiet_read_is_kept() -> None:
    watch = ChangeWatch()
    answer, kept, calls = await _settle(watch, lambda n: None)
    assert answer == (USER, 1)
    assert kept == [answer]
    assert calls == [1]


async def test_a_read_raced_by_a_signal_for_its_user_is_read_again() -> None:
    watch = ChangeWatch()
    answer, kept, calls = await _settle(watch, lambda n: watch.note(IdentityChange(USER)) if n == 1 else None)
    assert calls == [1, 2]
    assert answer == (USER, 2)
    assert kept == [answer], "only the answer read after the signal is kept"


async def test_a_signal_for_another_user_does_not_matter() -> None:
    watch = ChangeWatch()
    answer, kept, calls = await _settle(watch, lambda n: watch.note(IdentityChange(OTHER)))
    assert calls == [1]
    assert kept == [answer]


async def test_a_resync_during_the_read_counts_for_every_user() -> None:
    watch = ChangeWatch()
    assert watch.note(Resync()) is True
    answer, kept, calls = await _settle(watch, lambda n: watch.note(Resync()) if n == 1 else None)
    assert calls == [1, 2]
    assert kept == [answer]


async def test_an_answer_that_keeps_racing_is_returned_but_never_kept() -> None:
    watch = ChangeWatch()
    answer, kept, calls = await _settle(watch, lambda n: watch.note(IdentityChange(USER)))
    assert calls == [1, 2, 3]
    assert answer == (USER, 3)
    assert kept == []


async def test_a_miss_is_returned_and_not_kept() -> None:
    watch = ChangeWatch()
    kept: list[object] = []

    async def read() -> None:
        return None

    assert await watch.settle(read, lambda found: USER, kept.append) is None
    assert kept == []


class _Answer(NamedTuple):
    user_id: uuid.UUID
    text: str


def test_memory_drops_the_oldest_past_its_capacity_and_forgets_by_user() -> None:
    memory: Memory[str, _Answer] = Memory(capacity=2)
    memory.put("a", _Answer(USER, "a"))
    memory.put("b", _Answer(OTHER, "b"))
    memory.put("a", _Answer(USER, "a2"))  # a key already there takes no more room
    assert memory.get("a") == _Answer(USER, "a2")
    memory.put("c", _Answer(USER, "c"))
    assert memory.get("a") is None, "the oldest key went first"
    assert memory.get("b") == _Answer(OTHER, "b")
    memory.forget_user(USER)
    assert memory.get("c") is None
    assert memory.get("b") == _Answer(OTHER, "b")
