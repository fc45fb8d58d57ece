"""Outbound connections that cannot be pointed at internal addresses (SSRF guard).

Two parts, usable separately:

* :mod:`.addresses` — whether one IP address is forbidden, and why (:func:`classify`).
* :mod:`.transport` — the guarded httpx transport: each connection resolves the host once,
  checks every address and connects to a checked one (:class:`GuardedTransport`,
  :func:`guarded_client`, :class:`AddressGuard`).

The public names of both are importable from here.
"""

from __future__ import annotations

from aiclone.netguard.addresses import (
    IPAddress,
    Network,
    Reason,
    Refusal,
    classify,
    is_forbidden,
    parse_address,
)
from aiclone.netguard.transport import (
    AddressGuard,
    ForbiddenAddress,
    GuardedNetworkBackend,
    GuardedTransport,
    Resolver,
    guarded_client,
    system_resolver,
)

__all__ = [
    "AddressGuard",
    "ForbiddenAddress",
    "GuardedNetworkBackend",
    "GuardedTransport",
    "IPAddress",
    "Network",
    "Reason",
    "Refusal",
    "Resolver",
    "classify",
    "guarded_client",
    "is_forbidden",
    "parse_address",
    "system_resolver",
]
