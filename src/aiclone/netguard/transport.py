"""Connections to untrusted URLs that cannot be pointed at internal addresses.

:class:`GuardedTransport` is an httpx transport whose connections go through
:class:`GuardedNetworkBackend`: for each new connection the host is resolved once
(:class:`AddressGuard`), every resolved address is checked (:func:`.addresses.classify`), and the
socket is opened to a checked address (never to the name again). A DNS answer that changes
between the check and the connect therefore cannot reach an internal address (DNS rebinding),
redirects are checked like any other request, and TLS still verifies the certificate against the
original host name. A refused address raises :class:`ForbiddenAddress`, an ``httpx.ConnectError``.

``allow_private=True`` turns the address check off (local development and tests); the transport
still resolves once and connects to the resolved address.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any

import httpcore
import httpx

from aiclone.netguard.addresses import IPAddress, Refusal, classify, parse_address

# Answers the addresses of a host name; the default asks the system resolver.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


class ForbiddenAddress(httpx.ConnectError):
    """A connection was refused because the host resolves to a forbidden address."""

    def __init__(self, host: str, refusal: Refusal) -> None:
        self.host = host
        self.refusal = refusal
        if str(refusal.address) == host.strip("[]"):
            message = f"refused to connect to {refusal}"
        else:
            message = f"refused to connect to {host}: it resolves to {refusal}"
        super().__init__(message)


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [str(info[4][0]) for info in infos]


class AddressGuard:
    """Resolves a host once and checks every address it resolves to."""

    def __init__(self, *, allow_private: bool = False, resolver: Resolver | None = None) -> None:
        self.allow_private = allow_private
        self.resolver = resolver or system_resolver

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """The addresses to connect to, in resolver order; ForbiddenAddress if any one is refused.

        Refusing the whole answer when one address is bad (rather than dropping that address)
        keeps a name that mixes public and internal answers from being usable at all.
        """
        addresses = await self._lookup(host, port)
        if not self.allow_private:
            for ip in addresses:
                refusal = classify(ip)
                if refusal is not None:
                    raise ForbiddenAddress(host, refusal)
        return addresses

    async def _lookup(self, host: str, port: int) -> list[IPAddress]:
        try:
            return [parse_address(host)]
        except ValueError:
            pass  # a name, not an address literal
        try:
            answers = await self.resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"could not resolve {host}: {exc}") from exc
        addresses: list[IPAddress] = []
        for answer in answers:
            ip = parse_address(answer)
            if ip not in addresses:
                addresses.append(ip)
        if not addresses:
            raise httpcore.ConnectError(f"could not resolve {host}: no addresses")
        return addresses


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that only opens sockets to addresses the guard accepted."""

    def __init__(self, guard: AddressGuard, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.guard = guard
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        try:
            async with asyncio.timeout(timeout):
                addresses = await self.guard.resolve(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        last_error: Exception | None = None
        for address in addresses:
            remaining = None if deadline is None else max(deadline - loop.time(), 0.001)
            try:
                return await self.inner.connect_tcp(
                    str(address),
                    port,
                    timeout=remaining,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,  # noqa: ARG002 - httpcore's backend interface
        timeout: float | None = None,  # noqa: ARG002, ASYNC109
        socket_options: Iterable[Any] | None = None,  # noqa: ARG002
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not reachable through the guarded transport")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


# httpcore's exceptions and the httpx ones callers expect (httpx names each as httpcore does),
# most specific first.
_EXCEPTION_MAP: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = tuple(
    (getattr(httpcore, name), getattr(httpx, name))
    for name in (
        "ConnectTimeout",
        "ReadTimeout",
        "WriteTimeout",
        "PoolTimeout",
        "TimeoutException",
        "ConnectError",
        "ReadError",
        "WriteError",
        "NetworkError",
        "RemoteProtocolError",
        "LocalProtocolError",
        "ProtocolError",
        "UnsupportedProtocol",
    )
)


def _translate(exc: Exception) -> Exception:
    if isinstance(exc, httpx.HTTPError):
        return exc
    for source, target in _EXCEPTION_MAP:
        if isinstance(exc, source):
            return target(str(exc))
    return exc


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except Exception as exc:
            translated = _translate(exc)
            if translated is exc:
                raise
            raise translated from exc

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport for untrusted URLs: no proxies, no unix sockets, guarded connections.

    Use it with ``httpx.AsyncClient(transport=..., trust_env=False)`` so environment proxy
    settings cannot route around it.
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        resolver: Resolver | None = None,
        limits: httpx.Limits | None = None,
        ssl_context: ssl.SSLContext | None = None,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.guard = AddressGuard(allow_private=allow_private, resolver=resolver)
        limits = limits or httpx.Limits(max_connections=10, max_keepalive_connections=5)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=GuardedNetworkBackend(self.guard, network_backend),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = await self._pool.handle_async_request(core_request)
        except Exception as exc:
            translated = _translate(exc)
            if translated is exc:
                raise
            raise translated from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


def guarded_client(
    *,
    allow_private: bool = False,
    resolver: Resolver | None = None,
    timeout: httpx.Timeout | float = 10.0,
    limits: httpx.Limits | None = None,
    headers: dict[str, str] | None = None,
    network_backend: httpcore.AsyncNetworkBackend | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient for untrusted URLs. Redirects are off: follow them by hand, each one a new
    request through the guard, with the caller's own limit. Pass a shared ``ssl_context`` when
    making many clients: building one loads the CA bundle (tens of milliseconds)."""
    return httpx.AsyncClient(
        transport=GuardedTransport(
            allow_private=allow_private,
            resolver=resolver,
            limits=limits,
            network_backend=network_backend,
            ssl_context=ssl_context,
        ),
        timeout=timeout,
        headers=headers,
        follow_redirects=False,
        trust_env=False,
    )
