"""The language model client against a local OpenAI-compatible server (tests/support/llm_provider.py)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator

import pytest

from aiclone.llm import (
    ApiKey,
    BreakerState,
    ChatMessage,
    FailureReason,
    JsonSchema,
    LLMClient,
    LLMConfig,
    LLMError,
    ProviderUnavailable,
    TextProgress,
)
from aiclone.metrics import Metrics
from aiclone.settings import LLMSettings, load_settings
from tests.support.llm_provider import Cut, Fail, Hang, LLMProvider, Stream, Whole

KEY = "sk-test-0123456789abcdefSECRETKEY"
MESSAGES = [ChatMessage("system", "You are terse."), ChatMessage("user", "Say hello.")]


@pytest.fixture
def provider() -> Iterator[LLMProvider]:
    server = LLMProvider()
    yield server
    server.close()


def config(provider: LLMProvider, **overrides: object) -> LLMConfig:
    values: dict[str, object] = {
        "base_url": provider.base_url,
        "api_key": ApiKey(KEY),
        "model": "test-model",
        "allow_private": True,
        "retry_base_seconds": 0.01,
        "retry_max_seconds": 0.05,
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
        "timeout": 10.0,
    }
    values.update(overrides)
    return LLMConfig(**values)  # type: ignore[arg-type]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_streams_deltas_and_reports_usage(provider: LLMProvider) -> None:
    provider.script(Stream(["Hel", "lo, ", "world."], delay=0.01, usage=(21, 7)))
    seen: list[TextProgress] = []

    async def on_text(progress: TextProgress) -> None:
        seen.append(progress)

    client = LLMClient(config(provider, max_output_tokens=300))
    schema = JsonSchema("greeting", {"type": "object", "properties": {"a": {"type": "string"}}})
    try:
        result = await client.complete(MESSAGES, schema=schema, max_tokens=500, on_text=on_text)
    finally:
        await client.aclose()
    assert result.text == "Hello, world."
    assert [p.delta for p in seen] == ["Hel", "lo, ", "world."]
    assert [p.text for p in seen] == ["Hel", "Hello, ", "Hello, world."]
    assert result.usage.input_tokens == 21
    assert result.usage.output_tokens == 7
    assert not result.usage.estimated
    assert result.finish_reason == "stop"
    assert result.attempts == 1
    (request,) = provider.received()
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body["model"] == "test-model"
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}
    assert request.body["max_tokens"] == 300  # capped at the configured maximum
    assert request.body["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Say hello."},
    ]
    assert request.body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "greeting", "schema": schema.schema, "strict": True},
    }


async def test_calls_reuse_one_connection(provider: LLMProvider) -> None:
    # The body ends a little after [DONE]: a client that stops reading there drops the connection.
    provider.script(default=Stream.text("again and again", pieces=5, tail_delay=0.05))
    client = LLMClient(config(provider))
    try:
        for _ in range(3):
            await client.complete(MESSAGES)
    finally:
        await client.aclose()
    assert len({request.peer for request in provider.received()}) == 1


async def test_azure_rate_limit_wording_is_retried_not_taken_for_quota(provider: LLMProvider) -> None:
    message = (
        "Requests have exceeded token rate limit of your current quota tier. Please retry after 1 second."
    )
    provider.script(Fail(429, {"error": {"message": message, "code": "429"}}), Stream.text("ok"))
    client = LLMClient(config(provider, retry_after_max_seconds=0.05))
    try:
        assert (await client.complete(MESSAGES)).text == "ok"
    finally:
        await client.aclose()


async def test_usage_is_estimated_when_the_provider_sends_none(provider: LLMProvider) -> None:
    provider.script(Stream.text("x" * 40, usage=None))
    client = LLMClient(config(provider))
    try:
        result = await client.complete(MESSAGES)
    finally:
        await client.aclose()
    prompt_chars = sum(len(m.content) for m in MESSAGES)
    assert result.usage.estimated
    assert result.usage.output_tokens == 10
    assert result.usage.input_tokens == -(-prompt_chars // 4)


async def test_a_non_streamed_answer_is_accepted(provider: LLMProvider) -> None:
    provider.script(Whole("all at once", usage=(12, 3)))
    client = LLMClient(config(provider))
    try:
        result = await client.complete(MESSAGES)
    finally:
        await client.aclose()
    assert result.text == "all at once"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (12, 3)


async def test_azure_style_key_header_and_query_are_kept(provider: LLMProvider) -> None:
    provider.script(Stream.text("ok"))
    client = LLMClient(
        config(provider, base_url=provider.base_url + "/?api-version=2024-10-21", api_key_header="api-key")
    )
    try:
        await client.complete(MESSAGES)
    finally:
        await client.aclose()
    (request,) = provider.received()
    assert request.path == "/v1/chat/completions?api-version=2024-10-21"
    assert request.headers["api-key"] == KEY
    assert "authorization" not in request.headers


async def test_429_waits_retry_after_then_succeeds(provider: LLMProvider) -> None:
    provider.script(
        Fail(429, {"error": {"message": "slow down", "type": "rate_limit"}}, {"Retry-After": "1"}),
        Stream.text("after the wait"),
    )
    client = LLMClient(config(provider, retry_base_seconds=0.0))
    try:
        result = await client.complete(MESSAGES)
    finally:
        await client.aclose()
    first, second = provider.received()
    assert result.text == "after the wait"
    assert result.attempts == 2
    assert second.at - first.at >= 0.95  # the provider's Retry-After, not the (zero) backoff


async def test_retry_after_is_capped(provider: LLMProvider) -> None:
    provider.script(Fail(429, headers={"Retry-After": "3600"}), Stream.text("ok"))
    client = LLMClient(config(provider, retry_after_max_seconds=0.2))
    try:
        result = await client.complete(MESSAGES)
    finally:
        await client.aclose()
    first, second = provider.received()
    assert result.text == "ok"
    assert second.at - first.at >= 0.19


async def test_insufficient_quota_is_not_retried(provider: LLMProvider) -> None:
    provider.script(
        Fail(429, {"error": {"message": "You exceeded your quota", "code": "insufficient_quota"}})
    )
    client = LLMClient(config(provider))
    try:
        with pytest.raises(LLMError) as caught:
            await client.complete(MESSAGES)
    finally:
        await client.aclose()
    assert caught.value.reason == FailureReason.QUOTA
    assert len(provider.received()) == 1


async def test_5xx_are_retried_with_backoff_until_the_attempts_run_out(provider: LLMProvider) -> None:
    metrics = Metrics()
    provider.script(Fail(500), Fail(503), default=Fail(502))
    client = LLMClient(config(provider, max_attempts=3), metrics=metrics)
    try:
        with pytest.raises(LLMError) as caught:
            await client.complete(MESSAGES)
    finally:
        await client.aclose()
    assert caught.value.reason == FailureReason.SERVER_ERROR
    assert "HTTP 502" in str(caught.value)
    assert "scripted failure" in str(caught.value)
    assert len(provider.received()) == 3
    failures = metrics.registry.get_sample_value(
        "aiclone_llm_failures_total", {"purpose": "research", "reason": "server_error"}
    )
    assert failures == 3
    assert (
        metrics.registry.get_sample_value(
            "aiclone_llm_requests_total", {"purpose": "research", "outcome": "server_error"}
        )
        == 1
    )


async def test_a_5xx_then_success_records_tokens(provider: LLMProvider) -> None:
    metrics = Metrics()
    provider.script(Fail(500), Stream.text("fine", usage=(30, 4)))
    client = LLMClient(config(provider), metrics=metrics)
    try:
        result = await client.complete(MESSAGES, purpose="outreach")
    finally:
        await client.aclose()
    assert result.attempts == 2
    sample = metrics.registry.get_sample_value
    assert sample("aiclone_llm_tokens_total", {"purpose": "outreach", "direction": "in"}) == 30
    assert sample("aiclone_llm_tokens_total", {"purpose": "outreach", "direction": "out"}) == 4
    assert sample("aiclone_llm_requests_total", {"purpose": "outreach", "outcome": "ok"}) == 1
    assert sample("aiclone_llm_request_duration_seconds_count", {"purpose": "outreach"}) == 1
    exposed = metrics.render().decode()
    for name in ("aiclone_llm_requests_total", "aiclone_llm_tokens_total", "aiclone_llm_failures_total"):
        assert name in exposed
    assert KEY not in exposed


async def test_other_4xx_fail_at_once_with_the_reason(provider: LLMProvider) -> None:
    provider.script(
        Fail(400, {"error": {"message": "model 'nope' does not exist", "type": "invalid_request"}})
    )
    client = LLMClient(config(provider))
    try:
        with pytest.raises(LLMError) as caught:
            await client.complete(MESSAGES)
    finally:
        await client.aclose()
    assert caught.value.reason == FailureReason.REJECTED
    assert caught.value.status == 400
    assert "model 'nope' does not exist" in str(caught.value)
    assert len(provider.received()) == 1


async def test_the_api_key_never_appears_in_errors_or_logs(
    provider: LLMProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {"error": {"message": f"Incorrect API key provided: {KEY}. Also {KEY[:10]}****{KEY[-4:]}"}}
    provider.script(Fail(500, echo), Fail(401, echo))
    client = LLMClient(config(provider))
    try:
        with pytest.raises(LLMError) as caught:
            await client.complete(MESSAGES)
    finally:
        await client.aclose()
    assert caught.value.reason == FailureReason.AUTH
    assert "AICLONE_LLM_API_KEY" in str(caught.value)
    shown = str(caught.value) + repr(caught.value) + caplog.text + repr(client) + repr(client.config)
    assert "Incorrect API key provided" in str(caught.value)
    assert KEY not in shown
    assert KEY[:10] not in shown
    assert KEY[-8:] not in shown
    assert "attempt 1 failed" in caplog.text  # the retry was logged, redacted


def test_settings_and_config_do_not_print_the_key() -> None:
    settings = load_settings(
        {
            "AICLONE_LLM_BASE_URL": "https://api.openai.com/v1",
            "AICLONE_LLM_MODEL": "m",
            "AICLONE_LLM_API_KEY": KEY,
        },
        dotenv=None,
    )
    assert settings.llm.api_key.reveal() == KEY
    config = LLMConfig.from_settings(settings.llm)
    assert config.api_key.reveal() == KEY
    assert KEY not in repr(config)
    assert KEY not in str(config.api_key)
    assert KEY not in repr(settings)


async def test_a_hanging_provider_fails_within_the_read_timeout(provider: LLMProvider) -> None:
    provider.script(Hang(), Hang(headers_first=True))
    client = LLMClient(config(provider, read_timeout=0.3, max_attempts=1))
    try:
        for _ in range(2):
            with pytest.raises(LLMError) as caught:
                await asyncio.wait_for(client.complete(MESSAGES), timeout=20)
            assert caught.value.reason == FailureReason.TIMEOUT
            assert "0.3 s" in str(caught.value)
    finally:
        await client.aclose()


async def test_a_dripping_stream_fails_at_the_attempt_deadline(provider: LLMProvider) -> None:
    provider.script(Stream(["x"] * 200, delay=0.05))
    seen: list[str] = []

    async def on_text(progress: TextProgress) -> None:
        seen.append(progress.delta)

    client = LLMClient(config(provider, read_timeout=5.0, timeout=0.5, max_attempts=1))
    try:
        with pytest.raises(LLMError) as caught:
            await asyncio.wait_for(client.complete(MESSAGES, on_text=on_text), timeout=20)
    finally:
        await client.aclose()
    assert caught.value.reason == FailureReason.TIMEOUT
    assert "within 0.5 s" in str(caught.value)
    assert 0 < len(seen) < 200  # it was read as it arrived, and cut


async def test_an_answer_over_the_size_limit_is_refused(provider: LLMProvider) -> None:
    provider.script(Stream.text("y" * 20_000, pieces=20))
    client = LLMClient(config(provider, max_response_bytes=4096))
    try:
        with pytest.raises(LLMError) as caught:
            await client.complete(MESSAGES)
    finally:
        await client.aclose()
    assert caught.value.reason == FailureReason.TOO_LARGE
    assert len(provider.received()) == 1  # not retried


async def test_a_stream_cut_mid_answer_is_retried_from_the_start(provider: LLMProvider) -> None:
    provider.script(Cut(["partial ", "answ"]), Stream(["complete ", "answer"]))
    seen: list[TextProgress] = []

    async def on_text(progress: TextProgress) -> None:
        seen.append(progress)

    client = LLMClient(config(provider))
    try:
        result = await client.complete(MESSAGES, on_text=on_text)
    finally:
        await client.aclose()
    assert result.text == "complete answer"
    assert result.attempts == 2
    assert seen[0].attempt == 1
    assert seen[-1].attempt == 2
    assert [p.text for p in seen if p.attempt == 2] == ["complete ", "complete answer"]


async def test_a_server_without_stream_options_is_asked_again_without_them(provider: LLMProvider) -> None:
    provider.script(
        Fail(400, {"error": {"message": "Unrecognized request argument supplied: stream_options"}}),
        Stream.text("ok"),
    )
    client = LLMClient(config(provider))
    try:
        result = await client.complete(MESSAGES)
    finally:
        await client.aclose()
    first, second = provider.received()
    assert "stream_options" in first.body
    assert "stream_options" not in second.body
    assert result.usage.estimated


async def test_the_breaker_opens_fails_fast_and_probes(provider: LLMProvider) -> None:
    clock = FakeClock()
    provider.script(default=Fail(500))
    client = LLMClient(
        config(provider, max_attempts=1, breaker_threshold=2, breaker_cooldown_seconds=30), clock=clock
    )
    try:
        for _ in range(2):
            with pytest.raises(LLMError):
                await client.complete(MESSAGES)
        assert client.breaker.state == BreakerState.OPEN
        assert not client.status().available
        assert "language model provider unavailable" in (client.status().reason or "")
        with pytest.raises(ProviderUnavailable) as caught:
            await client.complete(MESSAGES)
        assert str(caught.value).startswith(
            "language model provider unavailable: the provider failed (HTTP 500)"
        )
        assert len(provider.received()) == 2  # failed fast: no request sent

        clock.now += 31  # the cool-down is over: one probe goes, and fails
        with pytest.raises(LLMError) as probe_failure:
            await client.complete(MESSAGES)
        assert not isinstance(probe_failure.value, ProviderUnavailable)
        assert len(provider.received()) == 3
        assert client.breaker.state == BreakerState.OPEN

        clock.now += 31
        provider.script(Stream.text("back"), default=Stream.text("again"))
        assert (await client.complete(MESSAGES)).text == "back"
        assert client.breaker.state == BreakerState.CLOSED
        assert (await client.complete(MESSAGES)).text == "again"
    finally:
        await client.aclose()


async def test_half_open_lets_one_probe_through(provider: LLMProvider) -> None:
    clock = FakeClock()
    provider.script(Fail(500), Stream(["slow probe"], first_delay=0.5))
    client = LLMClient(
        config(provider, max_attempts=1, breaker_threshold=1, breaker_cooldown_seconds=5), clock=clock
    )
    try:
        with pytest.raises(LLMError):
            await client.complete(MESSAGES)
        clock.now += 6
        probe = asyncio.create_task(client.complete(MESSAGES))
        await provider.wait_for(2)
        with pytest.raises(ProviderUnavailable, match="probe request is in progress"):
            await client.complete(MESSAGES)
        assert (await probe).text == "slow probe"
        assert client.status().available
    finally:
        await client.aclose()


async def test_request_errors_do_not_trip_the_breaker(provider: LLMProvider) -> None:
    provider.script(default=Fail(400, {"error": {"message": "bad prompt"}}))
    client = LLMClient(config(provider, breaker_threshold=1))
    try:
        for _ in range(3):
            with pytest.raises(LLMError) as caught:
                await client.complete(MESSAGES)
            assert caught.value.reason == FailureReason.REJECTED
        assert client.breaker.state == BreakerState.CLOSED
    finally:
        await client.aclose()


async def test_concurrency_is_limited_per_client(provider: LLMProvider) -> None:
    provider.script(Stream(["one"], first_delay=0.6), Stream(["two"]))
    client = LLMClient(config(provider, concurrency=1))
    try:
        first = asyncio.create_task(client.complete(MESSAGES))
        await provider.wait_for(1)
        second = asyncio.create_task(client.complete(MESSAGES))
        await asyncio.sleep(0.3)
        assert len(provider.received()) == 1  # the second call waits for the slot
        assert (await first).text == "one"
        assert (await second).text == "two"
    finally:
        await client.aclose()


async def test_the_guard_refuses_a_private_base_url_unless_allowed(provider: LLMProvider) -> None:
    client = LLMClient(config(provider, allow_private=False))
    try:
        with pytest.raises(LLMError) as caught:
            await client.complete(MESSAGES)
    finally:
        await client.aclose()
    assert caught.value.reason == FailureReason.FORBIDDEN_ADDRESS
    assert "loopback" in str(caught.value)
    assert "AICLONE_LLM_ALLOW_PRIVATE" in str(caught.value)
    assert provider.received() == []


async def test_the_guard_checks_the_resolved_address_of_a_name(provider: LLMProvider) -> None:
    asked: list[str] = []

    async def internal(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["10.1.2.3"]  # a name of the provider that points into the private network

    url = f"http://llm.provider.test:{provider.port}/v1"
    client = LLMClient(config(provider, base_url=url, allow_private=False), resolver=internal)
    try:
        with pytest.raises(LLMError) as caught:
            await client.complete(MESSAGES)
    finally:
        await client.aclose()
    assert asked == ["llm.provider.test"]
    assert caught.value.reason == FailureReason.FORBIDDEN_ADDRESS
    assert "10.1.2.3" in str(caught.value)
    assert "private" in str(caught.value)

    async def local(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    provider.script(Stream.text("through the allowed name"))
    allowed = LLMClient(config(provider, base_url=url, allow_private=True), resolver=local)
    try:
        assert (await allowed.complete(MESSAGES)).text == "through the allowed name"
    finally:
        await allowed.aclose()
    (request,) = provider.received()
    assert request.headers["host"] == f"llm.provider.test:{provider.port}"


async def test_without_a_provider_the_client_says_why() -> None:
    client = LLMClient(LLMConfig())
    status = client.status()
    assert not status.available
    assert "AICLONE_LLM_BASE_URL" in (status.reason or "")
    with pytest.raises(LLMError) as caught:
        await client.complete(MESSAGES)
    assert caught.value.reason == FailureReason.NOT_CONFIGURED


def test_settings_validate_the_provider() -> None:
    from aiclone.settings import SettingsError

    with pytest.raises(SettingsError, match="AICLONE_LLM_MODEL"):
        LLMSettings(base_url="https://api.openai.com/v1")
    with pytest.raises(SettingsError, match="AICLONE_LLM_BASE_URL"):
        LLMSettings(base_url="ftp://x", model="m")
    with pytest.raises(SettingsError, match="AICLONE_LLM_BASE_URL"):
        LLMSettings(base_url="https://user:pw@x/v1", model="m")
    with pytest.raises(SettingsError, match="AICLONE_LLM_MAX_ATTEMPTS"):
        LLMSettings(max_attempts=0)


@pytest.mark.skipif(
    not os.environ.get("AICLONE_TEST_LLM_BASE_URL"), reason="AICLONE_TEST_LLM_BASE_URL not set"
)
async def test_a_real_provider_answers_a_schema() -> None:
    cfg = LLMConfig(
        base_url=os.environ["AICLONE_TEST_LLM_BASE_URL"],
        api_key=ApiKey(os.environ.get("AICLONE_TEST_LLM_API_KEY", "")),
        model=os.environ.get("AICLONE_TEST_LLM_MODEL", "gpt-4o-mini"),
        allow_private=os.environ.get("AICLONE_TEST_LLM_ALLOW_PRIVATE") == "1",
        max_output_tokens=100,
    )
    schema = JsonSchema(
        "answer",
        {
            "type": "object",
            "properties": {"word": {"type": "string"}},
            "required": ["word"],
            "additionalProperties": False,
        },
    )
    client = LLMClient(cfg)
    try:
        result = await client.complete(
            [ChatMessage("user", 'Answer with JSON {"word": "hello"}.')], schema=schema
        )
    finally:
        await client.aclose()
    assert "word" in result.text
    assert result.usage.output_tokens > 0
