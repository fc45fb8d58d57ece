"""Wiring the account flows from settings (called once by the container)."""

from __future__ import annotations

from dataclasses import dataclass

from aiclone.accounts.mailer import AccountMailer
from aiclone.accounts.memory import AccountMemory
from aiclone.accounts.profile import AccountProfiles
from aiclone.accounts.recovery import PasswordRecovery
from aiclone.accounts.throttle import MailboxQuota
from aiclone.accounts.verification import EmailVerification
from aiclone.auth.passwords import PasswordHasher
from aiclone.auth.service import AuthService
from aiclone.db import Database
from aiclone.mail.worker import MailWorker
from aiclone.ratelimit.policy import Policy
from aiclone.ratelimit.setup import RateLimiting
from aiclone.settings import Settings


@dataclass(frozen=True)
class AccountFlows:
    """The account services, handed to the routes as one dependency."""

    recovery: PasswordRecovery
    verification: EmailVerification
    profiles: AccountProfiles


def build_account_flows(
    db: Database,
    settings: Settings,
    hasher: PasswordHasher,
    mail_worker: MailWorker,
    auth: AuthService,
    rate_limiting: RateLimiting | None,
    memory: AccountMemory,
) -> AccountFlows:
    quota = MailboxQuota(
        rate_limiting.limiter if rate_limiting is not None else None,
        Policy.parse("account-mail-per-email", settings.rate_limit, "account_mail_per_email"),
    )
    mailer = AccountMailer(mail_worker.outbox, quota, settings.resolved_public_url)
    verification = EmailVerification(db, settings.accounts, mailer, auth.sessions)
    auth.on_register = verification.on_register
    return AccountFlows(
        recovery=PasswordRecovery(db, settings.accounts, settings.auth, hasher, mailer, auth.sessions),
        verification=verification,
        profiles=AccountProfiles(
            db,
            settings.accounts,
            hasher,
            mailer,
            memory,
            auth.sessions,
            rate_limiting.failed_logins if rate_limiting is not None else None,
        ),
    )
