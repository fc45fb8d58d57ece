"""Mail (aiclone.mail) and the account flows that send it (aiclone.accounts)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from email.headerregistry import Address
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from aiclone.settings.durations import parse_schedule
from aiclone.settings.env import SettingsError, Slice, prefixed
from aiclone.settings.smtp import SmtpConfig, parse_sender, parse_smtp_url


class MailSettings(
    Slice, frozen=True, kw_only=True, rename=prefixed("mail_", smtp_url="smtp_url", sender="mail_from")
):
    SECRETS: ClassVar[frozenset[str]] = frozenset({"smtp_url"})
    PARSERS: ClassVar[Mapping[str, Callable[[str], Any]]] = {"retry_schedule": parse_schedule}

    # Empty: every mail is written as a file under <data_dir>/mail/.
    smtp_url: str = ""
    sender: str = "aiclone <aiclone@localhost>"
    timeout_seconds: float = 10.0
    # Seconds before each retry, written "30s,2m,…" (aiclone.settings.durations).
    retry_schedule: tuple[float, ...] = (30.0, 120.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0)
    lease_seconds: float = 120.0
    poll_seconds: float = 5.0
    retention_days: int = 7

    def __post_init__(self) -> None:
        self.smtp()
        self.sender_address()
        if not self.retry_schedule:
            raise SettingsError(f"{self.variable('retry_schedule')}: the schedule needs at least one delay")
        self.check_between(
            {"timeout_seconds": (0.1, 300.0), "poll_seconds": (0.05, 600.0), "retention_days": (1, 3650)}
        )
        # A claimed mail is finished well inside its lease (connect + a few commands, each bounded).
        if self.lease_seconds < 6 * self.timeout_seconds:
            raise SettingsError(
                f"{self.variable('lease_seconds')} must be at least 6 x {self.variable('timeout_seconds')}"
            )

    def smtp(self) -> SmtpConfig | None:
        """The mail server, or None for files."""
        if not self.smtp_url:
            return None
        try:
            return parse_smtp_url(self.smtp_url)
        except ValueError as exc:
            raise SettingsError(f"{self.variable('smtp_url')} {exc}") from None

    def sender_address(self) -> Address:
        try:
            return parse_sender(self.sender)
        except ValueError as exc:
            raise SettingsError(f"{self.variable('sender')} {exc}") from None


class AccountSettings(Slice, frozen=True, kw_only=True):
    # Base of the links in mails; empty means the server's own http://<host>:<port>.
    public_url: str = ""
    password_reset_ttl_seconds: int = 1800
    email_verification_ttl_seconds: int = 48 * 3600
    # "auto": required in production, not in development or test.
    require_email_verification: Literal["auto", "true", "false"] = "auto"

    def __post_init__(self) -> None:
        if self.public_url:
            parts = urlsplit(self.public_url)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
                raise SettingsError(
                    f"{self.variable('public_url')} must be an http(s) URL such as https://app.example.com"
                )
        self.check_between(
            {
                "password_reset_ttl_seconds": (60, 24 * 3600),
                "email_verification_ttl_seconds": (300, 30 * 24 * 3600),
            }
        )
