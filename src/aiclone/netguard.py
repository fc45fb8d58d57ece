"""Outbound connections that cannot be pointed at internal addresses (SSRF guard).

Two parts, usable separately:

* :func:`classify` says whether one IP address is forbidden, and why. Loopback, private,
  link-local, shared (CGNAT), multicast, reserved, unspecified, broadcast, benchmarking and
  documentation ranges are refused, so are the cloud metadata endpoints and the IPv6 unique-local
  and site-local ranges. IPv6 forms that carry an IPv4 address (IPv4-mapped, IPv4-compatible,
  IPv4-translated, NAT64, 6to4, Teredo) are judged by the IPv4 address they carry. Any IPv6
  address outside global unicast (2000::/3) is refused as reserved.
* :class:`GuardedTransport` is an httpx transport whose connections go through
  :class:`GuardedNetworkBackend`: for each new connection the host is resolved once, every
  resolved address is checked, and the socket is opened to a checked address (never to the
  name again). A DNS answer that changes between the check and the connect therefore cannot
  reach an internal address (DNS rebinding), redirects are checked like any other request, and
  TLS still verifies the certificate against the original host name. A refused address raises
  :class:`ForbiddenAddress`, an ``httpx.ConnectError``.

``allow_private=True`` turns the address check off (local development and tests); the transport
still resolves once and connects to the resolved address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Answers the addresses of a host name; the default asks the system resolver.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


class Reason(StrEnum):
    LOOPBACK = "loopback"
    PRIVATE = "private"
    LINK_LOCAL = "link-local"
    SHARED = "shared address space (carrier-grade NAT)"
    MULTICAST = "multicast"
    RESERVED = "reserved"
    UNSPECIFIED = "unspecified"
    BROADCAST = "broadcast"
    BENCHMARKING = "benchmarking"
    DOCUMENTATION = "documentation"
    CLOUD_METADATA = "cloud metadata"
    UNIQUE_LOCAL = "unique local"
    SITE_LOCAL = "site-local"


@dataclass(frozen=True)
class Refusal:
    """Why an address is forbidden: the range it falls in, and the IPv4 address it carries if any."""

    address: IPAddress
    reason: Reason
    # The forbidden range matched; None for IPv6 outside global unicast (2000::/3).
    network: Network | None
    embedded: ipaddress.IPv4Address | None = None
    form: str | None = None

    def __str__(self) -> str:
        where = f"({self.network})" if self.network is not None else "(outside global unicast 2000::/3)"
        if self.embedded is not None:
            return (
                f"{self.address} is the {self.form} form of {self.embedded},"
                f" a forbidden {self.reason.value} address {where}"
            )
        return f"{self.address} is a forbidden {self.reason.value} address {where}"


def _table(rows: Iterable[tuple[str, Reason]]) -> tuple[tuple[Network, Reason], ...]:
    return tuple((ipaddress.ip_network(cidr), reason) for cidr, reason in rows)


# Most specific first: the first matching row gives the reason.
_IPV4_FORBIDDEN = _table(
    [
        ("169.254.169.254/32", Reason.CLOUD_METADATA),  # AWS, GCP, Azure, OpenStack…
        ("169.254.170.2/32", Reason.CLOUD_METADATA),  # AWS ECS task metadata
        ("100.100.100.200/32", Reason.CLOUD_METADATA),  # Alibaba Cloud
        ("0.0.0.0/8", Reason.UNSPECIFIED),  # "this network"; 0.0.0.0 reaches the local host
        ("10.0.0.0/8", Reason.PRIVATE),
        ("100.64.0.0/10", Reason.SHARED),
        ("127.0.0.0/8", Reason.LOOPBACK),
        ("169.254.0.0/16", Reason.LINK_LOCAL),
        ("172.16.0.0/12", Reason.PRIVATE),
        ("192.0.0.0/24", Reason.RESERVED),  # IETF protocol assignments (incl. 192.0.0.192 metadata)
        ("192.0.2.0/24", Reason.DOCUMENTATION),
        ("192.88.99.0/24", Reason.RESERVED),  # former 6to4 relay anycast
        ("192.168.0.0/16", Reason.PRIVATE),
        ("198.18.0.0/15", Reason.BENCHMARKING),
        ("198.51.100.0/24", Reason.DOCUMENTATION),
        ("203.0.113.0/24", Reason.DOCUMENTATION),
        ("224.0.0.0/4", Reason.MULTICAST),
        ("255.255.255.255/32", Reason.BROADCAST),
        ("240.0.0.0/4", Reason.RESERVED),
    ]
)

_IPV6_FORBIDDEN = _table(
    [
        ("fd00:ec2::254/128", Reason.CLOUD_METADATA),  # AWS IMDS over IPv6
        ("::/128", Reason.UNSPECIFIED),
        ("::1/128", Reason.LOOPBACK),
        ("64:ff9b:1::/48", Reason.PRIVATE),  # local-use NAT64 prefix
        ("100::/64", Reason.RESERVED),  # discard-only
        ("2001:2::/48", Reason.BENCHMARKING),
        ("2001:db8::/32", Reason.DOCUMENTATION),
        ("3fff::/20", Reason.DOCUMENTATION),
        ("2001::/23", Reason.RESERVED),  # IETF protocol assignments (Teredo is judged before)
        ("fc00::/7", Reason.UNIQUE_LOCAL),
        ("fe80::/10", Reason.LINK_LOCAL),
        ("fec0::/10", Reason.SITE_LOCAL),
        ("ff00::/8", Reason.MULTICAST),
    ]
)

_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_RESERVED_V6 = ipaddress.IPv6Network("::/8")
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Forms whose last 32 bits are the IPv4 address (:: and ::1 are not IPv4-compatible addresses).
_LOW32_FORMS = (
    (_MAPPED, "IPv4-mapped"),
    (_TRANSLATED, "IPv4-translated"),
    (_NAT64, "NAT64"),
    (_COMPATIBLE, "IPv4-compatible"),
)
_TEREDO = ipaddress.IPv6Network("2001::/32")
_SIXTOFOUR = ipaddress.IPv6Network("2002::/16")


def _low32(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)


def _classify_v4(address: ipaddress.IPv4Address) -> Refusal | None:
    for network, reason in _IPV4_FORBIDDEN:
        if address in network:
            return Refusal(address, reason, network)
    return None


def _embedded_v4(address: ipaddress.IPv6Address) -> tuple[str, list[ipaddress.IPv4Address]] | None:
    """The IPv4 address(es) an IPv6 address stands for, with the name of the form."""
    if address in _TEREDO:
        assert address.teredo is not None
        server, client = address.teredo
        return "Teredo", [server, client]
    if address in _SIXTOFOUR:
        assert address.sixtofour is not None
        return "6to4", [address.sixtofour]
    for network, form in _LOW32_FORMS:
        if address in network and (form != "IPv4-compatible" or int(address) > 1):
            return form, [_low32(address)]
    return None


def _classify_v6(address: ipaddress.IPv6Address) -> Refusal | None:
    # A scope id ("fe80::1%eth0") does not change which range the address is in.
    address = ipaddress.IPv6Address(int(address))
    embedded = _embedded_v4(address)
    if embedded is not None:
        form, carried = embedded
        for v4 in carried:
            inner = _classify_v4(v4)
            if inner is not None:
                return Refusal(address, inner.reason, inner.network, embedded=v4, form=form)
        if form == "IPv4-compatible":
            # Deprecated since RFC 4291; nothing legitimate is reached this way.
            return Refusal(address, Reason.RESERVED, _RESERVED_V6)
        return None
    for network, reason in _IPV6_FORBIDDEN:
        if address in network:
            return Refusal(address, reason, network)
    if address not in _GLOBAL_UNICAST_V6:
        return Refusal(address, Reason.RESERVED, _RESERVED_V6 if address in _RESERVED_V6 else None)
    return None


def parse_address(value: str | IPAddress) -> IPAddress:
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    return ipaddress.ip_address(value.strip().removeprefix("[").removesuffix("]"))


def classify(address: str | IPAddress) -> Refusal | None:
    """None when ``address`` may be connected to; otherwise why not. Raises ValueError on non-IPs."""
    ip = parse_address(address)
    if isinstance(ip, ipaddress.IPv4Address):
        return _classify_v4(ip)
    return _classify_v6(ip)


def is_forbidden(address: str | IPAddress) -> bool:
    return classify(address) is not None


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


# httpcore's exceptions and the httpx ones callers expect, most specific first.
_EXCEPTION_MAP: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
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
