"""The wire side of one Chat Completions attempt: the chunks a provider streams, how an answer
is read from them within a byte cap, how an error body becomes a message, and which failures are
worth another attempt (:class:`Retry`).

Every text that comes from the provider passes :func:`~aiclone.llm.errors.redact` with the API
key (``secret``) before it reaches an error or a log line.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec

from aiclone.llm.completion import Completion, OnText, TextProgress, Usage, estimate_tokens
from aiclone.llm.errors import FailureReason, LLMError, redact

RETRY_STATUSES = frozenset({408, 409, 425, 500, 502, 503, 504, 520, 522, 524, 529})
ERROR_BODY_BYTES = 16 * 1024


class Chunk(msgspec.Struct):
    choices: list[Choice] = msgspec.field(default_factory=list)
    usage: SentUsage | None = None
    model: str | None = None
    error: Any = None


class Choice(msgspec.Struct):
    delta: Delta | None = None
    message: Delta | None = None  # non-streamed answers
    finish_reason: str | None = None


class Delta(msgspec.Struct):
    content: str | None = None
    refusal: str | None = None


class SentUsage(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


_chunk_decoder = msgspec.json.Decoder(Chunk)


class Retry(Exception):
    """One attempt failed in a way worth another (after ``wait`` seconds if given)."""

    def __init__(self, error: LLMError, wait: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait = wait


class Attempt:
    """The text, usage and bookkeeping of one streamed answer."""

    def __init__(self, number: int, on_text: OnText | None) -> None:
        self.number = number
        self.on_text = on_text
        self.parts: list[str] = []
        self.usage: SentUsage | None = None
        self.model = ""
        self.finish_reason: str | None = None
        self.refusal = ""

    @property
    def text(self) -> str:
        return "".join(self.parts)

    async def take(self, chunk: Chunk) -> None:
        if chunk.model:
            self.model = chunk.model
        if chunk.usage is not None:
            self.usage = chunk.usage
        for choice in chunk.choices[:1]:
            part = choice.delta or choice.message
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
            if part is None:
                continue
            if part.refusal:
                self.refusal += part.refusal
            if part.content:
                self.parts.append(part.content)
                if self.on_text is not None:
                    await self.on_text(TextProgress(part.content, self.text, self.number))

    def completion(self, *, prompt_chars: int, seconds: float, model: str, secret: str) -> Completion:
        """The finished answer; usage the provider did not send is estimated."""
        text = self.text
        if not text and self.refusal:
            raise LLMError(FailureReason.REJECTED, f"the model refused: {redact(self.refusal, secret)}")
        sent = self.usage
        if sent is not None and sent.prompt_tokens is not None and sent.completion_tokens is not None:
            usage = Usage(input_tokens=sent.prompt_tokens, output_tokens=sent.completion_tokens)
        else:
            usage = Usage(
                input_tokens=sent.prompt_tokens
                if sent is not None and sent.prompt_tokens is not None
                else estimate_tokens(prompt_chars),
                output_tokens=estimate_tokens(text),
                estimated=True,
            )
        return Completion(
            text=text,
            usage=usage,
            model=self.model or model,
            finish_reason=self.finish_reason,
            attempts=self.number,
            provider_seconds=seconds,
        )


def status_failure(
    status: int, message: str, retry_after: str | None, *, retry_after_max: float
) -> Exception:
    """The error for a non-2xx answer: a :class:`Retry` for what may pass, else an
    :class:`LLMError`. (A 400 about ``stream_options`` is the caller's to recognise first.)"""
    if status == 429:
        # OpenAI's code for an exhausted balance: waiting will not help. Other 429s are rate
        # limits (Azure's "exceeded token rate limit … retry after" included) and are retried.
        if "insufficient_quota" in message:
            return LLMError(
                FailureReason.QUOTA, f"the provider's quota is exhausted: {message}", status=status
            )
        wait = parse_retry_after(retry_after)
        wait = None if wait is None else min(wait, retry_after_max)
        return Retry(
            LLMError(
                FailureReason.RATE_LIMITED,
                f"the provider is rate limiting (HTTP 429): {message}",
                status=429,
            ),
            wait,
        )
    if status in RETRY_STATUSES or status >= 500:
        return Retry(
            LLMError(
                FailureReason.SERVER_ERROR,
                f"the provider failed (HTTP {status}): {message}",
                status=status,
            )
        )
    if status in (401, 403):
        return LLMError(
            FailureReason.AUTH,
            f"the provider refused the credentials (HTTP {status}): {message} (check AICLONE_LLM_API_KEY)",
            status=status,
        )
    return LLMError(
        FailureReason.REJECTED,
        f"the provider rejected the request (HTTP {status}): {message}",
        status=status,
    )


async def error_text(response: httpx.Response, secret: str) -> str:
    """The provider's message from an error body (its first 16 KiB), redacted."""
    raw = bytearray()
    try:
        async for chunk in response.aiter_raw():
            raw += chunk
            if len(raw) > ERROR_BODY_BYTES:
                break
    except httpx.HTTPError:
        pass
    text = bytes(raw).decode("utf-8", errors="replace")
    try:
        parsed = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        parsed = None
    if isinstance(parsed, dict):
        error = parsed.get("error", parsed)
        if isinstance(error, dict):
            parts = [str(error.get(key)) for key in ("message", "code", "type") if error.get(key)]
            text = " — ".join(parts) or text
        elif isinstance(error, str):
            text = error
    return redact(text, secret) or "no details"


async def read_answer(response: httpx.Response, attempt: Attempt, *, cap: int, secret: str) -> None:
    """Feed ``attempt`` from a 2xx response: an event stream, or one JSON answer from a server
    that ignores ``stream``; at most ``cap`` bytes."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise Retry(LLMError(FailureReason.PROTOCOL, f"the provider sent a {encoding!r}-encoded answer"))
    mime = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if mime == "application/json":
        raw = bytearray()
        async for chunk in _bounded(response, cap):
            raw += chunk
        await attempt.take(_decode(bytes(raw), secret))
        return
    done = False
    async for line in _lines(_bounded(response, cap)):
        if not line.startswith(b"data:"):
            continue  # comments (": keep-alive"), event:, id:, retry:
        data = line[5:].strip()
        if data == b"[DONE]":
            # Read on to the end of the body (nothing should follow) so the connection
            # goes back to the pool instead of being dropped.
            done = True
            continue
        if data and not done:
            await attempt.take(_decode(data, secret))
    if not done and attempt.finish_reason is None:
        raise Retry(
            LLMError(FailureReason.PROTOCOL, "the provider's stream ended before the answer was complete")
        )


def _decode(data: bytes, secret: str) -> Chunk:
    try:
        chunk = _chunk_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise Retry(
            LLMError(FailureReason.PROTOCOL, f"the provider sent an unreadable chunk ({exc})")
        ) from None
    if chunk.error is not None:
        detail = chunk.error.get("message") if isinstance(chunk.error, dict) else chunk.error
        raise Retry(
            LLMError(
                FailureReason.SERVER_ERROR,
                f"the provider failed mid-answer: {redact(str(detail), secret)}",
            )
        )
    return chunk


async def _bounded(response: httpx.Response, cap: int) -> AsyncIterator[bytes]:
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        if received > cap:
            raise LLMError(FailureReason.TOO_LARGE, f"the provider's answer passed the limit of {cap} bytes")
        yield chunk


async def _lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Lines of an event stream (LF, CRLF or CR endings), as they arrive."""
    pending = b""
    async for chunk in chunks:
        pending += chunk
        pending = pending.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line
    if pending:
        yield pending


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
