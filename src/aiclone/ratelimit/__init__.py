"""Rate limiting: policies from settings, counting in memory or Redis, the request limiter in
front of routing and the failed sign-in throttle. See :mod:`aiclone.ratelimit.middleware` for
who is charged for what, and :mod:`aiclone.ratelimit.limiter` for the strategy and the
fail-open rule."""
