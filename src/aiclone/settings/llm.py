"""The language-model provider (aiclone.llm) and its accounting (aiclone.research.usage).

Any OpenAI-compatible Chat Completions endpoint; an empty base URL means no provider, and the
llm engine is listed as unavailable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import msgspec

from aiclone.settings.env import SettingsError, Slice, prefixed


class ApiKey:
    """A provider credential that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "ApiKey('***')" if self._value else "ApiKey('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("ApiKey", len(self._value)))


class LLMSettings(
    Slice,
    frozen=True,
    kw_only=True,
    rename=prefixed(
        "llm_",
        connect_timeout="llm_connect_timeout_seconds",
        read_timeout="llm_read_timeout_seconds",
        timeout="llm_timeout_seconds",
    ),
):
    PARSERS: ClassVar[Mapping[str, Callable[[str], Any]]] = {"api_key": lambda text: ApiKey(text.strip())}

    base_url: str = ""
    # Held as an ApiKey, which never prints itself; only the client's request builder reveals it.
    api_key: ApiKey = msgspec.field(default_factory=lambda: ApiKey(""))
    model: str = ""
    api_key_header: Literal["authorization", "api-key"] = "authorization"
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    timeout: float = 60.0
    max_output_tokens: int = 1024
    concurrency: int = 4
    max_attempts: int = 3
    retry_base_seconds: float = 0.5
    retry_after_max_seconds: float = 30.0
    breaker_threshold: int = 5
    breaker_cooldown_seconds: float = 30.0
    max_response_bytes: int = 4 * 1024 * 1024
    allow_private: bool = False
    # Page text sent to the model per research task, in tokens (estimated as characters / 4).
    input_token_budget: int = 6000
    # Prices per million tokens (both 0: no cost is shown); a per-user daily budget (0: unlimited).
    price_input_per_mtok: float = 0.0
    price_output_per_mtok: float = 0.0
    daily_tokens_per_user: int = 0

    def __post_init__(self) -> None:
        if self.base_url:
            parts = urlsplit(self.base_url)
            if (
                parts.scheme not in ("http", "https")
                or not parts.hostname
                or parts.username
                or parts.password
            ):
                raise SettingsError(
                    f"{self.variable('base_url')} must be an http(s) URL without credentials,"
                    " e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1"
                )
            if not self.model:
                raise SettingsError(
                    f"{self.variable('model')} must be set when {self.variable('base_url')} is"
                )
        self.check_between(
            {
                "connect_timeout": (0.05, 120.0),
                "read_timeout": (0.05, 600.0),
                "timeout": (0.1, 3600.0),
                "max_output_tokens": (1, 1_000_000),
                "concurrency": (1, 1000),
                "max_attempts": (1, 10),
                "retry_base_seconds": (0.0, 60.0),
                "retry_after_max_seconds": (0.0, 600.0),
                "breaker_threshold": (1, 1000),
                "breaker_cooldown_seconds": (0.1, 3600.0),
                "max_response_bytes": (1024, 256 * 1024 * 1024),
                "input_token_budget": (100, 2_000_000),
            }
        )
        self._check_usage()

    def _check_usage(self) -> None:
        for name in ("price_input_per_mtok", "price_output_per_mtok"):
            if not 0 <= getattr(self, name) <= 1_000_000:
                raise SettingsError(f"{self.variable(name)} must be between 0 and 1000000")
        if not 0 <= self.daily_tokens_per_user <= 10**12:
            raise SettingsError(
                f"{self.variable('daily_tokens_per_user')} must be between 0 (unlimited) and 10^12"
            )
