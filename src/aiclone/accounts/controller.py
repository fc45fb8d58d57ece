"""Account recovery and profile routes. The public ones are public because their caller cannot
sign in (forgotten password, unconfirmed address); each is charged to the client address under
``AICLONE_RATE_LIMIT_ACCOUNT_MAIL``.

``GET`` and ``PATCH /api/auth/me`` are here rather than beside sign-in (:mod:`aiclone.auth.controller`):
they answer the account as this package shows it, and auth does not import accounts. Both
methods of the path stay on one controller, as Litestar serves one path from one controller."""

from __future__ import annotations

from litestar import Controller, HttpMethod, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from aiclone.accounts.schemas import (
    Accepted,
    AccountRead,
    EmailRequest,
    PasswordResetConfirm,
    ProfileUpdate,
    TokenRequest,
    VerifiedEmail,
)
from aiclone.accounts.setup import AccountFlows
from aiclone.auth.handlers import Resource
from aiclone.auth.scopes import any_credential, session_only
from aiclone.openapi import problems, prose

_RESET_ACCEPTED = "If an account uses this address, a link to reset its password is on its way."
_RESEND_ACCEPTED = "If an unconfirmed account uses this address, a new confirmation link is on its way."

profiles = Resource("accounts", AccountFlows, read=AccountRead, subject="caller")


class AccountController(Controller):
    path = "/api/auth"
    tags = ["auth"]

    @post(
        "/password-reset",
        status_code=HTTP_202_ACCEPTED,
        exclude_from_auth=True,
        summary="Ask for a password reset mail",
        description=prose("""
            Mails a single-use reset link to the account with this address, if there is one. The answer is the
            same either way (and comes no sooner than a fixed delay), so it tells nobody who has an account.
        """),
        responses=problems(422, 429),
    )
    async def request_password_reset(
        self, data: JSONBody[EmailRequest], accounts: NamedDependency[AccountFlows]
    ) -> Accepted:
        await accounts.recovery.request(data.email)
        return Accepted(detail=_RESET_ACCEPTED)

    @post(
        "/password-reset/confirm",
        status_code=HTTP_204_NO_CONTENT,
        exclude_from_auth=True,
        summary="Set a new password with a mailed token",
        description="Spends the token, sets the password and signs out every session of the account.",
        responses=problems(400, 422, 429),
    )
    async def confirm_password_reset(
        self, data: JSONBody[PasswordResetConfirm], accounts: NamedDependency[AccountFlows]
    ) -> None:
        await accounts.recovery.confirm(data.token, data.new_password)

    @post(
        "/verify-email",
        status_code=HTTP_200_OK,
        exclude_from_auth=True,
        summary="Confirm an email address with a mailed token",
        description=prose("""
            Takes the token mailed on registration (the address is then verified) or on an address change (the
            account then moves to the new address).
        """),
        responses=problems(400, 409, 422, 429),
    )
    async def verify_email(
        self, data: JSONBody[TokenRequest], accounts: NamedDependency[AccountFlows]
    ) -> VerifiedEmail:
        return await accounts.verification.verify(data.token)

    @post(
        "/verify-email/resend",
        status_code=HTTP_202_ACCEPTED,
        exclude_from_auth=True,
        summary="Mail a new address confirmation",
        description="Same answer whether or not an unconfirmed account uses the address.",
        responses=problems(422, 429),
    )
    async def resend_verification(
        self, data: JSONBody[EmailRequest], accounts: NamedDependency[AccountFlows]
    ) -> Accepted:
        await accounts.verification.resend(data.email)
        return Accepted(detail=_RESEND_ACCEPTED)

    get_own_account = profiles.build(
        HttpMethod.GET,
        "/me",
        "profiles.me",
        opt=any_credential(),
        summary="The signed-in user",
        description=prose("""
            The account as `PATCH /api/auth/me` answers it: `email_verified`, and `pending_email` while an
            address change waits for its confirmation.
        """),
        responses=problems(401),
    )

    update_own_account = profiles.build(
        HttpMethod.PATCH,
        "/me",
        "profiles.update",
        body=ProfileUpdate,
        opt=session_only(),
        summary="Change the signed-in user's name or email",
        description=prose("""
            `full_name` applies at once. `email` needs `current_password`; the new address gets a confirmation
            link and the account moves when it is followed (until then it shows as `pending_email`); the
            current address is told.
        """),
        responses=problems(401, 403, 404, 422, 429),
    )
