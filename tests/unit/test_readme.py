"""The README's configuration table documents exactly the settings the service reads."""

from __future__ import annotations

import re
from pathlib import Path

from aiclone.settings import load_settings, var
from aiclone.settings.llm import ApiKey

README = Path(__file__).resolve().parents[2] / "README.md"


def _table_rows() -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in README.read_text().splitlines():
        match = re.match(r"^\| `(AICLONE_[A-Z0-9_]+)` \| ([^|]*) \|", line)
        if match:
            rows[match.group(1)] = match.group(2).strip()
    return rows


def test_every_setting_has_a_row_and_every_row_is_a_setting() -> None:
    documented = set(_table_rows())
    actual = {var(name) for name in load_settings({}, dotenv=None).variables()}
    assert documented == actual, {"undocumented": actual - documented, "unknown": documented - actual}


def test_documented_defaults_match() -> None:
    defaults = load_settings({}, dotenv=None).variables()
    for name, default in _table_rows().items():
        value = defaults[name.removeprefix("AICLONE_").lower()]
        shown = default.strip("`")
        if shown == "*(empty)*":
            assert value in ("", (), None, ApiKey("")), name
        elif isinstance(value, tuple) and value and isinstance(value[0], float):
            # A schedule: the documented text reads back as the default seconds.
            assert load_settings({name: shown}, dotenv=None).variables() == defaults, name
        elif isinstance(value, tuple):
            assert shown == ",".join(value), name
        elif isinstance(value, bool):
            assert shown == str(value).lower(), name
        else:
            assert shown == str(value), name


def test_the_two_commands_are_documented() -> None:
    text = README.read_text()
    assert "make run" in text
    assert "make test" in text
