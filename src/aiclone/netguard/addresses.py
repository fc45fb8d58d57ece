"""Which IP addresses an outbound connection may not reach, and why (the SSRF guard's rules).

:func:`classify` says whether one IP address is forbidden, and why. Loopback, private,
link-local, shared (CGNAT), multicast, reserved, unspecified, broadcast, benchmarking and
documentation ranges are refused, so are the cloud metadata endpoints and the IPv6 unique-local
and site-local ranges. IPv6 forms that carry an IPv4 address (IPv4-mapped, IPv4-compatible,
IPv4-translated, NAT64, 6to4, Teredo) are judged by the IPv4 address they carry. Any IPv6
address outside global unicast (2000::/3) is refused as reserved.

Pure functions of the address: no name resolution and no I/O here (see :mod:`.transport`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


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
