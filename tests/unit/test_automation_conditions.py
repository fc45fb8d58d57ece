"""Rule conditions and action templates: pure functions, no database."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from aiclone.automations.conditions import OPERATORS, condition_errors, lookup, matches
from aiclone.automations.schemas import TRIGGER_EVENTS, Operator
from aiclone.automations.templates import MAX_VALUE_LENGTH, render
from aiclone.events.types import EVENT_TYPES

DATA: dict[str, Any] = {
    "name": "Ada Lovelace",
    "company": "Analytical Engines",
    "fit_score": 82,
    "ratio": 0.5,
    "approved": True,
    "website": None,
    "tags": ["vip", "london"],
    "insight": {"summary": "Expanding into computation", "sources": [{"url": "https://a.example"}]},
    "created_at": "2026-11-27T10:00:00+00:00",
}


def test_lookup_follows_dotted_paths_and_list_indexes() -> None:
    assert lookup(DATA, "insight.summary") == "Expanding into computation"
    assert lookup(DATA, "insight.sources.0.url") == "https://a.example"
    assert lookup(DATA, "tags.1") == "london"
    assert lookup(DATA, "tags.2") is None
    assert lookup(DATA, "tags.x") is None
    assert lookup(DATA, "name.first") is None
    assert lookup(DATA, "nothing.here") is None


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("company", "eq", "Analytical Engines", True),
        ("company", "eq", "analytical engines", False),
        ("company", "ne", "Other", True),
        ("missing", "eq", None, True),
        ("missing", "ne", "x", True),
        ("fit_score", "eq", 82.0, True),
        ("fit_score", "eq", "82", False),
        ("approved", "eq", 1, False),
        ("approved", "eq", True, True),
        ("fit_score", "in", [80, 82], True),
        ("fit_score", "not_in", [80, 82], False),
        ("tags", "in", ["vip", "other"], True),
        ("tags", "not_in", ["cold"], True),
        ("company", "contains", "ENGINE", True),
        ("company", "contains", "steam", False),
        ("tags", "contains", "vip", True),
        ("tags", "contains", "VIP", False),
        ("fit_score", "contains", 8, False),
        ("fit_score", "gt", 80, True),
        ("fit_score", "gte", 82, True),
        ("fit_score", "lt", 82, False),
        ("fit_score", "lte", 82, True),
        ("ratio", "lt", 1, True),
        ("fit_score", "gt", "80", False),
        ("approved", "gt", 0, False),
        ("created_at", "gte", "2026-11-27", True),
        ("created_at", "lt", "2026-11-27", False),
        ("company", "exists", None, True),
        ("company", "exists", True, True),
        ("website", "exists", True, False),
        ("website", "exists", False, True),
        ("missing", "exists", False, True),
        ("insight.summary", "contains", "computation", True),
    ],
)
def test_operators(field: str, op: str, value: Any, expected: bool) -> None:
    assert matches([{"field": field, "op": op, "value": value}], DATA) is expected


def test_all_conditions_must_hold_and_none_is_always() -> None:
    assert matches([], DATA)
    both = [
        {"field": "fit_score", "op": "gte", "value": 80},
        {"field": "tags", "op": "contains", "value": "vip"},
    ]
    assert matches(both, DATA)
    assert not matches([*both, {"field": "company", "op": "eq", "value": "x"}], DATA)


def test_unknown_operator_never_matches() -> None:
    assert not matches([{"field": "company", "op": "like", "value": "x"}], DATA)


def test_every_schema_operator_is_implemented() -> None:
    assert set(get_args(Operator)) == OPERATORS


def test_trigger_events_are_persisted_types_without_automation_triggered() -> None:
    assert TRIGGER_EVENTS <= EVENT_TYPES
    assert "automation_triggered" not in TRIGGER_EVENTS
    assert {"prospect_added", "prospect_updated", "outreach_sent", "content_published"} <= TRIGGER_EVENTS


@pytest.mark.parametrize(
    ("condition", "field"),
    [
        ({"field": "a..b", "op": "eq", "value": 1}, "conditions[0].field"),
        ({"field": "a b", "op": "eq", "value": 1}, "conditions[0].field"),
        ({"field": ".a", "op": "eq", "value": 1}, "conditions[0].field"),
        ({"field": "a.b.c.d.e.f.g.h.i", "op": "eq", "value": 1}, "conditions[0].field"),
        ({"field": "__class__.x{", "op": "eq", "value": 1}, "conditions[0].field"),
        ({"field": "a", "op": "in", "value": "x"}, "conditions[0].value"),
        ({"field": "a", "op": "in", "value": []}, "conditions[0].value"),
        ({"field": "a", "op": "not_in", "value": list(range(101))}, "conditions[0].value"),
        ({"field": "a", "op": "eq", "value": [1]}, "conditions[0].value"),
        ({"field": "a", "op": "gt", "value": True}, "conditions[0].value"),
        ({"field": "a", "op": "gt", "value": None}, "conditions[0].value"),
        ({"field": "a", "op": "exists", "value": "yes"}, "conditions[0].value"),
        ({"field": "a", "op": "contains", "value": None}, "conditions[0].value"),
        ({"field": "a", "op": "eq", "value": "x" * 2001}, "conditions[0].value"),
    ],
)
def test_condition_errors_name_the_index(condition: dict[str, Any], field: str) -> None:
    ok = {"field": "company", "op": "eq", "value": "x"}
    errors = condition_errors([condition])
    assert [e.field for e in errors] == [field]
    assert [e.field for e in condition_errors([ok, ok, condition])] == [field.replace("[0]", "[2]")]


def test_valid_conditions_have_no_errors() -> None:
    conditions = [
        {"field": "insight.sources.0.url", "op": "exists", "value": None},
        {"field": "fit_score", "op": "gte", "value": 50},
        {"field": "status", "op": "in", "value": ["done", "failed"]},
        {"field": "company", "op": "contains", "value": "engines"},
        {"field": "reason", "op": "ne", "value": None},
    ]
    assert condition_errors(conditions) == []


def test_render_fills_placeholders_from_the_data() -> None:
    assert (
        render("New prospect {{name}} at {{ company }} ({{fit_score}})", DATA, limit=200)
        == "New prospect Ada Lovelace at Analytical Engines (82)"
    )
    assert render("{{missing}}|{{website}}|{{tags}}|{{insight.sources.0.url}}", DATA, limit=200) == (
        '||["vip","london"]|https://a.example'
    )


def test_render_is_not_str_format() -> None:
    template = "{name} {0} {name.__class__} {{name.__class__.__init__}} %s {{"
    assert render(template, DATA, limit=200) == "{name} {0} {name.__class__}  %s {{"


def test_render_bounds_values_and_output() -> None:
    data = {"long": "x" * 5000}
    assert render("{{long}}", data, limit=2000) == "x" * MAX_VALUE_LENGTH
    assert len(render("{{long}}" * 10, data, limit=2000)) == 2000
    assert render("abcdef", {}, limit=3) == "abc"
