"""What the language-model client needs to know: the provider's settings slice, and a few knobs more.

The API key is held in an :class:`ApiKey`, whose ``repr`` and ``str`` never show it: a config
object (or a traceback holding one) can be logged without leaking the key. Only the client's
request builder calls :meth:`ApiKey.reveal`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Literal

import httpx
import msgspec

from aiclone.settings import LLMSettings

CHAT_COMPLETIONS = "/chat/completions"


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


def completions_url(base_url: str) -> str:
    """``{base}/chat/completions``, keeping a query string (Azure's ``?api-version=…``).

    A base URL that already ends with ``/chat/completions`` is used as it is.
    """
    url = httpx.URL(base_url)
    path = url.path.rstrip("/")
    if not path.endswith(CHAT_COMPLETIONS):
        path += CHAT_COMPLETIONS
    return str(url.copy_with(path=path))


@dataclass(frozen=True)
class LLMConfig:
    base_url: str = ""
    api_key: ApiKey = field(default_factory=lambda: ApiKey(""))
    model: str = ""
    # "authorization" sends "Authorization: Bearer <key>" (OpenAI, Ollama, vLLM, LiteLLM…);
    # "api-key" sends "api-key: <key>" (Azure OpenAI).
    api_key_header: Literal["authorization", "api-key"] = "authorization"
    # Newer OpenAI models want max_completion_tokens; most compatible servers take max_tokens.
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    # Per attempt: connect, longest silence between two reads, and the whole attempt.
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    timeout: float = 60.0
    max_output_tokens: int = 1024
    concurrency: int = 4
    max_attempts: int = 3
    retry_base_seconds: float = 0.5
    retry_max_seconds: float = 8.0
    retry_after_max_seconds: float = 30.0
    breaker_threshold: int = 5
    breaker_cooldown_seconds: float = 30.0
    max_response_bytes: int = 4 * 1024 * 1024
    allow_private: bool = False
    temperature: float | None = None

    @property
    def configured(self) -> bool:
        return bool(self.base_url)

    @property
    def url(self) -> str:
        return completions_url(self.base_url)

    @property
    def unavailable_reason(self) -> str | None:
        if not self.base_url:
            return "no language model provider is configured (set AICLONE_LLM_BASE_URL and AICLONE_LLM_MODEL)"
        return None

    @classmethod
    def from_settings(cls, settings: LLMSettings) -> LLMConfig:
        """The provider's slice of the settings; the fields of both carry the same names."""
        shared = {f.name for f in fields(cls)} - {"api_key"}
        values = {name: value for name, value in msgspec.structs.asdict(settings).items() if name in shared}
        return cls(api_key=ApiKey(settings.api_key), **values)
