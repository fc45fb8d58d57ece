"""The request rate limiter, in front of routing.

Who is charged:

- A request with a valid bearer access token is charged to its **user**
  (``AICLONE_RATE_LIMIT_USER``, default 300/minute), whatever address it comes from. Many users
  behind one NAT each have their own quota; one user spread over many addresses has one.
- Any other request (no token, or one that does not verify) is charged to its **client
  address** (``AICLONE_RATE_LIMIT``, default 60/minute; IPv6 by /64). The token check is the
  same signature and claims check the authentication middleware does, so a forged token buys
  nothing. An API key is charged to its user in the same way, once the identity gate admitted it
  (a dictionary lookup for a key in use; an unknown key costs one indexed read and is charged to
  the address).
- ``POST /api/auth/login``, ``POST /api/auth/session`` (browser sign-in) and
  ``POST /api/auth/register`` are also charged to the client
  address under their own, stricter policies, and so are the password-reset and
  email-verification endpoints (``AICLONE_RATE_LIMIT_ACCOUNT_MAIL``). Failed sign-ins per account are counted by the
  auth service (:mod:`aiclone.ratelimit.login`).
- Exempt: exactly ``/health`` and ``/health/ready`` (probes), the dashboard page ``/``, and the
  static assets under ``/api/docs/assets/`` and ``/static/`` (files of the package, no work behind
  them; a page load fetches a dozen). Nothing else, in particular no path that merely contains "health".

The check runs once when a request starts, before routing, so unknown paths (404) and wrong
methods (405) are counted too, and a long-lived response such as the ``GET /api/events``
stream counts once when it opens; capping concurrent streams is the stream's own business.

Every counted response carries the rate-limit fields (see :mod:`aiclone.ratelimit.headers`);
a refused request gets a 429 problem with ``Retry-After``.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

from litestar.config.cors import CORSConfig
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.path import normalize_path

from aiclone.auth.identity import IdentityGate
from aiclone.auth.keytext import looks_like_key
from aiclone.auth.tokens import VERIFIED_BEARER_KEY, TokenCodec
from aiclone.errors import DomainError, Unauthenticated
from aiclone.metrics import Metrics
from aiclone.ratelimit.headers import QuotaState, response_headers, retry_after
from aiclone.ratelimit.limiter import Limiter
from aiclone.ratelimit.policy import Policies, Policy, is_exempt
from aiclone.web.client_ip import bucket_of
from aiclone.web.problems import cors_headers, send_problem
from aiclone.web.request_context import client_address, request_method

LOGIN_PATH = "/api/auth/login"
SESSION_PATH = "/api/auth/session"
REGISTER_PATH = "/api/auth/register"
# Public endpoints that send mail or take a mailed token (aiclone.accounts).
ACCOUNT_MAIL_PATHS = frozenset(
    {
        "/api/auth/password-reset",
        "/api/auth/password-reset/confirm",
        "/api/auth/verify-email",
        "/api/auth/verify-email/resend",
    }
)


@dataclass(eq=False)
class RateLimitMiddleware:
    app: ASGIApp
    _: KW_ONLY
    limiter: Limiter
    policies: Policies
    codec: TokenCodec
    metrics: Metrics
    cors: CORSConfig | None = None
    keys: IdentityGate | None = None

    async def _key_user_id(self, scope: Scope, key: str) -> str | None:
        if self.keys is None:
            return None
        try:
            principal = await self.keys.admit_key(key)
        except DomainError:  # unknown, revoked, or the database is down: charged to the address
            return None
        scope.setdefault("state", {})[VERIFIED_BEARER_KEY] = (key, principal)
        return str(principal.id)

    async def _user_id(self, scope: Scope) -> str | None:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer" or not token.strip():
                    return None
                token = token.strip()
                if looks_like_key(token):
                    return await self._key_user_id(scope, token)
                try:
                    principal = self.codec.decode(token)
                except Unauthenticated:
                    return None
                # Verified once: the authentication middleware reuses it.
                scope.setdefault("state", {})[VERIFIED_BEARER_KEY] = (token, principal)
                return str(principal.id)
        return None

    async def _charges(self, scope: Scope) -> list[tuple[Policy, str]]:
        user_id = await self._user_id(scope)
        address: str | None = None
        charges: list[tuple[Policy, str]] = []
        if user_id is not None:
            # For the access log of a request refused before authentication ran.
            scope.setdefault("state", {})["user_id"] = user_id
            charges.append((self.policies.user, user_id))
        else:
            address = bucket_of(client_address(scope))
            charges.append((self.policies.default, address))
        if request_method(scope) == "POST":
            path = normalize_path(scope["path"])
            if path in (LOGIN_PATH, SESSION_PATH, REGISTER_PATH):
                address = address or bucket_of(client_address(scope))
                policy = self.policies.register if path == REGISTER_PATH else self.policies.login
                charges.append((policy, address))
            elif path in ACCOUNT_MAIL_PATHS:
                address = address or bucket_of(client_address(scope))
                charges.append((self.policies.account_mail, address))
        return charges

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or is_exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        states: list[QuotaState] = []
        for policy, key in await self._charges(scope):
            result = await self.limiter.hit(policy, key)
            if result is not None:
                states.extend(result)
        if not states:  # storage down: fail open, without headers we cannot vouch for
            await self.app(scope, receive, send)
            return
        headers = response_headers(states)
        refused = [state for state in states if not state.allowed]
        if refused:
            for scope_name in {state.quota.scope for state in refused}:  # one count per request
                self.metrics.rate_limit_rejections.labels(policy=scope_name).inc()
            wait = retry_after(refused)
            await send_problem(
                scope,
                send,
                status=429,
                slug="rate-limited",
                title="Too many requests",
                detail=f"Rate limit exceeded; retry in {wait} s.",
                headers=[*headers, (b"retry-after", str(wait).encode()), *cors_headers(scope, self.cors)],
            )
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)
