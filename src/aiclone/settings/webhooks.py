"""Webhook endpoints and their delivery worker (aiclone.webhooks): see that package for each knob."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from aiclone.settings.durations import parse_schedule
from aiclone.settings.env import SettingsError, Slice, prefixed


class WebhookSettings(
    Slice, frozen=True, kw_only=True, rename=prefixed("webhook_", slack_hosts="slack_webhook_hosts")
):
    PARSERS: ClassVar[Mapping[str, Callable[[str], Any]]] = {"retry_schedule": parse_schedule}

    allow_private: bool = False
    max_payload_bytes: int = 256 * 1024
    max_endpoints_per_user: int = 20
    secret_overlap_seconds: int = 24 * 3600
    # Seconds before each retry, written "5s,5m,30m,…" (aiclone.settings.durations).
    retry_schedule: tuple[float, ...] = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
    retry_jitter: float = 0.1
    retry_after_max_seconds: float = 3600.0
    failure_threshold: int = 5
    connect_timeout_seconds: float = 5.0
    timeout_seconds: float = 15.0
    endpoint_concurrency: int = 10
    worker_concurrency: int = 200
    lease_seconds: float = 60.0
    poll_seconds: float = 5.0
    delivery_retention_days: int = 30
    # Hosts a slack-flavour endpoint may post to in production (https only; any URL otherwise).
    slack_hosts: tuple[str, ...] = ("hooks.slack.com",)

    def __post_init__(self) -> None:
        for host in self.slack_hosts:
            if not host or "/" in host or ":" in host or "*" in host or "." not in host:
                raise SettingsError(
                    f"{self.variable('slack_hosts')} must list host names such as hooks.slack.com (got {host!r})"
                )
        if not self.retry_schedule:
            raise SettingsError(f"{self.variable('retry_schedule')}: the schedule needs at least one delay")
        self.check_between(
            {
                "max_payload_bytes": (1024, 16 * 1024 * 1024),
                "max_endpoints_per_user": (1, 10_000),
                "secret_overlap_seconds": (0, 30 * 24 * 3600),
                "retry_jitter": (0.0, 0.5),
                "retry_after_max_seconds": (1.0, 7 * 24 * 3600),
                "failure_threshold": (1, 10_000),
                "connect_timeout_seconds": (0.05, 120.0),
                "timeout_seconds": (0.1, 300.0),
                "endpoint_concurrency": (1, 1000),
                "worker_concurrency": (1, 10_000),
                "poll_seconds": (0.05, 600.0),
                "delivery_retention_days": (1, 3650),
            }
        )
        timeout = self.variable("timeout_seconds")
        if self.connect_timeout_seconds > self.timeout_seconds:
            raise SettingsError(f"{self.variable('connect_timeout_seconds')} may not exceed {timeout}")
        # A claimed delivery must be finished well inside its lease, or a second worker could take it.
        if self.lease_seconds < self.timeout_seconds + 1.0:
            raise SettingsError(f"{self.variable('lease_seconds')} must be at least {timeout} + 1")

    def check_env(self, *, production: bool) -> None:
        if production:
            self.refuse_in_production("allow_private")
