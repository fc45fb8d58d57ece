"""Where webhooks may be sent, and how the network is reached.

Every endpoint URL is checked twice: when it is registered or changed (:meth:`WebhookNetwork.check`:
syntax, scheme, and every address the host resolves to) and again on every connection the sender
opens (:class:`aiclone.netguard.GuardedTransport` resolves once, checks each address and connects
to the checked address, so a DNS answer that changes after registration — rebinding — cannot
reach an internal address). URLs are parsed with httpx, the same parser that sends them, so the
check and the request cannot disagree about the host.

A ``slack`` endpoint must, in production, be ``https://`` on a host of ``AICLONE_SLACK_WEBHOOK_HOSTS``
(default ``hooks.slack.com``); outside production any URL the other rules accept will do, so a
local stand-in for Slack can be used. The address checks apply to Slack URLs like to any other.

``AICLONE_WEBHOOK_ALLOW_PRIVATE=true`` (refused in production) turns the address checks off for
local development and the tests; ``http://`` is refused in production.
"""

from __future__ import annotations

import socket
import ssl
from typing import Literal

import httpx

from aiclone.netguard import (
    AddressGuard,
    ForbiddenAddress,
    GuardedTransport,
    Resolver,
    classify,
    parse_address,
)

ErrorClass = Literal["timeout", "connect", "dns", "tls", "blocked", "http", "interrupted", "internal"]
MAX_URL_LENGTH = 2048
# Names that are internal by definition, refused before any lookup.
_INTERNAL_NAMES = ("localhost", "localhost.localdomain", "metadata.google.internal", "metadata")
_INTERNAL_SUFFIXES = (".localhost", ".internal", ".local")


class UnsafeDestination(ValueError):
    """The URL may not receive webhooks; the message says why, for the API's field error."""

    def __init__(self, message: str, *, blocked: bool = False) -> None:
        super().__init__(message)
        self.blocked = blocked


class WebhookNetwork:
    """The one place that decides whether a URL may receive webhooks, and builds clients for it."""

    def __init__(
        self,
        *,
        allow_private: bool,
        production: bool,
        resolver: Resolver | None = None,
        slack_hosts: tuple[str, ...] = ("hooks.slack.com",),
    ) -> None:
        self.allow_private = allow_private
        self.production = production
        # In production a slack endpoint must be https on one of these hosts (exact names).
        self.slack_hosts = tuple(host.lower().rstrip(".") for host in slack_hosts)
        # Replaceable (tests simulate DNS answers with it); read each time a guard is built.
        self.resolver = resolver
        # Loading the CA bundle costs tens of milliseconds: one context serves every client.
        self._ssl_context: ssl.SSLContext | None = None

    def parse(self, raw: str, *, flavour: str = "standard") -> httpx.URL:
        """Syntax and policy checks that need no network."""
        if len(raw) > MAX_URL_LENGTH:
            raise UnsafeDestination(f"must be at most {MAX_URL_LENGTH} characters")
        if raw != raw.strip() or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in raw):
            raise UnsafeDestination("may not contain spaces or control characters")
        try:
            url = httpx.URL(raw)
        except (httpx.InvalidURL, ValueError) as exc:
            raise UnsafeDestination(f"is not a valid URL ({exc})") from None
        if url.scheme not in ("http", "https"):
            raise UnsafeDestination("must use https (or http outside production)")
        if url.scheme == "http" and self.production:
            raise UnsafeDestination("must use https in production")
        if not url.host:
            raise UnsafeDestination("must name a host")
        if url.userinfo:
            raise UnsafeDestination("may not contain credentials; authenticate with the signature")
        if url.fragment:
            raise UnsafeDestination("may not contain a fragment")
        if flavour == "slack" and self.production:
            host = url.host.lower().rstrip(".")
            if url.scheme != "https" or host not in self.slack_hosts or url.port not in (None, 443):
                allowed = ", ".join(f"https://{name}/..." for name in self.slack_hosts)
                raise UnsafeDestination(f"must be a Slack incoming-webhook URL ({allowed})")
        if not self.allow_private:
            self._check_host_name(url.host)
        return url

    def _check_host_name(self, host: str) -> None:
        try:
            literal = parse_address(host)
        except ValueError:
            name = host.rstrip(".").lower()
            if name in _INTERNAL_NAMES or name.endswith(_INTERNAL_SUFFIXES) or "." not in name:
                raise UnsafeDestination(f"host {host} is an internal name", blocked=True) from None
            return
        refusal = classify(literal)
        if refusal is not None:
            raise UnsafeDestination(str(refusal), blocked=True)

    async def check(self, raw: str, *, flavour: str = "standard") -> str:
        """Full registration check: syntax, policy, and every address the host resolves to now."""
        url = self.parse(raw, flavour=flavour)
        if not self.allow_private:
            guard = AddressGuard(allow_private=False, resolver=self.resolver)
            try:
                await guard.resolve(url.host, url.port or (443 if url.scheme == "https" else 80))
            except ForbiddenAddress as exc:
                raise UnsafeDestination(str(exc), blocked=True) from None
            except Exception as exc:
                raise UnsafeDestination(f"host {url.host} does not resolve") from exc
        return str(url)

    def transport(self, *, max_connections: int) -> httpx.AsyncBaseTransport:
        """A small connection pool for one endpoint; its connections all go through the address guard."""
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
        return GuardedTransport(
            allow_private=self.allow_private,
            resolver=self.resolver,
            ssl_context=self._ssl_context,
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=30,
            ),
        )


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def classify_error(exc: BaseException) -> ErrorClass:
    """The error class of a failed request, for the delivery log."""
    chain = _chain(exc)
    if any(isinstance(e, ForbiddenAddress | UnsafeDestination) for e in chain):
        return "blocked"
    if any(isinstance(e, httpx.TimeoutException | TimeoutError) for e in chain):
        return "timeout"
    if any(isinstance(e, socket.gaierror) for e in chain) or "could not resolve" in str(exc):
        return "dns"
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return "tls"
    if any(isinstance(e, httpx.TransportError | OSError) for e in chain):
        return "connect"
    return "internal"
