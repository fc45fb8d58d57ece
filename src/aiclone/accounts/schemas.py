from __future__ import annotations

from typing import Annotated

import msgspec

from aiclone.auth.schemas import Email, UserRead

Token = Annotated[str, msgspec.Meta(min_length=1, max_length=128, description="The token from the mail.")]
Password = Annotated[str, msgspec.Meta(max_length=1024)]


class EmailRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email


class PasswordResetConfirm(msgspec.Struct, forbid_unknown_fields=True):
    token: Token
    # Policy (length, blocklist) is checked by the service; this only bounds the input.
    new_password: Password


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    token: Token


class ProfileUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Fields to change; an email change also needs ``current_password`` and applies once confirmed."""

    full_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | msgspec.UnsetType = msgspec.UNSET
    email: Email | msgspec.UnsetType = msgspec.UNSET
    current_password: Password | msgspec.UnsetType = msgspec.UNSET


class Accepted(msgspec.Struct):
    detail: str


class AccountRead(UserRead):
    """The user as its owner sees it: with the state of its address."""

    email_verified: bool
    # The new address of a change that waits for its confirmation.
    pending_email: str | None = None


class VerifiedEmail(msgspec.Struct):
    email: str
    email_verified: bool = True
