"""Typed settings, read once from ``AICLONE_*`` environment variables (and an optional ``.env``).

Every field below is one variable: ``AICLONE_`` + the field name in upper case. A bad value
stops the process at start with a message naming the variable; nothing is read lazily later.
Defaults run the whole product locally on an embedded SQLite file; ``AICLONE_ENV=production``
refuses the defaults that are only safe on a developer's machine.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

import limits
import msgspec
from dotenv import dotenv_values

from aiclone.mail.config import parse_sender, parse_smtp_url
from aiclone.webhooks.retry import parse_schedule

ENV_PREFIX = "AICLONE_"
MIN_SECRET_KEY_LENGTH = 32
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
# OWASP Password Storage Cheat Sheet, argon2id minimum: m=19 MiB, t=2, p=1.
OWASP_ARGON2_MIN_MEMORY_KIB = 19 * 1024
OWASP_ARGON2_MIN_TIME_COST = 2


# The research engines this build ships (aiclone.research.engines builds them by these names).
RESEARCH_ENGINE_NAMES = frozenset({"web", "llm"})


class SettingsError(ValueError):
    """A configuration value is missing or invalid; the message names the variable."""


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    env: Literal["development", "test", "production"] = "development"
    debug: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: str = "./var"
    # Empty means "sqlite+aiosqlite:///<data_dir>/aiclone.db".
    database_url: str = ""
    database_pool_size: int = 10
    database_connect_timeout_seconds: float = 10.0
    # Waiting for a free pooled connection, and each statement (see aiclone.db).
    database_pool_timeout_seconds: float = 10.0
    database_statement_timeout_seconds: float = 15.0
    auto_migrate: bool = True
    secret_key: str = ""
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    jwt_issuer: str = "aiclone"
    jwt_audience: str = "aiclone-api"
    access_token_ttl_seconds: int = 1800
    refresh_token_ttl_seconds: int = 14 * 24 * 3600
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 64 * 1024
    argon2_parallelism: int = 4
    password_min_length: int = 8
    password_max_length: int = 128
    max_body_bytes: int = 1024 * 1024
    cors_origins: tuple[str, ...] = ()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # "auto" is JSON lines when AICLONE_ENV=production and a readable line otherwise.
    log_format: Literal["auto", "json", "text"] = "auto"
    run_workers: bool = True
    event_retention_days: int = 30
    event_queue_size: int = 1000
    max_event_payload_bytes: int = 256 * 1024
    # Research tasks: engines enabled on this process, the runner's limits, and the web engine's
    # fetch limits. Private/loopback targets stay refused unless research_allow_private is set.
    research_engines: tuple[str, ...] = ("web", "llm")
    research_concurrency: int = 2
    research_timeout_seconds: float = 120.0
    research_lease_seconds: float = 30.0
    research_poll_seconds: float = 5.0
    research_max_interruptions: int = 3
    research_allow_private: bool = False
    research_fetch_timeout_seconds: float = 10.0
    research_max_response_bytes: int = 2 * 1024 * 1024
    research_max_redirects: int = 5
    research_max_urls: int = 20
    # The language model provider (aiclone.llm): any OpenAI-compatible Chat Completions endpoint.
    # Empty base URL: no provider, and the llm engine is listed as unavailable.
    llm_base_url: str = ""
    llm_api_key: str = ""
    llm_model: str = ""
    llm_api_key_header: Literal["authorization", "api-key"] = "authorization"
    llm_max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    llm_connect_timeout_seconds: float = 5.0
    llm_read_timeout_seconds: float = 30.0
    llm_timeout_seconds: float = 60.0
    llm_max_output_tokens: int = 1024
    llm_concurrency: int = 4
    llm_max_attempts: int = 3
    llm_retry_base_seconds: float = 0.5
    llm_retry_after_max_seconds: float = 30.0
    llm_breaker_threshold: int = 5
    llm_breaker_cooldown_seconds: float = 30.0
    llm_max_response_bytes: int = 4 * 1024 * 1024
    llm_allow_private: bool = False
    # Page text sent to the model per research task, in tokens (estimated as characters / 4).
    llm_input_token_budget: int = 6000
    # Rate limiting (see aiclone.ratelimit). Limits are "N/period" items separated by ';'.
    rate_limit_enabled: bool = True
    rate_limit: str = "60/minute"
    rate_limit_user: str = "300/minute"
    rate_limit_login: str = "10/minute;60/hour"
    rate_limit_register: str = "5/minute;20/hour"
    login_failure_limit: str = "5/15 minutes"
    rate_limit_storage: str = "memory://"
    rate_limit_key_prefix: str = "aiclone"
    rate_limit_storage_timeout: float = 0.25
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
    # Webhooks: see aiclone.webhooks for what each knob does.
    webhook_allow_private: bool = False
    webhook_max_payload_bytes: int = 256 * 1024
    webhook_max_endpoints_per_user: int = 20
    webhook_secret_overlap_seconds: int = 24 * 3600
    webhook_retry_schedule: str = "5s,5m,30m,2h,5h,10h,10h"
    webhook_retry_jitter: float = 0.1
    webhook_retry_after_max_seconds: float = 3600.0
    webhook_failure_threshold: int = 5
    webhook_connect_timeout_seconds: float = 5.0
    webhook_timeout_seconds: float = 15.0
    webhook_endpoint_concurrency: int = 10
    webhook_worker_concurrency: int = 200
    webhook_lease_seconds: float = 60.0
    webhook_poll_seconds: float = 5.0
    webhook_delivery_retention_days: int = 30
    # Hosts a slack-flavour endpoint may post to in production (https only; any URL otherwise).
    slack_webhook_hosts: tuple[str, ...] = ("hooks.slack.com",)
    # Live events over Server-Sent Events (aiclone.live).
    sse_heartbeat_seconds: float = 15.0
    sse_retry_ms: int = 3000
    sse_queue_size: int = 256
    sse_max_streams_per_user: int = 10
    sse_ticket_ttl_seconds: int = 30
    sse_replay_batch_size: int = 500
    sse_write_timeout_seconds: float = 30.0
    sse_presence_seconds: float = 10.0
    # Exports streaming at once per process (each holds a database connection on PostgreSQL).
    export_max_concurrent: int = 4
    # Mail (aiclone.mail) and the account flows that send it (aiclone.accounts).
    smtp_url: str = ""
    mail_from: str = "aiclone <aiclone@localhost>"
    # Base of the links in mails; empty means http://<host>:<port>.
    public_url: str = ""
    mail_timeout_seconds: float = 10.0
    mail_retry_schedule: str = "30s,2m,10m,30m,1h,2h,6h"
    mail_lease_seconds: float = 120.0
    mail_poll_seconds: float = 5.0
    mail_retention_days: int = 7
    password_reset_ttl_seconds: int = 1800
    email_verification_ttl_seconds: int = 48 * 3600
    # "auto": required in production, not in development or test.
    require_email_verification: Literal["auto", "true", "false"] = "auto"
    rate_limit_account_mail: str = "5/minute;20/hour"
    account_mail_per_email_limit: str = "3/15 minutes;10/day"

    def __post_init__(self) -> None:
        self._check_numbers()
        self._check_passwords()
        self._check_secrets_and_exposure()
        self._check_research()
        self._check_llm()
        self._check_rate_limiting()
        self._check_mail()
        url = self.database_url
        if url and not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise SettingsError(
                f"{var('database_url')} must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            )

    def _check_numbers(self) -> None:
        positive = (
            "port",
            "database_pool_size",
            "access_token_ttl_seconds",
            "refresh_token_ttl_seconds",
            "argon2_parallelism",
            "max_body_bytes",
            "password_min_length",
            "event_retention_days",
            "event_queue_size",
            "max_event_payload_bytes",
            "research_timeout_seconds",
            "research_lease_seconds",
            "research_poll_seconds",
            "research_fetch_timeout_seconds",
            "research_max_response_bytes",
            "max_header_count",
            "max_header_bytes",
            "rate_limit_storage_timeout",
            "export_max_concurrent",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise SettingsError(f"{var(name)} must be a positive number")
        self._check_webhooks()
        self._check_live_events()
        self._check_edge()
        if not 0 < self.port < 65536:
            raise SettingsError(f"{var('port')} must be between 1 and 65535")

    def _check_passwords(self) -> None:
        if self.argon2_memory_kib < OWASP_ARGON2_MIN_MEMORY_KIB:
            raise SettingsError(
                f"{var('argon2_memory_kib')} must be at least {OWASP_ARGON2_MIN_MEMORY_KIB} (OWASP minimum)"
            )
        if self.argon2_time_cost < OWASP_ARGON2_MIN_TIME_COST:
            raise SettingsError(
                f"{var('argon2_time_cost')} must be at least {OWASP_ARGON2_MIN_TIME_COST} (OWASP minimum)"
            )
        # NIST SP 800-63B: at least 8 characters, and accept at least 64. The upper bound caps the
        # work one login can cause before hashing (request bodies cap passwords at 1024).
        if self.password_min_length < 8:
            raise SettingsError(f"{var('password_min_length')} must be at least 8 (NIST SP 800-63B)")
        if not 64 <= self.password_max_length <= 1024:
            raise SettingsError(f"{var('password_max_length')} must be between 64 (NIST SP 800-63B) and 1024")
        if self.password_min_length > self.password_max_length:
            raise SettingsError(f"{var('password_min_length')} may not exceed {var('password_max_length')}")

    def _check_secrets_and_exposure(self) -> None:
        if self.env == "production":
            if len(self.secret_key) < MIN_SECRET_KEY_LENGTH:
                raise SettingsError(
                    f"{var('secret_key')} must be set to at least {MIN_SECRET_KEY_LENGTH} characters"
                    " when AICLONE_ENV=production"
                )
            if "*" in self.cors_origins:
                raise SettingsError(f"{var('cors_origins')} may not contain '*' when AICLONE_ENV=production")
            if self.debug:
                raise SettingsError(f"{var('debug')} may not be true when AICLONE_ENV=production")
        elif self.secret_key and len(self.secret_key) < MIN_SECRET_KEY_LENGTH:
            raise SettingsError(f"{var('secret_key')} must be at least {MIN_SECRET_KEY_LENGTH} characters")

    def _check_research(self) -> None:
        unknown = sorted(set(self.research_engines) - RESEARCH_ENGINE_NAMES)
        if unknown:
            raise SettingsError(
                f"{var('research_engines')}: unknown engine(s) {', '.join(unknown)};"
                f" available: {', '.join(sorted(RESEARCH_ENGINE_NAMES))}"
            )
        bounded = {
            "research_concurrency": (1, 64),
            "research_max_interruptions": (1, 100),
            "research_max_redirects": (0, 20),
            "research_max_urls": (1, 100),
        }
        for name, (low, high) in bounded.items():
            if not low <= getattr(self, name) <= high:
                raise SettingsError(f"{var(name)} must be between {low} and {high}")
        if self.research_lease_seconds < 1.0:
            raise SettingsError(f"{var('research_lease_seconds')} must be at least 1 second")
        if self.env == "production" and self.research_allow_private:
            raise SettingsError(
                f"{var('research_allow_private')} may not be true when AICLONE_ENV=production"
            )

    def _check_llm(self) -> None:
        if self.llm_base_url:
            parts = urlsplit(self.llm_base_url)
            if (
                parts.scheme not in ("http", "https")
                or not parts.hostname
                or parts.username
                or parts.password
            ):
                raise SettingsError(
                    f"{var('llm_base_url')} must be an http(s) URL without credentials,"
                    " e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1"
                )
            if not self.llm_model:
                raise SettingsError(f"{var('llm_model')} must be set when {var('llm_base_url')} is")
        bounded: dict[str, tuple[float, float]] = {
            "llm_connect_timeout_seconds": (0.05, 120.0),
            "llm_read_timeout_seconds": (0.05, 600.0),
            "llm_timeout_seconds": (0.1, 3600.0),
            "llm_max_output_tokens": (1, 1_000_000),
            "llm_concurrency": (1, 1000),
            "llm_max_attempts": (1, 10),
            "llm_retry_base_seconds": (0.0, 60.0),
            "llm_retry_after_max_seconds": (0.0, 600.0),
            "llm_breaker_threshold": (1, 1000),
            "llm_breaker_cooldown_seconds": (0.1, 3600.0),
            "llm_max_response_bytes": (1024, 256 * 1024 * 1024),
            "llm_input_token_budget": (100, 2_000_000),
        }
        for name, (low, high) in bounded.items():
            if not low <= getattr(self, name) <= high:
                raise SettingsError(f"{var(name)} must be between {low:g} and {high:g}")

    def _check_rate_limiting(self) -> None:
        for name in ("rate_limit", "rate_limit_user", "rate_limit_login", "rate_limit_register"):
            parse_rate_limits(name, getattr(self, name))
        parse_rate_limits("login_failure_limit", self.login_failure_limit)
        if not self.rate_limit_storage.startswith(("memory://", "redis://", "rediss://", "redis+unix://")):
            raise SettingsError(
                f"{var('rate_limit_storage')} must be memory://, redis://host:port/db, rediss://… or redis+unix://…"
            )
        if (
            not self.rate_limit_key_prefix
            or not self.rate_limit_key_prefix.replace("-", "").replace("_", "").replace(":", "").isalnum()
        ):
            raise SettingsError(f"{var('rate_limit_key_prefix')} must be letters, digits, '-', '_' or ':'")
        for cidr in self.trusted_proxies:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise SettingsError(
                    f"{var('trusted_proxies')}: {cidr!r} is not an IP address or CIDR network"
                ) from None
        if self.metrics_bind:
            host, sep, port = self.metrics_bind.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise SettingsError(f"{var('metrics_bind')} must be host:port, e.g. 127.0.0.1:9100")

    def _check_mail(self) -> None:
        if self.smtp_url:
            try:
                parse_smtp_url(self.smtp_url)
            except ValueError as exc:
                raise SettingsError(f"{var('smtp_url')} {exc}") from None
        try:
            parse_sender(self.mail_from)
        except ValueError as exc:
            raise SettingsError(f"{var('mail_from')} {exc}") from None
        try:
            parse_schedule(self.mail_retry_schedule)
        except ValueError as exc:
            raise SettingsError(f"{var('mail_retry_schedule')}: {exc}") from None
        if self.public_url:
            parts = urlsplit(self.public_url)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
                raise SettingsError(
                    f"{var('public_url')} must be an http(s) URL such as https://app.example.com"
                )
        bounded: dict[str, tuple[float, float]] = {
            "mail_timeout_seconds": (0.1, 300.0),
            "mail_poll_seconds": (0.05, 600.0),
            "mail_retention_days": (1, 3650),
            "password_reset_ttl_seconds": (60, 24 * 3600),
            "email_verification_ttl_seconds": (300, 30 * 24 * 3600),
        }
        for name, (low, high) in bounded.items():
            if not low <= getattr(self, name) <= high:
                raise SettingsError(f"{var(name)} must be between {low:g} and {high:g}")
        # A claimed mail is finished well inside its lease (connect + a few commands, each bounded).
        if self.mail_lease_seconds < 6 * self.mail_timeout_seconds:
            raise SettingsError(
                f"{var('mail_lease_seconds')} must be at least 6 x {var('mail_timeout_seconds')}"
            )
        parse_rate_limits("rate_limit_account_mail", self.rate_limit_account_mail)
        parse_rate_limits("account_mail_per_email_limit", self.account_mail_per_email_limit)

    def __repr__(self) -> str:
        # Secrets (the signing key, credentials in URLs, the provider key) never print.
        shown = (
            f"{f.name}={'***' if f.name in _SECRET_FIELDS and getattr(self, f.name) else repr(getattr(self, f.name))}"
            for f in msgspec.structs.fields(self)
        )
        return f"Settings({', '.join(shown)})"

    @property
    def email_verification_required(self) -> bool:
        if self.require_email_verification == "auto":
            return self.env == "production"
        return self.require_email_verification == "true"

    @property
    def resolved_public_url(self) -> str:
        """Base of the links in mails, without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def mail_dir(self) -> Path:
        return Path(self.data_dir) / "mail"

    @property
    def json_logs(self) -> bool:
        return self.log_format == "json" or (self.log_format == "auto" and self.env == "production")

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        if not self.metrics_bind:
            return None
        host, _, port = self.metrics_bind.rpartition(":")
        return host.strip("[]"), int(port)

    def _check_webhooks(self) -> None:
        if self.env == "production" and self.webhook_allow_private:
            raise SettingsError(f"{var('webhook_allow_private')} may not be true when AICLONE_ENV=production")
        for host in self.slack_webhook_hosts:
            if not host or "/" in host or ":" in host or "*" in host or "." not in host:
                raise SettingsError(
                    f"{var('slack_webhook_hosts')} must list host names such as hooks.slack.com (got {host!r})"
                )
        try:
            parse_schedule(self.webhook_retry_schedule)
        except ValueError as exc:
            raise SettingsError(f"{var('webhook_retry_schedule')}: {exc}") from None
        bounded: dict[str, tuple[float, float]] = {
            "database_connect_timeout_seconds": (0.1, 300.0),
            "database_pool_timeout_seconds": (0.1, 300.0),
            "database_statement_timeout_seconds": (0.1, 3600.0),
            "webhook_max_payload_bytes": (1024, 16 * 1024 * 1024),
            "webhook_max_endpoints_per_user": (1, 10_000),
            "webhook_secret_overlap_seconds": (0, 30 * 24 * 3600),
            "webhook_retry_jitter": (0.0, 0.5),
            "webhook_retry_after_max_seconds": (1.0, 7 * 24 * 3600),
            "webhook_failure_threshold": (1, 10_000),
            "webhook_connect_timeout_seconds": (0.05, 120.0),
            "webhook_timeout_seconds": (0.1, 300.0),
            "webhook_endpoint_concurrency": (1, 1000),
            "webhook_worker_concurrency": (1, 10_000),
            "webhook_poll_seconds": (0.05, 600.0),
            "webhook_delivery_retention_days": (1, 3650),
        }
        for name, (low, high) in bounded.items():
            if not low <= getattr(self, name) <= high:
                raise SettingsError(f"{var(name)} must be between {low:g} and {high:g}")
        if self.webhook_connect_timeout_seconds > self.webhook_timeout_seconds:
            raise SettingsError(
                f"{var('webhook_connect_timeout_seconds')} may not exceed {var('webhook_timeout_seconds')}"
            )
        # A claimed delivery must be finished well inside its lease, or a second worker could take it.
        if self.webhook_lease_seconds < self.webhook_timeout_seconds + 1.0:
            raise SettingsError(
                f"{var('webhook_lease_seconds')} must be at least {var('webhook_timeout_seconds')} + 1"
            )

    def _check_live_events(self) -> None:
        bounds: dict[str, tuple[float, float]] = {
            "sse_heartbeat_seconds": (0.05, 300),
            "sse_retry_ms": (0, 600_000),
            "sse_queue_size": (4, 100_000),
            "sse_max_streams_per_user": (1, 10_000),
            # A stream ticket travels in a URL: it must be short-lived (and is single-use).
            "sse_ticket_ttl_seconds": (1, 60),
            "sse_replay_batch_size": (1, 10_000),
            "sse_write_timeout_seconds": (0.1, 3600),
            "sse_presence_seconds": (0.1, 3600),
        }
        for name, (low, high) in bounds.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise SettingsError(f"{var(name)} must be between {low:g} and {high:g}")

    def _check_edge(self) -> None:
        bounds: dict[str, tuple[float, float]] = {
            "header_timeout_seconds": (0.1, 300),
            "body_timeout_seconds": (0.1, 3600),
            "shutdown_drain_seconds": (0, 300),
            "shutdown_grace_seconds": (0.1, 600),
        }
        for name, (low, high) in bounds.items():
            value = getattr(self, name)
            if value is not None and not low <= value <= high:
                raise SettingsError(f"{var(name)} must be between {low:g} and {high:g}")

    @property
    def shutdown_drain(self) -> float:
        """Seconds of 503s between SIGTERM and the server's stop (see aiclone.web.drain)."""
        if self.shutdown_drain_seconds is not None:
            return self.shutdown_drain_seconds
        return 5.0 if self.env == "production" else 0.0

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{Path(self.data_dir).resolve() / 'aiclone.db'}"

    def secure_cookies(self, *, https: bool) -> bool:
        """Whether cookies get ``Secure``: over https, and always in production (TLS is usually
        terminated by a proxy, so the app itself may see plain http)."""
        return https or self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    def with_secret(self) -> Settings:
        """Return settings whose secret key is set, persisting a development key if needed.

        The generated key lives in the data directory beside the embedded database
        (``<data_dir>/secret_key``, mode 0600) and is created once, so every worker process of one
        installation reads the same key and tokens survive restarts.
        """
        if self.secret_key:
            return self
        if self.env == "production":  # pragma: no cover - rejected in __post_init__
            raise SettingsError(f"{var('secret_key')} is required in production")
        return msgspec.structs.replace(self, secret_key=_persistent_dev_key(Path(self.data_dir)))


def var(field: str) -> str:
    return ENV_PREFIX + field.upper()


def parse_rate_limits(field: str, value: str) -> list[limits.RateLimitItem]:
    """Parse ``"60/minute;1000/hour"`` into rate-limit items; the error names the variable."""
    items: list[limits.RateLimitItem] = []
    for part in value.split(";"):
        text = part.strip()
        if not text:
            continue
        try:
            item = limits.parse(text)
        except ValueError:
            raise SettingsError(
                f"{var(field)}: {text!r} is not a rate limit; write e.g. 60/minute or 60/minute;1000/hour"
            ) from None
        if item.amount <= 0:
            raise SettingsError(f"{var(field)}: {text!r} must allow at least one request")
        items.append(item)
    if not items:
        raise SettingsError(f"{var(field)} must name at least one limit, e.g. 60/minute")
    windows = [item.get_expiry() for item in items]
    if len(set(windows)) != len(windows):
        raise SettingsError(f"{var(field)}: two limits have the same period; keep the stricter one")
    return items


def _persistent_dev_key(data_dir: Path) -> str:
    """Read the installation's development key, creating it on first use.

    The key is written to a private temporary file and then hard-linked into place: the link
    either appears complete or fails because another process won, so concurrent first starts
    agree on one key and nobody ever reads a half-written file.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRET_KEY_FILE
    if not path.exists():
        fd, tmp_name = tempfile.mkstemp(prefix=".secret_key.", dir=data_dir)  # mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48) + "\n")
            with contextlib.suppress(FileExistsError):
                os.link(tmp_name, path)
        finally:
            os.unlink(tmp_name)
    key = path.read_text().strip()
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise SettingsError(f"{path} holds no usable key; delete it or set {var('secret_key')}")
    return key


def _read_dotenv(path: Path) -> dict[str, str]:
    """The ``AICLONE_*`` entries of a ``.env`` file, taken literally (no ``${VAR}`` expansion)."""
    if not path.is_file():
        return {}
    return {
        key: value
        for key, value in dotenv_values(path, interpolate=False).items()
        if key.startswith(ENV_PREFIX) and value is not None
    }


# Values never echoed back in an error message.
_SECRET_FIELDS = frozenset({"secret_key", "database_url", "smtp_url", "llm_api_key"})


def _expected(annotation: Any) -> str:
    if annotation is bool:
        return "true or false (also 1 or 0)"
    if annotation is int:
        return "a whole number"
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(str(choice) for choice in get_args(annotation))
    return "a valid value"


def _parse(name: str, annotation: Any, raw: str) -> Any:
    value: Any = raw.strip()
    if get_origin(annotation) is tuple:
        value = [part.strip() for part in value.split(",") if part.strip()]
    elif get_origin(annotation) is Literal:
        # Choices are matched case-insensitively: AICLONE_LOG_LEVEL=debug means DEBUG.
        value = {str(choice).lower(): choice for choice in get_args(annotation)}.get(value.lower(), value)
    try:
        return msgspec.convert(value, annotation, strict=False)
    except msgspec.ValidationError:
        shown = "" if name in _SECRET_FIELDS else f" (got {raw!r})"
        raise SettingsError(f"{var(name)} must be {_expected(annotation)}{shown}") from None


def load_settings(environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
    """Build settings from the environment; the real environment wins over ``.env``.

    Each variable is converted on its own, so a bad value is reported with its own name; the
    cross-field rules then run in :meth:`Settings.__post_init__`. Variables with the prefix that
    name no setting are ignored (other tools, such as the test suite, use the prefix too).
    """
    source: dict[str, str] = {}
    if dotenv is not None:
        source.update(_read_dotenv(dotenv))
    source.update(os.environ if environ is None else environ)
    fields = {field.name: field.type for field in msgspec.structs.fields(Settings)}
    values: dict[str, Any] = {}
    for key, raw in source.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key.removeprefix(ENV_PREFIX).lower()
        if name in fields:
            values[name] = _parse(name, fields[name], raw)
    return Settings(**values)
