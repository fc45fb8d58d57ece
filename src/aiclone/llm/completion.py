"""What one language-model call takes and gives back: messages, an optional JSON schema, the
completion with its usage, and the progress handed to ``on_text`` while the answer streams."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from aiclone.llm.breaker import BreakerState

CHARS_PER_TOKEN = 4
Role = Literal["system", "user", "assistant"]


class ChatMessage(msgspec.Struct, frozen=True):
    role: Role
    content: str


@dataclass(frozen=True)
class JsonSchema:
    """``response_format: {type: json_schema, json_schema: {name, schema, strict}}``."""

    name: str
    schema: dict[str, Any]
    strict: bool = True

    def response_format(self) -> dict[str, Any]:
        return {
            "type": "json_schema",
            "json_schema": {"name": self.name, "schema": self.schema, "strict": self.strict},
        }


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    input_tokens: int = 0
    output_tokens: int = 0
    # True when the provider sent no usage and these are characters / 4.
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            estimated=self.estimated or other.estimated,
        )


@dataclass(frozen=True)
class TextProgress:
    """Handed to ``on_text`` for every delta: the delta, the text of this attempt so far."""

    delta: str
    text: str
    attempt: int


@dataclass(frozen=True)
class Completion:
    text: str
    usage: Usage
    model: str
    finish_reason: str | None
    attempts: int
    # Wall time of the successful attempt, from sending the request to the end of the stream.
    provider_seconds: float


@dataclass(frozen=True)
class ProviderStatus:
    available: bool
    reason: str | None = None
    breaker: str = BreakerState.CLOSED.value


OnText = Callable[[TextProgress], Awaitable[None]]


def estimate_tokens(text: str | int) -> int:
    """Characters / 4, rounded up (of a text, or of a number of characters): OpenAI's rule of
    thumb for English text, good to about 20%; used for budgets and when usage is missing."""
    chars = text if isinstance(text, int) else len(text)
    return (chars + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN
