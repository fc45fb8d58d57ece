"""Sending one attempt: the flavour's headers, one small client per endpoint, bounded time and body.

Each endpoint gets its own small connection pool (an httpx transport through the SSRF guard)
holding at most the per-endpoint concurrency, so a slow or hanging endpoint only ever ties up its
own connections (one shared client degrades badly with many requests in flight). Idle pools are
closed after a while. Requests go to the transport directly: no cookie jar carries state from
one delivery to the next, and redirects are never followed (a 3xx is a failed attempt).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

import httpx

from aiclone.db import utcnow
from aiclone.retry import parse_retry_after
from aiclone.webhooks.flavours import headers as flavour_headers
from aiclone.webhooks.models import Flavour
from aiclone.webhooks.transport import ErrorClass, UnsafeDestination, WebhookNetwork, classify_error

logger = logging.getLogger("aiclone.webhooks.sender")

RESPONSE_BODY_LIMIT = 16 * 1024
IDLE_CLIENT_SECONDS = 120.0


def user_agent() -> str:
    try:
        version = package_version("aiclone")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        version = "0.0.0"
    return f"aiclone-webhooks/{version}"


@dataclass(frozen=True, slots=True)
class Outcome:
    started_at: dt.datetime
    duration_ms: int
    status_code: int | None = None
    error_class: ErrorClass | None = None
    error: str | None = None
    response_body: str | None = None
    remote_address: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.error_class is None

    @property
    def gone(self) -> bool:
        return self.status_code == 410


@dataclass(slots=True)
class _Client:
    transport: httpx.AsyncBaseTransport
    last_used: float
    in_use: int = 0


class Sender:
    def __init__(
        self,
        network: WebhookNetwork,
        *,
        user_agent: str,
        connect_timeout: float,
        total_timeout: float,
        endpoint_concurrency: int,
    ) -> None:
        self.network = network
        self.user_agent = user_agent
        self.connect_timeout = connect_timeout
        self.total_timeout = total_timeout
        self.endpoint_concurrency = endpoint_concurrency
        self._clients: dict[uuid.UUID, _Client] = {}
        self._last_sweep = time.monotonic()
        self._timeouts = httpx.Timeout(total_timeout, connect=connect_timeout).as_dict()
        # httpx logs every request's full URL at INFO. Webhook URLs belong to customers and often
        # embed a token, so they stay out of the logs (httpx's warnings still come through).
        httpx_logger = logging.getLogger("httpx")
        if httpx_logger.getEffectiveLevel() < logging.WARNING:
            httpx_logger.setLevel(logging.WARNING)

    async def send(
        self,
        *,
        endpoint_id: uuid.UUID,
        url: str,
        msg_id: str,
        body: bytes,
        keys: list[bytes],
        flavour: str = Flavour.STANDARD.value,
    ) -> Outcome:
        started = utcnow()
        clock = time.perf_counter()
        timestamp = int(time.time())
        headers = flavour_headers(flavour, msg_id=msg_id, timestamp=timestamp, body=body, keys=keys)
        headers["content-type"] = "application/json"
        headers["user-agent"] = self.user_agent

        def elapsed() -> int:
            return int((time.perf_counter() - clock) * 1000)

        try:
            # The URL was checked when registered; production rules may have changed since.
            self.network.parse(url, flavour=flavour)
        except UnsafeDestination as exc:
            return Outcome(started, elapsed(), error_class="blocked", error=f"URL refused: {exc}")
        holder = self._client(endpoint_id)
        holder.in_use += 1
        # Straight to the endpoint's transport: no client-side cookie jar, redirect or auth logic,
        # and the httpx timeouts per phase under one overall deadline.
        request = httpx.Request(
            "POST", url, content=body, headers=headers, extensions={"timeout": self._timeouts}
        )
        try:
            async with asyncio.timeout(self.total_timeout):
                response = await holder.transport.handle_async_request(request)
                try:
                    kept = bytearray()
                    assert isinstance(response.stream, httpx.AsyncByteStream)
                    async for chunk in response.stream:
                        kept.extend(chunk)
                        if len(kept) >= RESPONSE_BODY_LIMIT:
                            break
                    remote = _remote_address(response)
                finally:
                    await response.aclose()
        except Exception as exc:
            kind = classify_error(exc)
            if kind == "internal":
                logger.exception("unexpected error sending %s", msg_id)
            detail = str(exc) or type(exc).__name__
            if kind == "timeout":
                detail = f"no complete answer within {self.total_timeout:g}s ({type(exc).__name__})"
            return Outcome(started, elapsed(), error_class=kind, error=detail[:500])
        finally:
            holder.in_use -= 1
            holder.last_used = time.monotonic()
        text = bytes(kept[:RESPONSE_BODY_LIMIT]).decode("utf-8", errors="replace")
        status = response.status_code
        if 200 <= status < 300:
            return Outcome(started, elapsed(), status, response_body=text, remote_address=remote)
        if 300 <= status < 400:
            location = response.headers.get("location", "")
            error = f"HTTP {status}: redirects are not followed (Location: {location[:300]})"
        else:
            error = f"HTTP {status}"
        return Outcome(
            started,
            elapsed(),
            status,
            error_class="http",
            error=error,
            response_body=text,
            remote_address=remote,
            retry_after=parse_retry_after(response.headers.get("retry-after"), utcnow()),
        )

    def _client(self, endpoint_id: uuid.UUID) -> _Client:
        now = time.monotonic()
        if now - self._last_sweep > IDLE_CLIENT_SECONDS / 4:
            self._last_sweep = now
            for key, idle in list(self._clients.items()):
                if idle.in_use == 0 and now - idle.last_used > IDLE_CLIENT_SECONDS:
                    del self._clients[key]
                    task = asyncio.get_running_loop().create_task(idle.transport.aclose())
                    task.add_done_callback(_log_failure)
        holder = self._clients.get(endpoint_id)
        if holder is None:
            holder = _Client(self.network.transport(max_connections=self.endpoint_concurrency), now)
            self._clients[endpoint_id] = holder
        return holder

    def forget(self, endpoint_id: uuid.UUID) -> None:
        """Drop an endpoint's client (its URL or resolver changed)."""
        holder = self._clients.pop(endpoint_id, None)
        if holder is not None:
            task = asyncio.get_running_loop().create_task(holder.transport.aclose())
            task.add_done_callback(_log_failure)

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for holder in clients:
            with contextlib.suppress(Exception):
                await holder.transport.aclose()


def _remote_address(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    try:
        address = stream.get_extra_info("server_addr")
    except Exception:  # noqa: BLE001 - diagnostic only
        return None
    if isinstance(address, tuple) and address:
        return str(address[0])[:64]
    return None


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("closing an idle webhook client failed: %r", task.exception())
