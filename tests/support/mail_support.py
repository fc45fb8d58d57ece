"""A real SMTP server on 127.0.0.1 (aiosmtpd) and readers for the mail the app sends."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.ports import free_port

TOKEN_IN_TEXT = re.compile(r"#(?:reset-password|verify-email|confirm-email)=([A-Za-z0-9_\-%]+)")


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def bodies(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None, "a mail has a plain part"
    assert html is not None, "a mail has an HTML part"
    return str(text.get_content()), str(html.get_content())


def token_of(message: EmailMessage) -> str:
    text, _ = bodies(message)
    match = TOKEN_IN_TEXT.search(text)
    assert match, text
    return match.group(1)


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class SmtpRecorder:
    """The handler: keeps every accepted message; refuses recipients listed in ``refuse``."""

    refuse: set[str] = field(default_factory=set)
    messages: list[Received] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            self.messages.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), parse(envelope.content))
            )
        return "250 Message accepted"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            login = (data.login.decode(), data.password.decode())
            self.logins.append(login)
            return AuthResult(success=login == ("mailer", "s3cret pass"))
        return AuthResult(success=False, handled=False)

    async def wait_for(self, to: str, *, count: int = 1, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                found = [m for m in self.messages if to in m.recipients]
            if len(found) >= count:
                return found
            assert time.monotonic() < deadline, f"no mail to {to} within {timeout} s"
            await asyncio.sleep(0.05)


def start_smtp(recorder: SmtpRecorder, port: int | None = None, *, with_auth: bool = False) -> Controller:
    kwargs: dict[str, Any] = {"enable_SMTPUTF8": True}
    if with_auth:
        kwargs.update(authenticator=recorder.authenticate, auth_require_tls=False, auth_required=True)
    controller = Controller(recorder, hostname="127.0.0.1", port=port or free_port(), **kwargs)
    controller.start()
    return controller


def smtp_url(controller: Controller, credentials: str = "") -> str:
    return f"smtp://{credentials}127.0.0.1:{controller.port}"


async def wait_for_eml(
    directory: Path, to: str, *, count: int = 1, timeout: float = 20.0
) -> list[EmailMessage]:
    """The ``.eml`` files written for ``to``, oldest first, once at least ``count`` exist."""
    deadline = time.monotonic() + timeout
    while True:
        found: list[tuple[float, EmailMessage]] = []
        if directory.is_dir():
            for path in directory.glob("*.eml"):
                message = parse(path.read_bytes())
                if message["To"] == to:
                    found.append((path.stat().st_mtime_ns, message))
        if len(found) >= count:
            return [message for _, message in sorted(found, key=lambda item: item[0])]
        assert time.monotonic() < deadline, f"no .eml for {to} within {timeout} s"
        await asyncio.sleep(0.05)


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files (the certificate is its own CA)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aiclone test mail server")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path
