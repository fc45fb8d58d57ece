"""Durations and retry schedules as written in settings: ``"250ms"``, ``"5s"``, ``"5m,2h"``.

Read once at start into seconds (the webhook and mail slices hold the tuple their workers use).
"""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
MAX_DELAY_SECONDS = 7 * 86400.0
MAX_RETRIES = 50


def parse_duration(text: str) -> float:
    """``"250ms"``, ``"5s"``, ``"5m"``, ``"2h"``, ``"1d"`` or plain seconds, to seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text.strip()!r} is not a duration (use e.g. 500ms, 5s, 5m, 2h, 1d)")
    value = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if not 0 < value <= MAX_DELAY_SECONDS:
        raise ValueError(f"{text.strip()!r} must be more than 0 and at most 7 days")
    return value


def parse_schedule(text: str) -> tuple[float, ...]:
    """The comma-separated delays before each retry, in seconds."""
    parts = [part for part in text.split(",") if part.strip()]
    if not parts:
        raise ValueError("the schedule needs at least one delay")
    if len(parts) > MAX_RETRIES:
        raise ValueError(f"at most {MAX_RETRIES} retries")
    return tuple(parse_duration(part) for part in parts)
