"""Webhooks: durable, signed, retried delivery of events to outside systems, with a delivery log.

An endpoint has a flavour (:mod:`.flavours`), fixed at creation, that decides body and headers:
``standard`` (below), ``slack`` (a Block Kit message to a Slack incoming webhook, :mod:`.slack`)
or ``zapier`` (a REST-hook subscription made by Zapier, :mod:`.subscriptions` and :mod:`.zapier`).
Everything else in this package is shared by all three.

What a standard receiver gets (Standard Webhooks):

* ``POST`` with the body ``{"type": …, "timestamp": …, "data": …}`` as compact JSON, frozen when the
  event was recorded; ``Content-Type: application/json``; ``User-Agent: aiclone-webhooks/<version>``.
* ``webhook-id`` — ``msg_<hex>``, the same on every retry and manual resend: de-duplicate on it.
* ``webhook-timestamp`` — Unix seconds of this attempt.
* ``webhook-signature`` — ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` with the endpoint's
  secret (``whsec_`` + base64 key); during a rotation overlap two signatures, space-separated.
* Any 2xx is success. Redirects are not followed. ``Retry-After`` is honoured (1 s to
  ``AICLONE_WEBHOOK_RETRY_AFTER_MAX_SECONDS``), ``410 Gone`` disables the endpoint at once.
* Delivery is at least once and unordered (several requests per endpoint may be in flight):
  order by the envelope's ``timestamp``, not by arrival.

How it works, one module per stage of the pipeline:

* :mod:`.repository` / :mod:`.service` — endpoints: CRUD, secrets, the log's reads, recovery.
* :mod:`.hook` — in the event's own transaction, one ``webhook_deliveries`` row per active,
  subscribed endpoint (nothing is sent for a rolled-back event, nothing lost for a committed one);
  bodies over ``AICLONE_WEBHOOK_MAX_PAYLOAD_BYTES`` refuse the event.
* :mod:`.queue` — the delivery queue: enqueue, claim (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
  the SQLite write lock otherwise) under a lease, next wake, requeue; the words are
  :mod:`aiclone.claims`', shared with the research and mail workers.
* :mod:`.delivery` — the worker: claims, sends, hands the outcomes to the recorder; woken by the
  event broker.
* :mod:`.sender` / :mod:`.transport` — one small httpx client per endpoint through the SSRF guard
  (:mod:`aiclone.netguard`): every connection resolves once and connects to the checked address.
* :mod:`.outcomes` / :mod:`.retry` — what an attempt changes: the retry schedule with jitter, the
  endpoint's failure streak, auto-disable, the owner's notifications, and the settled-delivery
  counters (through a hook analytics implements).
* :mod:`.log` — the attempt rows (built there only), the delivery log's reads, pruning.
* :mod:`.manual` — sends by hand during a request: a test event, "retry now".
* :mod:`.flavours` — the body and headers of each flavour, and which answers it treats as permanent.
* :mod:`.signing` — secrets (sealed at rest with a key derived from ``AICLONE_SECRET_KEY``) and
  signatures.

Delivery states: ``pending`` (waiting for an attempt) → ``sending`` (claimed, leased) →
``succeeded`` | ``failed`` (retries exhausted, or stopped because the endpoint was paused or
disabled; ``recover`` puts failed ones back to ``pending``). ``(user_id, status, created_at)`` is
indexed and ``finished_at`` records when a delivery reached its final state, for analytics.

This package's ``__init__`` imports nothing: the settings module imports :mod:`.retry`.
"""
