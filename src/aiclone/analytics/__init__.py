"""Analytics and exports.

Summary (``GET /api/analytics/summary``)
    Counters are kept by :class:`~aiclone.analytics.counters.AnalyticsCounterHook` inside every
    event's transaction, one row per (user, grain, bucket, metric) at five UTC grains (15 min,
    1 h, 6 h, 1 day, 7 days; :mod:`~aiclone.analytics.metrics`). A summary sums a few dozen key ranges of those
    rows in one query (:mod:`~aiclone.analytics.repository`), so its cost depends on the period,
    not on the number of events. Periods, buckets, time zones (non-whole-hour offsets included)
    are defined in :mod:`~aiclone.analytics.periods`; trend and funnel rules in
    :mod:`~aiclone.analytics.service`.

    The webhook delivery metrics are not events: the webhook worker calls
    :func:`aiclone.analytics.counters.bump` in the transaction that settles a delivery.
    ``aiclone analytics rebuild`` (:mod:`~aiclone.analytics.rebuild`) recomputes the
    event-derived counters from the events table.

Exports (``POST /api/analytics/export``)
    A registry of tables (:mod:`~aiclone.analytics.sources`) streamed in batches from the
    database (:mod:`~aiclone.analytics.export`) into CSV, JSON, NDJSON or XLSX
    (:mod:`~aiclone.analytics.formats`, which also says how formula injection is neutralised).
"""
