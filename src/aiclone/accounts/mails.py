"""The words of every account mail. User data goes in as plain strings; compose() escapes the HTML."""

from __future__ import annotations

from urllib.parse import quote

from aiclone.mail.message import Link, MailContent, compose

_FOOTER = "This message was sent by aiclone because of a request on your account."


def link(base_url: str, action: str, token: str) -> str:
    # The token rides in the fragment: browsers never send it to a server or in a Referer.
    return f"{base_url}/#{action}={quote(token, safe='')}"


def _minutes(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    if minutes % 60 == 0 and minutes >= 120:
        return f"{minutes // 60} hours"
    return f"{minutes} minutes" if minutes != 1 else "1 minute"


def password_reset(name: str, url: str, token: str, ttl_seconds: int) -> MailContent:
    return compose(
        "Reset your aiclone password",
        [
            f"Hello {name},",
            "Someone (hopefully you) asked to reset the password of your aiclone account."
            f" The link below works once, for {_minutes(ttl_seconds)}.",
            Link("Choose a new password", url),
            f"Or send this token to POST /api/auth/password-reset/confirm: {token}",
            "If you did not ask for this, ignore this mail: your password stays as it is.",
        ],
        footer=_FOOTER,
    )


def password_changed(name: str) -> MailContent:
    return compose(
        "Your aiclone password was changed",
        [
            f"Hello {name},",
            "The password of your aiclone account was just reset, and every session was signed out.",
            "If this was not you, reset your password again at once and tell your administrator.",
        ],
        footer=_FOOTER,
    )


def verify_email(name: str, url: str, token: str, ttl_seconds: int) -> MailContent:
    return compose(
        "Confirm your email address for aiclone",
        [
            f"Hello {name},",
            f"Please confirm that this is your address. The link works once, for {_minutes(ttl_seconds)}.",
            Link("Confirm my address", url),
            f"Or send this token to POST /api/auth/verify-email: {token}",
            "If you did not create an aiclone account, ignore this mail.",
        ],
        footer=_FOOTER,
    )


def confirm_new_email(name: str, new_email: str, url: str, token: str, ttl_seconds: int) -> MailContent:
    return compose(
        "Confirm your new email address for aiclone",
        [
            f"Hello {name},",
            f"Your aiclone account asked to use {new_email} from now on. The change applies once you"
            f" confirm it; the link works once, for {_minutes(ttl_seconds)}.",
            Link("Use this address", url),
            f"Or send this token to POST /api/auth/verify-email: {token}",
            "If you did not ask for this, ignore this mail and nothing changes.",
        ],
        footer=_FOOTER,
    )


def email_change_requested(name: str, masked_new_email: str) -> MailContent:
    return compose(
        "Your aiclone email address is being changed",
        [
            f"Hello {name},",
            f"Someone signed in to your aiclone account asked to move it to {masked_new_email}."
            " Nothing changes until the new address confirms it.",
            "If this was not you, reset your password now: the request needed your current password.",
        ],
        footer=_FOOTER,
    )


def address_already_registered() -> MailContent:
    return compose(
        "Your email address was offered for another aiclone account",
        [
            "Hello,",
            "Someone asked to move an aiclone account to this address, but this address already has"
            " an account, so nothing was changed.",
            "If you have forgotten the password of your account here, ask for a password reset.",
        ],
        footer=_FOOTER,
    )


def mask(address: str) -> str:
    """``a***@example.com``: enough for the owner to recognise it, little for anyone else."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"
