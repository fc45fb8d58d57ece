"""The language model provider: one OpenAI-compatible Chat Completions client per process.

``LLMClient(LLMConfig.from_settings(settings.llm), metrics=...)`` is built by the container
(``Services.llm``); engines and drafting call :meth:`LLMClient.complete`. See
:mod:`aiclone.llm.client` for retries, limits and why it is plain httpx, and
:mod:`aiclone.llm.protocol` for how one streamed answer is read.
"""

from aiclone.llm.breaker import BreakerState, CircuitBreaker
from aiclone.llm.client import LLMClient
from aiclone.llm.completion import (
    ChatMessage,
    Completion,
    JsonSchema,
    OnText,
    ProviderStatus,
    TextProgress,
    Usage,
    estimate_tokens,
)
from aiclone.llm.config import ApiKey, LLMConfig
from aiclone.llm.errors import FailureReason, LLMError, ProviderUnavailable

__all__ = [
    "ApiKey",
    "BreakerState",
    "ChatMessage",
    "CircuitBreaker",
    "Completion",
    "FailureReason",
    "JsonSchema",
    "LLMClient",
    "LLMConfig",
    "LLMError",
    "OnText",
    "ProviderStatus",
    "ProviderUnavailable",
    "TextProgress",
    "Usage",
    "estimate_tokens",
]
