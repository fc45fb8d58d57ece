"""Rate limiting (aiclone.ratelimit): ``N/period`` quotas separated by ``;`` and their store."""

from __future__ import annotations

import limits

from aiclone.settings.env import SettingsError, Slice, prefixed

# The fields holding quotas, each the variable's text (parsed by :func:`parse_rate_limits`).
QUOTA_FIELDS = (
    "default",
    "user",
    "login",
    "register",
    "login_failures",
    "account_mail",
    "account_mail_per_email",
)


class RateLimitSettings(
    Slice,
    frozen=True,
    kw_only=True,
    rename=prefixed(
        "rate_limit_",
        default="rate_limit",
        login_failures="login_failure_limit",
        account_mail_per_email="account_mail_per_email_limit",
    ),
):
    enabled: bool = True
    default: str = "60/minute"
    user: str = "300/minute"
    login: str = "10/minute;60/hour"
    register: str = "5/minute;20/hour"
    login_failures: str = "5/15 minutes"
    storage: str = "memory://"
    key_prefix: str = "aiclone"
    storage_timeout: float = 0.25
    account_mail: str = "5/minute;20/hour"
    account_mail_per_email: str = "3/15 minutes;10/day"

    def __post_init__(self) -> None:
        self.check_positive(("storage_timeout",))
        for name in QUOTA_FIELDS:
            self.quotas(name)
        if not self.storage.startswith(("memory://", "redis://", "rediss://", "redis+unix://")):
            raise SettingsError(
                f"{self.variable('storage')} must be memory://, redis://host:port/db, rediss://… or redis+unix://…"
            )
        if (
            not self.key_prefix
            or not self.key_prefix.replace("-", "").replace("_", "").replace(":", "").isalnum()
        ):
            raise SettingsError(f"{self.variable('key_prefix')} must be letters, digits, '-', '_' or ':'")

    def quotas(self, name: str) -> list[limits.RateLimitItem]:
        """The items of one quota field (``"default"``, ``"login"``, …), as written."""
        return parse_rate_limits(self.variable(name), getattr(self, name))


def parse_rate_limits(variable: str, value: str) -> list[limits.RateLimitItem]:
    """Parse ``"60/minute;1000/hour"`` into rate-limit items; the error names ``variable``."""
    items: list[limits.RateLimitItem] = []
    for part in value.split(";"):
        text = part.strip()
        if not text:
            continue
        try:
            item = limits.parse(text)
        except ValueError:
            raise SettingsError(
                f"{variable}: {text!r} is not a rate limit; write e.g. 60/minute or 60/minute;1000/hour"
            ) from None
        if item.amount <= 0:
            raise SettingsError(f"{variable}: {text!r} must allow at least one request")
        items.append(item)
    if not items:
        raise SettingsError(f"{variable} must name at least one limit, e.g. 60/minute")
    windows = [item.get_expiry() for item in items]
    if len(set(windows)) != len(windows):
        raise SettingsError(f"{variable}: two limits have the same period; keep the stricter one")
    return items
