"""What the account flows share: the outbox, the links' base URL, the per-address quota."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.accounts import mails
from aiclone.accounts.throttle import MailboxQuota
from aiclone.auth.models import User
from aiclone.mail.message import MailContent
from aiclone.mail.outbox import MailOutbox


@dataclass(frozen=True)
class AccountMailer:
    outbox: MailOutbox
    quota: MailboxQuota
    public_url: str

    def link(self, action: str, token: str) -> str:
        return mails.link(self.public_url, action, token)

    async def send(
        self, session: AsyncSession, user: User, *, to: str, kind: str, content: MailContent
    ) -> None:
        await self.outbox.enqueue(session, to=to, kind=kind, content=content, user_id=user.id)
