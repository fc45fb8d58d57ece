from __future__ import annotations

from aiclone.errors import DomainError


class EmailNotVerified(DomainError):
    """Sign-in refused until the account's address is confirmed (AICLONE_REQUIRE_EMAIL_VERIFICATION)."""

    status = 403
    slug = "email-not-verified"
    title = "Email address not verified"
