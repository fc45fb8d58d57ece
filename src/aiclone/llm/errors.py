"""Why a call to the language model failed, in words meant for the task's owner.

``reason`` is a short stable name (the ``reason`` label of the failure metric, and something
a caller can branch on); the message is a sentence. Neither ever contains the API key: provider
error text is passed through :func:`redact` before it is kept.
"""

from __future__ import annotations

import re
from enum import StrEnum

# Key-shaped tokens providers echo back ("Incorrect API key provided: sk-abc1****wxyz").
_KEYLIKE = re.compile(r"\b(?:sk|key|api|pk|rk)[-_][A-Za-z0-9_*.\-]{6,}", re.IGNORECASE)
MAX_PROVIDER_TEXT = 300


class FailureReason(StrEnum):
    UNAVAILABLE = "unavailable"  # the breaker is open
    NOT_CONFIGURED = "not_configured"
    RATE_LIMITED = "rate_limited"
    QUOTA = "quota"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECT = "connect"
    FORBIDDEN_ADDRESS = "forbidden_address"
    REJECTED = "rejected"  # a 4xx other than 429
    AUTH = "auth"  # 401 / 403
    PROTOCOL = "protocol"  # an answer that is not a Chat Completions stream
    TOO_LARGE = "too_large"
    BUSY = "busy"  # no free slot of the per-process concurrency within the timeout


class LLMError(Exception):
    """A language-model call failed; ``str(error)`` is safe to show and to log."""

    def __init__(self, reason: FailureReason, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status

    @property
    def transient(self) -> bool:
        return self.reason in _TRANSIENT


class ProviderUnavailable(LLMError):
    """The breaker is open: calls fail at once until the cool-down ends."""

    def __init__(self, detail: str) -> None:
        super().__init__(FailureReason.UNAVAILABLE, f"language model provider unavailable: {detail}")


_TRANSIENT = frozenset(
    {FailureReason.RATE_LIMITED, FailureReason.SERVER_ERROR, FailureReason.TIMEOUT, FailureReason.CONNECT}
)


def redact(text: str, secret: str) -> str:
    """``text`` without ``secret`` (or any long piece of it) and without key-shaped tokens, cut short."""
    if secret:
        text = text.replace(secret, "***")
        if len(secret) >= 12:
            # Partially masked echoes keep a prefix and a suffix of the key.
            text = text.replace(secret[:8], "***").replace(secret[-6:], "***")
    text = _KEYLIKE.sub("***", text)
    text = " ".join(text.split())
    return text if len(text) <= MAX_PROVIDER_TEXT else text[: MAX_PROVIDER_TEXT - 1] + "…"
