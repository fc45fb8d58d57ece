"""Where mail goes: the SMTP server named by ``AICLONE_SMTP_URL``, or files.

Forms of the URL (user and password are optional, percent-encoded, and never logged):

* ``smtp://user:password@host:25`` — plain SMTP, no TLS (a relay on the same host or network).
* ``smtp://user:password@host:587?starttls=1`` — SMTP upgraded with STARTTLS; a server that does
  not offer it is an error (no silent fallback to plain text).
* ``smtps://user:password@host:465`` — TLS from the first byte (implicit TLS).

An empty URL means no mail server: every mail is written as an ``.eml`` file under
``<data dir>/mail/`` and the path is logged, so every account flow works on a laptop.

Pure parsing, done once at start by the mail settings (aiclone.settings.mail).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.headerregistry import Address
from email.utils import parseaddr
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

TlsMode = Literal["none", "starttls", "implicit"]
_DEFAULT_PORTS = {"none": 25, "starttls": 587, "implicit": 465}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    tls: TlsMode
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        """The server as it may be logged: no password, no user name."""
        return f"{'smtps' if self.tls == 'implicit' else 'smtp'}://{self.host}:{self.port} (tls: {self.tls})"


def parse_smtp_url(url: str) -> SmtpConfig:
    """Parse ``AICLONE_SMTP_URL``; the error message never repeats the URL (it may hold a password)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError("is not a valid URL") from None
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("must name a host, e.g. smtp://mail.example.com:587?starttls=1")
    if parts.path not in ("", "/") or parts.fragment:
        raise ValueError("takes no path or fragment")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - {"starttls"}
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(sorted(unknown))}; only starttls=1 is known")
    starttls = False
    if "starttls" in query:
        value = query["starttls"][-1].lower()
        if value not in _TRUE | _FALSE:
            raise ValueError("starttls must be 1 or 0")
        starttls = value in _TRUE
    if parts.scheme == "smtps" and starttls:
        raise ValueError("smtps:// is TLS from the start; starttls=1 belongs to smtp://")
    tls: TlsMode = "implicit" if parts.scheme == "smtps" else ("starttls" if starttls else "none")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return SmtpConfig(
        host=parts.hostname,
        port=port or _DEFAULT_PORTS[tls],
        tls=tls,
        username=username,
        password=password,
    )


def parse_sender(value: str) -> Address:
    """``AICLONE_MAIL_FROM``: ``name@example.com`` or ``Name <name@example.com>``."""
    name, address = parseaddr(value.strip())
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or any(c in address for c in "\r\n "):
        raise ValueError("must be an address such as aiclone@example.com or 'AI Clone <aiclone@example.com>'")
    return Address(display_name=name, username=local, domain=domain)
