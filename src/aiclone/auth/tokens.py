"""Access tokens (JWT) and opaque refresh tokens.

Decoding pins the one configured algorithm (so ``none`` and algorithm confusion are refused),
requires every claim we issue and checks issuer, audience and expiry. Oversized tokens are
refused before any parsing.

Full verification costs more than the rest of a small request (PyJWT checks the base64 text
character by character in Python), and a client sends the same access token with every request
for its whole lifetime. So each codec remembers the tokens it has fully verified, by their
exact text, and only re-checks the expiry on a repeat. Only tokens that passed every check are
remembered; the memory is bounded and per process, and a new key means a new codec.

Every access token names its session (``sid``, the refresh-token family). The codec only says
the token is genuine; whether its session, its user and the user's role still stand is the
identity gate's answer (``aiclone.auth.identity``), asked on every request after this one.

No expiry leeway: the issuer and every verifier are instances of this service, whose clocks
are the same host's or NTP-synchronised ones, and the token's lifetime is ours to choose, so a
token is refused from the second its ``exp`` names. The claims are also held to what we issue:
``aud`` must be our audience as a single string (not a list that merely contains it), and
``iat``/``exp`` integers with ``iat`` not in the future and ``exp`` no further than the
configured lifetime after ``iat`` (which also keeps absurd values such as 1e300 out of date
arithmetic).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import secrets
import time
import uuid

import jwt
import msgspec

from aiclone.errors import Unauthenticated
from aiclone.settings import AuthSettings

MAX_TOKEN_LENGTH = 4096
# scope["state"] key under which a layer that already verified the bearer token (the rate
# limiter) leaves ``(token, Principal)``, so the token is verified once per request.
VERIFIED_BEARER_KEY = "verified_bearer"
# Allowance for clocks of several instances that disagree by a little on when "now" is, for
# ``iat`` only (a token minted on a host a second ahead must not be refused as "from the future").
CLOCK_SKEW_SECONDS = 2
# Verified tokens remembered per process; about 0.5 KiB each.
VERIFIED_CACHE_SIZE = 8192
_REQUIRED_CLAIMS = ["sub", "sid", "email", "role", "iat", "exp", "jti", "iss", "aud"]


class Principal(msgspec.Struct, frozen=True):
    """Who is calling: the access token's claims, with the role the identity gate confirmed."""

    id: uuid.UUID
    email: str
    role: str
    expires_at: dt.datetime
    # The session of an access token; for an API key, the key's id.
    session_id: uuid.UUID
    # None for a signed-in session (every scope of the user); an API key's scopes otherwise.
    scopes: frozenset[str] | None = None
    key_id: uuid.UUID | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class IssuedAccessToken(msgspec.Struct, frozen=True):
    token: str
    expires_in: int


class TokenCodec:
    def __init__(self, settings: AuthSettings) -> None:
        self._key = settings.secret_key
        self._algorithm = settings.jwt_algorithm
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self.ttl = settings.access_token_ttl_seconds
        if not self._key:
            raise ValueError("TokenCodec needs a secret key")
        # token text -> (principal, exp as a Unix time); insertion-ordered, oldest evicted first.
        self._verified: dict[str, tuple[Principal, int]] = {}

    def issue(
        self,
        *,
        user_id: uuid.UUID,
        session_id: uuid.UUID,
        email: str,
        role: str,
        now: dt.datetime | None = None,
        expires_at: dt.datetime | None = None,
    ) -> IssuedAccessToken:
        """Sign a token valid for the configured lifetime, or until ``expires_at`` if that is sooner."""
        issued = now or dt.datetime.now(dt.UTC)
        iat = int(issued.timestamp())
        exp = iat + self.ttl
        if expires_at is not None:
            exp = min(exp, int(expires_at.timestamp()))
        claims = {
            "sub": str(user_id),
            "sid": str(session_id),
            "email": email,
            "role": role,
            "iat": iat,
            "exp": exp,
            "jti": uuid.uuid4().hex,
            "iss": self._issuer,
            "aud": self._audience,
        }
        return IssuedAccessToken(jwt.encode(claims, self._key, algorithm=self._algorithm), exp - iat)

    def decode(self, token: str) -> Principal:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise Unauthenticated("The access token is invalid.")
        known = self._verified.get(token)
        if known is not None:
            principal, expires = known
            if time.time() < expires:
                return principal
            self._verified.pop(token, None)  # expired: the full check below says so
        principal = self._verify(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            with contextlib.suppress(StopIteration, RuntimeError, KeyError):
                del self._verified[next(iter(self._verified))]
        self._verified[token] = (principal, int(principal.expires_at.timestamp()))
        return principal

    def _verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[self._algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": _REQUIRED_CLAIMS, "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            raise Unauthenticated("The access token is invalid.") from None
        issued, expires = claims["iat"], claims["exp"]
        if (
            claims["aud"] != self._audience
            or type(issued) is not int
            or type(expires) is not int
            or not issued < expires <= issued + self.ttl
            or issued > time.time() + CLOCK_SKEW_SECONDS
        ):
            raise Unauthenticated("The access token is invalid.")
        if time.time() >= expires:
            raise Unauthenticated("The access token has expired.")
        try:
            return Principal(
                id=uuid.UUID(str(claims["sub"])),
                email=str(claims["email"]),
                role=str(claims["role"]),
                expires_at=dt.datetime.fromtimestamp(expires, dt.UTC),
                session_id=uuid.UUID(str(claims["sid"])),
            )
        except (ValueError, TypeError, OverflowError):
            raise Unauthenticated("The access token is invalid.") from None


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    # The token carries 256 bits of randomness, so a fast hash is enough; lookups go by hash.
    return hashlib.sha256(token.encode()).hexdigest()
