"""Research tasks (aiclone.research): the engines enabled, the runner's limits, the web fetches."""

from __future__ import annotations

from aiclone.settings.env import SettingsError, Slice, prefixed

# The research engines this build ships (aiclone.research.engines builds them by these names).
RESEARCH_ENGINE_NAMES = frozenset({"web", "llm"})


class ResearchSettings(Slice, frozen=True, kw_only=True, rename=prefixed("research_")):
    engines: tuple[str, ...] = ("web", "llm")
    concurrency: int = 2
    timeout_seconds: float = 120.0
    lease_seconds: float = 30.0
    poll_seconds: float = 5.0
    max_interruptions: int = 3
    # Private/loopback fetch targets stay refused unless this is set (never in production).
    allow_private: bool = False
    fetch_timeout_seconds: float = 10.0
    max_response_bytes: int = 2 * 1024 * 1024
    max_redirects: int = 5
    max_urls: int = 20

    def __post_init__(self) -> None:
        self.check_positive(
            (
                "timeout_seconds",
                "lease_seconds",
                "poll_seconds",
                "fetch_timeout_seconds",
                "max_response_bytes",
            )
        )
        unknown = sorted(set(self.engines) - RESEARCH_ENGINE_NAMES)
        if unknown:
            raise SettingsError(
                f"{self.variable('engines')}: unknown engine(s) {', '.join(unknown)};"
                f" available: {', '.join(sorted(RESEARCH_ENGINE_NAMES))}"
            )
        self.check_between(
            {
                "concurrency": (1, 64),
                "max_interruptions": (1, 100),
                "max_redirects": (0, 20),
                "max_urls": (1, 100),
            }
        )
        if self.lease_seconds < 1.0:
            raise SettingsError(f"{self.variable('lease_seconds')} must be at least 1 second")

    def check_env(self, *, production: bool) -> None:
        if production:
            self.refuse_in_production("allow_private")
