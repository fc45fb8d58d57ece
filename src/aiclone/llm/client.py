"""A client for OpenAI-compatible Chat Completions endpoints, streamed.

Why httpx and not the official SDK: httpx is already the service's HTTP client, and the SSRF
guard (:mod:`aiclone.netguard`) is an httpx transport, so the provider's connections are
checked exactly like webhook deliveries with no adapter. The SDK would add a dependency tree
(pydantic, its own retry loop, its own timeouts) whose retries, backoff and timeouts we would
have to switch off to enforce ours: one per-process breaker, ``Retry-After`` capped, one
deadline per attempt, a bounded stream size. The protocol we use is small and stable: one
``POST {base}/chat/completions`` with ``stream: true``, server-sent ``data:`` lines ending with
``data: [DONE]``.

One call (:meth:`LLMClient.complete`):

* waits for one of ``concurrency`` slots of this process (bounded by the attempt timeout);
* asks the breaker (:mod:`aiclone.llm.breaker`) whether the provider may be tried;
* sends the request with ``stream_options: {include_usage: true}`` and reads the stream as it
  arrives, handing each text delta to ``on_text``; the response may not pass
  ``max_response_bytes``, no read may wait longer than ``read_timeout``, and the attempt may not
  last longer than ``timeout`` (so a server that accepts and never answers, or drips bytes,
  fails in bounded time);
* on 429 waits ``Retry-After`` (capped at ``retry_after_max_seconds``) and tries again; on 5xx,
  408, timeouts and connection errors waits an exponential backoff with jitter; other 4xx fail
  at once with the provider's message, redacted. At most ``max_attempts`` attempts, so the whole
  call is bounded too. An attempt that fails after text was streamed starts over: ``on_text``
  sees ``attempt`` change and ``text`` restart from the beginning.
* reports the usage the provider sent in its last chunk; a server that sends none gets an
  estimate (characters / 4, ``Usage.estimated``).

The API key goes only into the request header. Errors and log lines carry the provider's
message after :func:`~aiclone.llm.errors.redact`.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpcore
import httpx
import msgspec

from aiclone.llm.breaker import BreakerState, CircuitBreaker
from aiclone.llm.config import LLMConfig
from aiclone.llm.errors import FailureReason, LLMError, redact
from aiclone.metrics import Metrics
from aiclone.netguard import ForbiddenAddress, Resolver, guarded_client

logger = logging.getLogger("aiclone.llm")

CHARS_PER_TOKEN = 4
RETRY_STATUSES = frozenset({408, 409, 425, 500, 502, 503, 504, 520, 522, 524, 529})
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


class _Chunk(msgspec.Struct):
    choices: list[_Choice] = msgspec.field(default_factory=list)
    usage: _Usage | None = None
    model: str | None = None
    error: Any = None


class _Choice(msgspec.Struct):
    delta: _Delta | None = None
    message: _Delta | None = None  # non-streamed answers
    finish_reason: str | None = None


class _Delta(msgspec.Struct):
    content: str | None = None
    refusal: str | None = None


class _Usage(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


_chunk_decoder = msgspec.json.Decoder(_Chunk)


class _Retry(Exception):
    """One attempt failed in a way worth another (after ``wait`` seconds if given)."""

    def __init__(self, error: LLMError, wait: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait = wait


class _Attempt:
    """The text, usage and bookkeeping of one streamed answer."""

    def __init__(self, number: int, on_text: OnText | None) -> None:
        self.number = number
        self.on_text = on_text
        self.parts: list[str] = []
        self.usage: _Usage | None = None
        self.model = ""
        self.finish_reason: str | None = None
        self.refusal = ""

    @property
    def text(self) -> str:
        return "".join(self.parts)

    async def take(self, chunk: _Chunk) -> None:
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


class LLMClient:
    """One per process (``Services.llm``); safe to share between tasks."""

    def __init__(
        self,
        config: LLMConfig,
        *,
        metrics: Metrics | None = None,
        resolver: Resolver | None = None,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics
        self.breaker = CircuitBreaker(config.breaker_threshold, config.breaker_cooldown_seconds, clock=clock)
        self._slots = asyncio.Semaphore(config.concurrency)
        self._resolver = resolver
        self._network_backend = network_backend
        self._client: httpx.AsyncClient | None = None
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self._stream_options = True

    def __repr__(self) -> str:
        return f"LLMClient(base_url={self.config.base_url!r}, model={self.config.model!r})"

    # -- status

    def status(self) -> ProviderStatus:
        reason = self.config.unavailable_reason
        if reason is not None:
            return ProviderStatus(False, reason)
        state = self.breaker.state
        if state == BreakerState.OPEN:
            detail = self.breaker.last_failure or "too many failures in a row"
            return ProviderStatus(
                False,
                f"language model provider unavailable: {detail}"
                f" (retrying in {self.breaker.retry_in():.0f} s)",
                state.value,
            )
        return ProviderStatus(True, None, state.value)

    # -- lifecycle

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            cfg = self.config
            self._client = guarded_client(
                allow_private=cfg.allow_private,
                resolver=self._resolver,
                network_backend=self._network_backend,
                timeout=httpx.Timeout(cfg.read_timeout, connect=cfg.connect_timeout),
                limits=httpx.Limits(
                    max_connections=cfg.concurrency, max_keepalive_connections=cfg.concurrency
                ),
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- the call

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        schema: JsonSchema | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        on_text: OnText | None = None,
        purpose: str = "research",
    ) -> Completion:
        """Stream one chat completion; see the module docstring for retries and limits.

        ``purpose`` labels the metrics (a small fixed set: research, outreach, content).
        Raises :class:`LLMError` (:class:`ProviderUnavailable` when the breaker is open).
        """
        cfg = self.config
        if not cfg.configured:
            raise LLMError(FailureReason.NOT_CONFIGURED, cfg.unavailable_reason or "not configured")
        body = self._body(messages, schema, max_tokens, temperature)
        prompt_chars = sum(len(message.content) for message in messages)
        started = time.perf_counter()
        attempt = 0
        try:
            while True:
                attempt += 1
                try:
                    completion = await self._attempt(body, attempt, on_text, prompt_chars)
                except _Retry as retry:
                    if retry.wait is None and retry.error.reason == FailureReason.REJECTED:
                        body = self._body(messages, schema, max_tokens, temperature)
                        attempt -= 1  # the server wanted the request without stream_options
                        continue
                    if attempt >= cfg.max_attempts:
                        raise retry.error from None
                    self._count_failure(purpose, retry.error.reason)
                    wait = retry.wait if retry.wait is not None else self._backoff(attempt)
                    logger.warning(
                        "language model attempt %d failed (%s); retrying in %.2f s",
                        attempt,
                        retry.error,
                        wait,
                    )
                    await asyncio.sleep(wait)
                    continue
                self._observe(purpose, "ok", completion.usage, started)
                return completion
        except LLMError as exc:
            self._count_failure(purpose, exc.reason)
            self._observe(purpose, exc.reason.value, None, started)
            raise

    def _body(
        self,
        messages: Sequence[ChatMessage],
        schema: JsonSchema | None,
        max_tokens: int | None,
        temperature: float | None,
    ) -> bytes:
        cfg = self.config
        body: dict[str, Any] = {
            "model": cfg.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": True,
            cfg.max_tokens_field: min(max_tokens or cfg.max_output_tokens, cfg.max_output_tokens),
        }
        if self._stream_options:
            body["stream_options"] = {"include_usage": True}
        temperature = cfg.temperature if temperature is None else temperature
        if temperature is not None:
            body["temperature"] = temperature
        if schema is not None:
            body["response_format"] = schema.response_format()
        return msgspec.json.encode(body)

    def _headers(self) -> dict[str, str]:
        cfg = self.config
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream, application/json;q=0.5",
            # Identity only: a compressed stream cannot be bounded before it is decompressed.
            "Accept-Encoding": "identity",
            "User-Agent": "aiclone-llm/1.0",
        }
        if cfg.api_key:
            if cfg.api_key_header == "api-key":
                headers["api-key"] = cfg.api_key.reveal()
            else:
                headers["Authorization"] = f"Bearer {cfg.api_key.reveal()}"
        return headers

    def _backoff(self, attempt: int) -> float:
        cfg = self.config
        ceiling = min(cfg.retry_max_seconds, cfg.retry_base_seconds * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + self._rng.random() / 2)

    async def _attempt(
        self, body: bytes, number: int, on_text: OnText | None, prompt_chars: int
    ) -> Completion:
        cfg = self.config
        try:
            async with asyncio.timeout(cfg.timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise LLMError(
                FailureReason.BUSY,
                f"no free language model slot within {cfg.timeout:g} s ({cfg.concurrency} calls in progress)",
            ) from None
        try:
            probe = self.breaker.before_attempt()
            try:
                completion = await self._send(body, number, on_text, prompt_chars)
            except _Retry as retry:
                self._judge(retry.error, probe)
                raise
            except LLMError as exc:
                self._judge(exc, probe)
                raise
            except BaseException:
                if probe:
                    self.breaker.release_probe()
                raise
            self.breaker.success(probe=probe)
            return completion
        finally:
            self._slots.release()

    def _judge(self, error: LLMError, probe: bool) -> None:
        if error.transient or error.reason in (
            FailureReason.AUTH,
            FailureReason.PROTOCOL,
            FailureReason.QUOTA,
        ):
            self.breaker.failure(str(error), probe=probe)
        elif probe:
            self.breaker.release_probe()

    async def _send(self, body: bytes, number: int, on_text: OnText | None, prompt_chars: int) -> Completion:
        cfg = self.config
        attempt = _Attempt(number, on_text)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(cfg.timeout):
                async with self._http().stream(
                    "POST", cfg.url, content=body, headers=self._headers()
                ) as response:
                    await self._check_status(response)
                    await self._read(response, attempt)
        except TimeoutError:
            raise _Retry(
                LLMError(
                    FailureReason.TIMEOUT, f"the provider did not finish answering within {cfg.timeout:g} s"
                )
            ) from None
        except ForbiddenAddress as exc:
            raise LLMError(
                FailureReason.FORBIDDEN_ADDRESS,
                f"the language model base URL is refused by the address guard: {exc}"
                " (set AICLONE_LLM_ALLOW_PRIVATE=true for a provider on a private network)",
            ) from None
        except httpx.TimeoutException as exc:
            what = "connecting to" if isinstance(exc, httpx.ConnectTimeout) else "waiting for"
            limit = cfg.connect_timeout if isinstance(exc, httpx.ConnectTimeout) else cfg.read_timeout
            raise _Retry(
                LLMError(FailureReason.TIMEOUT, f"timed out {what} the provider (after {limit:g} s)")
            ) from None
        except httpx.HTTPError as exc:
            detail = redact(str(exc) or type(exc).__name__, cfg.api_key.reveal())
            raise _Retry(LLMError(FailureReason.CONNECT, f"could not reach the provider: {detail}")) from None
        return self._completion(attempt, prompt_chars, time.perf_counter() - started)

    def _completion(self, attempt: _Attempt, prompt_chars: int, seconds: float) -> Completion:
        text = attempt.text
        if not text and attempt.refusal:
            raise LLMError(
                FailureReason.REJECTED,
                f"the model refused: {redact(attempt.refusal, self.config.api_key.reveal())}",
            )
        sent = attempt.usage
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
            model=attempt.model or self.config.model,
            finish_reason=attempt.finish_reason,
            attempts=attempt.number,
            provider_seconds=seconds,
        )

    async def _check_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        message = await self._error_text(response)
        cfg = self.config
        if status == 429:
            # OpenAI's code for an exhausted balance: waiting will not help. Other 429s are rate
            # limits (Azure's "exceeded token rate limit … retry after" included) and are retried.
            if "insufficient_quota" in message:
                raise LLMError(
                    FailureReason.QUOTA, f"the provider's quota is exhausted: {message}", status=status
                )
            wait = _retry_after(response.headers.get("retry-after"))
            wait = None if wait is None else min(wait, cfg.retry_after_max_seconds)
            raise _Retry(
                LLMError(
                    FailureReason.RATE_LIMITED,
                    f"the provider is rate limiting (HTTP 429): {message}",
                    status=429,
                ),
                wait,
            )
        if status in RETRY_STATUSES or status >= 500:
            raise _Retry(
                LLMError(
                    FailureReason.SERVER_ERROR,
                    f"the provider failed (HTTP {status}): {message}",
                    status=status,
                )
            )
        if status in (401, 403):
            raise LLMError(
                FailureReason.AUTH,
                f"the provider refused the credentials (HTTP {status}): {message}"
                " (check AICLONE_LLM_API_KEY)",
                status=status,
            )
        if status == 400 and self._stream_options and "stream_options" in message:
            # Some servers predate stream_options; ask again without it (and estimate usage).
            self._stream_options = False
            raise _Retry(LLMError(FailureReason.REJECTED, message, status=status))
        raise LLMError(
            FailureReason.REJECTED,
            f"the provider rejected the request (HTTP {status}): {message}",
            status=status,
        )

    async def _error_text(self, response: httpx.Response) -> str:
        raw = bytearray()
        try:
            async for chunk in response.aiter_raw():
                raw += chunk
                if len(raw) > 16 * 1024:
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
        return redact(text, self.config.api_key.reveal()) or "no details"

    async def _read(self, response: httpx.Response, attempt: _Attempt) -> None:
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise _Retry(LLMError(FailureReason.PROTOCOL, f"the provider sent a {encoding!r}-encoded answer"))
        mime = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if mime == "application/json":
            # A server that ignores "stream": the whole answer at once.
            raw = bytearray()
            async for chunk in self._bounded(response):
                raw += chunk
            await attempt.take(self._decode(bytes(raw)))
            return
        done = False
        async for line in _lines(self._bounded(response)):
            if not line.startswith(b"data:"):
                continue  # comments (": keep-alive"), event:, id:, retry:
            data = line[5:].strip()
            if data == b"[DONE]":
                # Read on to the end of the body (nothing should follow) so the connection
                # goes back to the pool instead of being dropped.
                done = True
                continue
            if data and not done:
                await attempt.take(self._decode(data))
        if not done and attempt.finish_reason is None:
            raise _Retry(
                LLMError(FailureReason.PROTOCOL, "the provider's stream ended before the answer was complete")
            )

    def _decode(self, data: bytes) -> _Chunk:
        try:
            chunk = _chunk_decoder.decode(data)
        except msgspec.DecodeError as exc:
            raise _Retry(
                LLMError(FailureReason.PROTOCOL, f"the provider sent an unreadable chunk ({exc})")
            ) from None
        if chunk.error is not None:
            detail = chunk.error.get("message") if isinstance(chunk.error, dict) else chunk.error
            raise _Retry(
                LLMError(
                    FailureReason.SERVER_ERROR,
                    f"the provider failed mid-answer: {redact(str(detail), self.config.api_key.reveal())}",
                )
            )
        return chunk

    async def _bounded(self, response: httpx.Response) -> AsyncIterator[bytes]:
        cap = self.config.max_response_bytes
        received = 0
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if received > cap:
                raise LLMError(
                    FailureReason.TOO_LARGE, f"the provider's answer passed the limit of {cap} bytes"
                )
            yield chunk

    # -- metrics

    def _count_failure(self, purpose: str, reason: FailureReason) -> None:
        if self.metrics is not None:
            self.metrics.llm_failures.labels(purpose=purpose, reason=reason.value).inc()

    def _observe(self, purpose: str, outcome: str, usage: Usage | None, started: float) -> None:
        if self.metrics is None:
            return
        self.metrics.llm_requests.labels(purpose=purpose, outcome=outcome).inc()
        self.metrics.llm_latency.labels(purpose=purpose).observe(time.perf_counter() - started)
        if usage is not None:
            self.metrics.llm_tokens.labels(purpose=purpose, direction="in").inc(usage.input_tokens)
            self.metrics.llm_tokens.labels(purpose=purpose, direction="out").inc(usage.output_tokens)


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


def _retry_after(value: str | None) -> float | None:
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
