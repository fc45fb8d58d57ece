"""The event backbone (aiclone.events): payload cap, fan-out queue, retention."""

from __future__ import annotations

from aiclone.settings.env import Slice, prefixed


class EventSettings(
    Slice, frozen=True, kw_only=True, rename=prefixed("event_", max_payload_bytes="max_event_payload_bytes")
):
    retention_days: int = 30
    queue_size: int = 1000
    max_payload_bytes: int = 256 * 1024

    def __post_init__(self) -> None:
        self.check_positive(("retention_days", "queue_size", "max_payload_bytes"))
