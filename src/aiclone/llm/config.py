"""What the language-model client needs to know: the provider's settings slice, and a few knobs more.

The API key is held in an :class:`ApiKey`, whose ``repr`` and ``str`` never show it: a config
object (or a traceback holding one) can be logged without leaking the key. Only the client's
request builder calls :meth:`ApiKey.reveal`.
"""

from __future__ import annotations

import httpx
import msgspec

from aiclone.settings.llm import ApiKey, LLMSettings

__all__ = ["ApiKey", "LLMConfig", "completions_url"]

CHAT_COMPLETIONS = "/chat/completions"


def completions_url(base_url: str) -> str:
    """``{base}/chat/completions``, keeping a query string (Azure's ``?api-version=…``).

    A base URL that already ends with ``/chat/completions`` is used as it is.
    """
    url = httpx.URL(base_url)
    path = url.path.rstrip("/")
    if not path.endswith(CHAT_COMPLETIONS):
        path += CHAT_COMPLETIONS
    return str(url.copy_with(path=path))


class LLMConfig(LLMSettings, frozen=True, kw_only=True):
    """The provider's settings (``AICLONE_LLM_*``, checked the same way) and two knobs no
    variable sets.

    ``api_key_header``: "authorization" sends "Authorization: Bearer <key>" (OpenAI, Ollama,
    vLLM, LiteLLM…); "api-key" sends "api-key: <key>" (Azure OpenAI). ``max_tokens_field``:
    newer OpenAI models want max_completion_tokens; most compatible servers take max_tokens.
    Timeouts are per attempt: connect, longest silence between two reads, the whole attempt.
    """

    retry_max_seconds: float = 8.0
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
        return cls(**msgspec.structs.asdict(settings))
