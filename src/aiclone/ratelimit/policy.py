"""Named rate-limit policies, parsed from settings.

A policy is a scope (what is counted: ``default`` per client address, ``user`` per signed-in
user, ``login``/``register`` per client address on those two endpoints, ``account-mail`` per client
address on the password-reset and email-verification endpoints, ``login-failures`` per
email) and one or more quotas (``60/minute;1000/hour``). Each quota has the name it carries in
the ``RateLimit-Policy`` / ``RateLimit`` response fields: the scope alone when the scope has one
quota, else the scope and the window (``default-60s``, ``default-3600s``).
"""

from __future__ import annotations

from dataclasses import dataclass

from limits import RateLimitItem

from aiclone.settings import RateLimitSettings

# Never counted: probes, the landing page and static assets (the docs document this list too).
EXEMPT_PATHS = frozenset({"/health", "/health/ready", "/"})
EXEMPT_PREFIXES = ("/api/docs/assets/", "/static/")


def is_exempt(path: str) -> bool:
    if path in EXEMPT_PATHS:
        return True
    return path.startswith(EXEMPT_PREFIXES) and "/.." not in path


@dataclass(frozen=True, slots=True)
class Quota:
    scope: str
    name: str
    item: RateLimitItem

    @property
    def limit(self) -> int:
        return self.item.amount

    @property
    def window(self) -> int:
        return self.item.get_expiry()


@dataclass(frozen=True, slots=True)
class Policy:
    scope: str
    quotas: tuple[Quota, ...]

    @classmethod
    def parse(cls, scope: str, settings: RateLimitSettings, field: str) -> Policy:
        """The quotas of one field of the settings (checked there already, so this cannot fail)."""
        items = sorted(settings.quotas(field), key=lambda item: item.get_expiry())
        if len(items) == 1:
            return cls(scope, (Quota(scope, scope, items[0]),))
        return cls(scope, tuple(Quota(scope, f"{scope}-{item.get_expiry()}s", item) for item in items))


@dataclass(frozen=True, slots=True)
class Policies:
    default: Policy
    user: Policy
    login: Policy
    register: Policy
    login_failures: Policy
    account_mail: Policy

    @classmethod
    def from_settings(cls, settings: RateLimitSettings) -> Policies:
        return cls(
            default=Policy.parse("default", settings, "default"),
            user=Policy.parse("user", settings, "user"),
            login=Policy.parse("login", settings, "login"),
            register=Policy.parse("register", settings, "register"),
            login_failures=Policy.parse("login-failures", settings, "login_failures"),
            account_mail=Policy.parse("account-mail", settings, "account_mail"),
        )
