"""Tables one domain reads without importing the domain that owns them.

Analytics exports webhook deliveries and rebuilds their counters from the table, while the
webhooks package moves those counters as deliveries settle (through a hook the container wires,
:class:`aiclone.webhooks.outcomes.SettlementCounter`); so analytics may not import webhooks.
What analytics reads of ``webhook_deliveries`` is described here as plain columns. The table
itself is :class:`aiclone.webhooks.models.WebhookDelivery`; a test checks that every column named
here is a column of it, of the same type, and that the final statuses are its own.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Integer, String, TableClause, Uuid, column, table

from aiclone.db import UTCDateTime

webhook_deliveries: TableClause = table(
    "webhook_deliveries",
    column("id", Uuid()),
    column("user_id", Uuid()),
    column("endpoint_id", Uuid()),
    column("created_at", UTCDateTime()),
    column("event_type", String()),
    column("event_seq", BigInteger()),
    column("is_test", Boolean()),
    column("status", String()),
    column("attempts", Integer()),
    column("retries_used", Integer()),
    column("next_attempt_at", UTCDateTime()),
    column("last_attempt_at", UTCDateTime()),
    column("last_status_code", Integer()),
    column("last_error", String()),
    column("finished_at", UTCDateTime()),
)

# The final statuses of a delivery (``aiclone.webhooks.models.DeliveryStatus``).
DELIVERY_SUCCEEDED = "succeeded"
DELIVERY_FAILED = "failed"
