"""Outgoing mail: an outbox of rows, sent by the background workers.

The contract:

* A flow that must send mail (a password reset, an address to confirm) writes an
  :class:`~aiclone.mail.models.OutboxMail` row with :func:`aiclone.mail.outbox.enqueue` in the
  **same transaction** as the change that needs it: the mail exists exactly when the change was
  committed, and no request ever waits on a mail server.
* The :class:`~aiclone.mail.worker.MailWorker` (inside ``aiclone serve`` and ``aiclone worker``)
  claims due rows with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the BEGIN IMMEDIATE
  write lock on SQLite), sends them, and records the outcome fenced on its claim. A temporary
  failure (connection refused, timeout, 4xx reply) is retried on ``AICLONE_MAIL_RETRY_SCHEDULE``;
  a permanent one (5xx reply to the recipient or the message) fails the mail at once. A worker
  that dies mid-send leaves the row to be taken again when the lease ends, so delivery is
  at-least-once; the ``Message-ID`` is fixed per row, so a receiver sees the same message.
* Bodies hold single-use links, so they are erased from the row once it is sent or has failed
  for good; finished rows are deleted after ``AICLONE_MAIL_RETENTION_DAYS``.
* With no ``AICLONE_SMTP_URL`` the transport writes ``<data dir>/mail/<id>.eml`` and logs the path.
"""
