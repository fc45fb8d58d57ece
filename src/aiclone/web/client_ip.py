"""Which address a request comes from, for rate limiting and logs.

The address is the socket peer. Only when the peer is one of ``AICLONE_TRUSTED_PROXIES`` is
``X-Forwarded-For`` read, from right to left: each hop that is itself a trusted proxy is
skipped and the first one that is not is the client. Everything left of that hop was written
by the client and is ignored, so a client that rotates ``X-Forwarded-For`` values from an
untrusted address (or behind one trusted proxy) stays in one bucket. A hop that is not an IP
address stops the walk at the last address a trusted proxy vouched for.

For rate limiting an IPv6 client is bucketed by its /64 network: one host usually owns a whole
/64 and can pick any address in it at will.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# More hops than any sane proxy chain; bounds the work a forged header can cause.
MAX_FORWARDED_HOPS = 16


def _parse_ip(text: str) -> IPAddress | None:
    value = text.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443" style
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.9:5000"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


# The socket peer of every request is one of the few addresses that hold connections: parsed
# once each (parsing is pure; the bound keeps a scan of many addresses from growing it).
_peer_ip = functools.lru_cache(maxsize=4096)(_parse_ip)


class ClientAddressResolver:
    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self._trusted: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(cidr, strict=False) for cidr in trusted_proxies
        )

    def _is_trusted(self, address: IPAddress) -> bool:
        return any(address in network for network in self._trusted)

    def resolve(self, peer: str | None, forwarded_for: Sequence[bytes]) -> str:
        """The client address as text (the peer's text as-is when it is not an IP address)."""
        if not peer:
            return "unknown"
        peer_ip = _peer_ip(peer)
        if peer_ip is None:
            return peer
        if not self._trusted or not forwarded_for or not self._is_trusted(peer_ip):
            return str(peer_ip)
        hops = [hop for value in forwarded_for for hop in value.decode("latin-1").split(",")]
        client = peer_ip
        for hop in reversed(hops[-MAX_FORWARDED_HOPS:]):
            address = _parse_ip(hop)
            if address is None:
                break
            client = address
            if not self._is_trusted(address):
                break
        return str(client)


def bucket_of(address: str) -> str:
    """The rate-limit bucket of an address: IPv4 as-is, IPv6 by its /64."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return address
