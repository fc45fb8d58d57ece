"""The HTTP server and its edge (aiclone.serving, aiclone.web): address, limits, logs, shutdown."""

from __future__ import annotations

import ipaddress
from typing import Literal

from aiclone.settings.env import SettingsError, Slice, prefixed


class ServerSettings(
    Slice, frozen=True, kw_only=True, rename=prefixed("", max_concurrent_exports="export_max_concurrent")
):
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 1024 * 1024
    cors_origins: tuple[str, ...] = ()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # "auto" is JSON lines when AICLONE_ENV=production and a readable line otherwise.
    log_format: Literal["auto", "json", "text"] = "auto"
    trusted_proxies: tuple[str, ...] = ()
    max_header_count: int = 100
    max_header_bytes: int = 32 * 1024
    # Slow clients (aiclone.web.header_deadline, aiclone.web.body_deadline): whole-block deadlines.
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    # Shutdown (aiclone.web.drain): 503 for this long after SIGTERM (unset: 5 s in production,
    # 0 otherwise), then this long for running requests before they are cut.
    shutdown_drain_seconds: float | None = None
    shutdown_grace_seconds: float = 10.0
    # "host:port" serves /metrics there instead of (admin-only) on the main app.
    metrics_bind: str = ""
    # Exports streaming at once per process (each holds a database connection on PostgreSQL).
    max_concurrent_exports: int = 4

    def __post_init__(self) -> None:
        self.check_positive(
            ("port", "max_body_bytes", "max_header_count", "max_header_bytes", "max_concurrent_exports")
        )
        if not 0 < self.port < 65536:
            raise SettingsError(f"{self.variable('port')} must be between 1 and 65535")
        self.check_between(
            {
                "header_timeout_seconds": (0.1, 300),
                "body_timeout_seconds": (0.1, 3600),
                "shutdown_drain_seconds": (0, 300),
                "shutdown_grace_seconds": (0.1, 600),
            }
        )
        for cidr in self.trusted_proxies:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise SettingsError(
                    f"{self.variable('trusted_proxies')}: {cidr!r} is not an IP address or CIDR network"
                ) from None
        if self.metrics_bind:
            host, sep, port = self.metrics_bind.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise SettingsError(f"{self.variable('metrics_bind')} must be host:port, e.g. 127.0.0.1:9100")

    def check_env(self, *, production: bool) -> None:
        if production and "*" in self.cors_origins:
            raise SettingsError(
                f"{self.variable('cors_origins')} may not contain '*' when AICLONE_ENV=production"
            )

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        if not self.metrics_bind:
            return None
        host, _, port = self.metrics_bind.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def url(self) -> str:
        """``http://host:port`` of this server (an IPv6 host in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"
