"""``{{field.path}}`` placeholders in action texts, filled from the event's data.

A plain regex substitution (never ``str.format``, whose attribute and index lookups would
reach into Python objects): a placeholder becomes the value at that path, text as is, other
values as JSON, nothing when missing; each value and the whole result are length-bounded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from aiclone.automations.conditions import lookup

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.-]{1,200})\s*\}\}")
MAX_VALUE_LENGTH = 500


def _text(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
    return text[:MAX_VALUE_LENGTH]


def render(template: str, data: Mapping[str, Any], *, limit: int) -> str:
    filled = PLACEHOLDER.sub(lambda match: _text(lookup(data, match.group(1))), template)
    return filled[:limit]
