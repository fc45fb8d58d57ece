"""Writing mail: one outbox row in the caller's transaction, and a nudge to the worker after commit."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.db import after_commit
from aiclone.mail.message import MailContent
from aiclone.mail.models import OutboxMail
from aiclone.mail.repository import OutboxRepository


class MailOutbox:
    """What services hold to send mail; the worker in this process is woken on commit.

    Other processes' workers find the row on their next poll (``AICLONE_MAIL_POLL_SECONDS``).
    """

    def __init__(self) -> None:
        self._wake: Callable[[], None] | None = None

    def on_enqueue(self, wake: Callable[[], None]) -> None:
        self._wake = wake

    async def enqueue(
        self, session: AsyncSession, *, to: str, kind: str, content: MailContent, user_id: uuid.UUID | None
    ) -> None:
        await OutboxRepository(session).add(
            OutboxMail(
                user_id=user_id,
                kind=kind,
                to_address=to,
                subject=content.subject,
                text_body=content.text,
                html_body=content.html,
            )
        )
        if self._wake is not None:
            wake = self._wake

            async def nudge() -> None:
                wake()

            after_commit(session, nudge)
