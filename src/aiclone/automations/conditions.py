"""Rule conditions: checked when a rule is saved, matched against each event's data (pure).

A condition is ``{field, op, value}``; ``field`` is a dotted path into the event's ``data``
(a number segment indexes a list). A missing field reads as ``null``. All conditions of a rule
must hold (AND). Comparisons never cross kinds: ``true`` is not ``1``, ``"5"`` is not ``5``,
and an ordering operator against a value of another kind simply does not match.

- ``eq``/``ne``: equal / not equal (strings exactly).
- ``in``/``not_in``: the value is (not) one of a list; a list field matches when any item is.
- ``contains``: substring of a string field (case-insensitive), or an item of a list field.
- ``gt``/``gte``/``lt``/``lte``: numbers with numbers, strings with strings (ISO times compare
  correctly as strings).
- ``exists``: present and not null (``value`` ``true`` or omitted), or the opposite (``false``).

Cost. A user may have 100 rules of 10 conditions on one event type, and an event may carry
50 KB of text: a thousand case-insensitive searches of it per write. Folding a text's case is
what costs (about 0.25 ms per 50 KB of non-ASCII text, against 0.02 ms for the search), so
:class:`EventFacts` looks each field up and folds it once per event, for every rule of that
event, and a condition's own value is folded once per process (``_folded``, a bounded cache).
The hook also yields to the event loop between rules (see :mod:`aiclone.automations.hook`).
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import msgspec

from aiclone.errors import FieldError

FIELD_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+){0,7}$")
MAX_VALUE_BYTES = 2000
MAX_LIST_VALUES = 100
_ORDERING = frozenset({"gt", "gte", "lt", "lte"})


def lookup(data: Any, path: str) -> Any:
    """The value at ``path`` in ``data``, or None when any step is missing."""
    current = data
    for part in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _ordered(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def test(actual: Any, value: Any) -> bool:
        same_kind = (_is_number(actual) and _is_number(value)) or (
            isinstance(actual, str) and isinstance(value, str)
        )
        return same_kind and bool(compare(actual, value))

    return test


def _contains(actual: Any, value: Any) -> bool:
    if isinstance(actual, str) and isinstance(value, str):
        return _folded(value) in actual.casefold()
    if isinstance(actual, list):
        return any(_equal(item, value) for item in actual)
    return False


@functools.lru_cache(maxsize=1024)
def _folded(value: str) -> str:
    # Condition values are at most MAX_VALUE_BYTES: the cache holds at most about 2 MB.
    return value.casefold()


class EventFacts:
    """One event's data as its rules read it: each field looked up, and folded, at most once."""

    __slots__ = ("_data", "_folded", "_values")

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data
        self._values: dict[str, Any] = {}
        self._folded: dict[str, str] = {}

    def value(self, path: str) -> Any:
        try:
            return self._values[path]
        except KeyError:
            found = self._values[path] = lookup(self._data, path)
            return found

    def folded(self, path: str) -> str:
        """The case-folded text at ``path`` (which must hold a string)."""
        try:
            return self._folded[path]
        except KeyError:
            value = self.value(path)
            folded = self._folded[path] = value.casefold() if isinstance(value, str) else ""
            return folded


def _one_of(actual: Any, values: Sequence[Any]) -> bool:
    candidates = actual if isinstance(actual, list) else [actual]
    return any(_equal(item, value) for item in candidates for value in values)


_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": _equal,
    "ne": lambda actual, value: not _equal(actual, value),
    "in": _one_of,
    "not_in": lambda actual, value: not _one_of(actual, value),
    "contains": _contains,
    "gt": _ordered(operator.gt),
    "gte": _ordered(operator.ge),
    "lt": _ordered(operator.lt),
    "lte": _ordered(operator.le),
    "exists": lambda actual, value: (actual is not None) is (value is not False),
}
OPERATORS = frozenset(_TESTS)


def holds(condition: Mapping[str, Any], data: Mapping[str, Any] | EventFacts) -> bool:
    facts = data if isinstance(data, EventFacts) else EventFacts(data)
    op, path, value = condition["op"], condition["field"], condition.get("value")
    test = _TESTS.get(op)
    # Unknown operators were refused when the rule was saved; one never matches.
    if test is None:
        return False
    actual = facts.value(path)
    if op == "contains" and isinstance(actual, str) and isinstance(value, str):
        return _folded(value) in facts.folded(path)
    return test(actual, value)


def matches(conditions: Iterable[Mapping[str, Any]], data: Mapping[str, Any] | EventFacts) -> bool:
    """Whether every condition holds; pass one :class:`EventFacts` for all the rules of an event."""
    facts = data if isinstance(data, EventFacts) else EventFacts(data)
    return all(holds(condition, facts) for condition in conditions)


def _value_problem(op: str, value: Any) -> str | None:  # noqa: PLR0911 - one rule per operator
    if len(msgspec.json.encode(value)) > MAX_VALUE_BYTES:
        return f"is larger than {MAX_VALUE_BYTES} bytes"
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            return f"must be a non-empty list for {op}"
        if len(value) > MAX_LIST_VALUES:
            return f"may list at most {MAX_LIST_VALUES} values"
        return None
    if isinstance(value, list):
        return f"may not be a list for {op}"
    if op == "exists":
        return None if value is None or isinstance(value, bool) else "must be true or false for exists"
    if op in _ORDERING and not (_is_number(value) or isinstance(value, str)):
        return f"must be a number or a string for {op}"
    if op == "contains" and value is None:
        return "must not be null for contains"
    return None


def condition_errors(conditions: Sequence[Mapping[str, Any]], prefix: str = "conditions") -> list[FieldError]:
    """What the schema cannot say about each condition, under ``conditions[<index>].<key>``."""
    errors: list[FieldError] = []
    for index, condition in enumerate(conditions):
        where = f"{prefix}[{index}]"
        if not FIELD_PATTERN.match(condition["field"]):
            errors.append(
                FieldError(
                    field=f"{where}.field",
                    message="must be a dotted path of letters, digits, _ and - (at most 8 levels)",
                )
            )
        problem = _value_problem(condition["op"], condition.get("value"))
        if problem is not None:
            errors.append(FieldError(field=f"{where}.value", message=problem))
    return errors
