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
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpcore
import httpx
import msgspec

from aiclone.llm.breaker import BreakerState, CircuitBreaker
from aiclone.llm.completion import ChatMessage, Completion, JsonSchema, OnText, ProviderStatus, Usage
from aiclone.llm.config import LLMConfig
from aiclone.llm.errors import FailureReason, LLMError, redact
from aiclone.llm.protocol import Attempt, Retry, error_text, read_answer, status_failure
from aiclone.metrics import Metrics
from aiclone.netguard import ForbiddenAddress, Resolver, guarded_client

logger = logging.getLogger("aiclone.llm")


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
                except Retry as retry:
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
            except Retry as retry:
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
        attempt = Attempt(number, on_text)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(cfg.timeout):
                async with self._http().stream(
                    "POST", cfg.url, content=body, headers=self._headers()
                ) as response:
                    await self._check_status(response)
                    await read_answer(
                        response, attempt, cap=cfg.max_response_bytes, secret=cfg.api_key.reveal()
                    )
        except TimeoutError:
            raise Retry(
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
            raise Retry(
                LLMError(FailureReason.TIMEOUT, f"timed out {what} the provider (after {limit:g} s)")
            ) from None
        except httpx.HTTPError as exc:
            detail = redact(str(exc) or type(exc).__name__, cfg.api_key.reveal())
            raise Retry(LLMError(FailureReason.CONNECT, f"could not reach the provider: {detail}")) from None
        return attempt.completion(
            prompt_chars=prompt_chars,
            seconds=time.perf_counter() - started,
            model=cfg.model,
            secret=cfg.api_key.reveal(),
        )

    async def _check_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        message = await error_text(response, self.config.api_key.reveal())
        if status == 400 and self._stream_options and "stream_options" in message:
            # Some servers predate stream_options; ask again without it (and estimate usage).
            self._stream_options = False
            raise Retry(LLMError(FailureReason.REJECTED, message, status=status))
        raise status_failure(
            status,
            message,
            response.headers.get("retry-after"),
            retry_after_max=self.config.retry_after_max_seconds,
        )

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
