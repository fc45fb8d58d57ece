"""Research tasks: queued research on URLs, keywords or a profile, run by pluggable engines.

The API (``/api/research-tasks``) queues, lists, cancels and retries tasks; the runner
(:mod:`aiclone.research.runner`, a background job of ``aiclone serve`` and ``aiclone worker``)
claims and runs them; engines (:mod:`aiclone.research.engines`) do the research. Settings:

=========================================  =========  =============================================
variable                                   default    meaning
=========================================  =========  =============================================
``AICLONE_RESEARCH_ENGINES``               ``web``    engines this process runs (comma-separated)
``AICLONE_RESEARCH_CONCURRENCY``           2          tasks run at once per process (1-64)
``AICLONE_RESEARCH_TIMEOUT_SECONDS``       120        a run longer than this fails
``AICLONE_RESEARCH_LEASE_SECONDS``         30         claim lease (>= 1); a dead worker's task is
                                                      queued again once it runs out
``AICLONE_RESEARCH_POLL_SECONDS``          5          fallback poll for tasks queued elsewhere
``AICLONE_RESEARCH_MAX_INTERRUPTIONS``     3          lease expiries before a task is failed
``AICLONE_RESEARCH_ALLOW_PRIVATE``         false      let the web engine reach private/loopback
                                                      addresses (refused in production)
``AICLONE_RESEARCH_FETCH_TIMEOUT_SECONDS`` 10         per URL, redirects included
``AICLONE_RESEARCH_MAX_RESPONSE_BYTES``    2097152    largest page read
``AICLONE_RESEARCH_MAX_REDIRECTS``         5          redirects followed per URL (0-20)
``AICLONE_RESEARCH_MAX_URLS``              20         URLs per task (1-100)
=========================================  =========  =============================================
"""
