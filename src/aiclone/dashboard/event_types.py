"""The dashboard's copy of the event-type catalogue: an ES module written from :mod:`aiclone.events.types`.

The page loads its modules as they are, with no build step, so the copy is a file of
``static/js``. ``python -m aiclone.dashboard.event_types`` rewrites it; a test fails when the file
differs from what :func:`render_module` makes of the catalogue.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aiclone.events.types import AUTOMATION_TRIGGERS, EventType

MODULE_PATH = Path(__file__).parent / "static" / "js" / "event-types.js"


def _array(values: list[str]) -> str:
    return "".join(f"  {json.dumps(value)},\n" for value in values)


def render_module() -> str:
    return (
        "// @ts-check\n"
        "// Generated from aiclone.events.types by `python -m aiclone.dashboard.event_types`; do not edit.\n"
        "// A test fails when this file and the catalogue differ.\n"
        "\n"
        "/** Every event type the backbone records. */\n"
        f"export const EVENT_TYPES = Object.freeze([\n{_array([t.value for t in EventType])}]);\n"
        "\n"
        "/** The event types an automation may react to, in the API document's order. */\n"
        f"export const AUTOMATION_TRIGGERS = Object.freeze([\n{_array([t.value for t in AUTOMATION_TRIGGERS])}]);\n"
    )


def main() -> None:
    MODULE_PATH.write_text(render_module(), encoding="utf-8")
    sys.stdout.write(f"wrote {MODULE_PATH}\n")


if __name__ == "__main__":
    main()
