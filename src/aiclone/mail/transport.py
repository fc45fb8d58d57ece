"""Handing a message over: to an SMTP server (aiosmtplib), or to a file when none is configured.

aiosmtplib is asyncio-native: each wait (connect, every command, the data) is bounded by
``AICLONE_MAIL_TIMEOUT_SECONDS`` and a send can be cancelled when the worker stops, with no
thread held. The whole exchange is bounded once more, so a server that trickles replies cannot
hold a worker past its lease.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiosmtplib
import anyio.to_thread

from aiclone.settings.smtp import SmtpConfig

logger = logging.getLogger("aiclone.mail")

# connect, EHLO, STARTTLS, EHLO, AUTH, MAIL, RCPT, DATA: each bounded by the timeout.
_EXCHANGE_STEPS = 5


class SendFailure(Exception):
    """An attempt failed; ``permanent`` means trying again cannot help (a 5xx for this message)."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class MailTransport(Protocol):
    def describe(self) -> str: ...

    async def send(self, message: EmailMessage, *, name: str) -> None: ...


class SmtpTransport:
    def __init__(self, config: SmtpConfig, *, timeout: float) -> None:
        self.config = config
        self.timeout = timeout

    def describe(self) -> str:
        return self.config.describe()

    async def send(self, message: EmailMessage, *, name: str) -> None:  # noqa: ARG002
        config = self.config
        try:
            async with asyncio.timeout(self.timeout * _EXCHANGE_STEPS):
                await aiosmtplib.send(
                    message,
                    hostname=config.host,
                    port=config.port,
                    username=config.username,
                    password=config.password,
                    use_tls=config.tls == "implicit",
                    start_tls=config.tls == "starttls",
                    timeout=self.timeout,
                )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [error.code for error in exc.recipients]
            raise SendFailure(
                f"recipient refused ({', '.join(map(str, codes))})", permanent=all(c >= 500 for c in codes)
            ) from None
        except (aiosmtplib.SMTPDataError, aiosmtplib.SMTPSenderRefused) as exc:
            raise SendFailure(f"refused with {exc.code}", permanent=exc.code >= 500) from None
        except (TimeoutError, aiosmtplib.SMTPTimeoutError):
            raise SendFailure("the mail server did not answer in time", permanent=False) from None
        except aiosmtplib.SMTPResponseException as exc:
            # Authentication and greeting trouble is the configuration's, not the message's: retry.
            raise SendFailure(f"the mail server answered {exc.code}", permanent=False) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise SendFailure(
                f"cannot reach the mail server ({type(exc).__name__})", permanent=False
            ) from None


class DirectoryTransport:
    """Development without a mail server: each message becomes ``<dir>/<name>.eml``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def describe(self) -> str:
        return f"files in {self.directory}"

    async def send(self, message: EmailMessage, *, name: str) -> None:
        data = message.as_bytes()
        try:
            path = await anyio.to_thread.run_sync(self._write, name, data)
        except OSError as exc:
            raise SendFailure(f"cannot write the mail file ({type(exc).__name__})", permanent=False) from None
        logger.info("mail written to %s (no AICLONE_SMTP_URL configured)", path)

    def _write(self, name: str, data: bytes) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.directory / f"{name}.eml"
        # Written aside and renamed, so a reader never sees half a message.
        fd, tmp = tempfile.mkstemp(prefix=".mail.", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path
