"""Live events over Server-Sent Events (aiclone.live)."""

from __future__ import annotations

from aiclone.settings.env import Slice, prefixed


class LiveSettings(Slice, frozen=True, kw_only=True, rename=prefixed("sse_")):
    heartbeat_seconds: float = 15.0
    retry_ms: int = 3000
    queue_size: int = 256
    max_streams_per_user: int = 10
    ticket_ttl_seconds: int = 30
    replay_batch_size: int = 500
    write_timeout_seconds: float = 30.0
    presence_seconds: float = 10.0

    def __post_init__(self) -> None:
        self.check_between(
            {
                "heartbeat_seconds": (0.05, 300),
                "retry_ms": (0, 600_000),
                "queue_size": (4, 100_000),
                "max_streams_per_user": (1, 10_000),
                # A stream ticket travels in a URL: it must be short-lived (and is single-use).
                "ticket_ttl_seconds": (1, 60),
                "replay_batch_size": (1, 10_000),
                "write_timeout_seconds": (0.1, 3600),
                "presence_seconds": (0.1, 3600),
            }
        )
