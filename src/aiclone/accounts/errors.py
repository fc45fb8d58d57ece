from __future__ import annotations

from aiclone.errors import DomainError


class InvalidAccountToken(DomainError):
    """A mailed token that is unknown, used, superseded or expired: all look the same."""

    status = 400
    slug = "invalid-token"
    title = "Invalid or expired token"


class WrongPassword(DomainError):
    """The current password given to confirm a sensitive change is not the account's."""

    status = 403
    slug = "wrong-password"
    title = "Current password is not correct"
