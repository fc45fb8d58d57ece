"""argon2id hashing, always off the event loop.

The cost parameters come from settings (never below OWASP's minimum); a hash made with other
parameters verifies and is then re-hashed on the next successful login.
"""

from __future__ import annotations

import unicodedata

import anyio.to_thread
from argon2 import PasswordHasher as Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from aiclone.errors import FieldError, InvalidInput
from aiclone.settings import AuthSettings

# The most common passwords of public breach corpora that pass a length rule; NIST 800-63B asks
# verifiers to refuse values known to be commonly used or compromised.
_COMMON = frozenset(
    {
        "password",
        "password1",
        "password123",
        "password1234",
        "passw0rd",
        "12345678",
        "123456789",
        "1234567890",
        "123123123",
        "11111111",
        "00000000",
        "qwertyuiop",
        "qwerty123",
        "iloveyou",
        "sunshine1",
        "princess1",
        "football1",
        "baseball1",
        "welcome1",
        "welcome123",
        "admin123",
        "letmein123",
        "abc12345",
        "abcd1234",
        "1q2w3e4r",
        "1q2w3e4r5t",
        "qwerty12345",
        "zaq12wsx",
        "trustno1",
        "superman1",
        "starwars1",
        "monkey123",
        "dragon123",
        "changeme",
        "changeme123",
        "passwordpassword",
        "aaaaaaaa",
        "asdfghjkl",
        "qazwsxedc",
        "123456789012345",
    }
)


def normalize_password(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def check_password_policy(password: str, *, email: str, settings: AuthSettings) -> str:
    """Length-based policy (NIST SP 800-63B): no composition rules, a blocklist, bounded length."""
    normalized = normalize_password(password)
    problems: list[str] = []
    if len(normalized) < settings.password_min_length:
        problems.append(f"must be at least {settings.password_min_length} characters")
    if len(normalized) > settings.password_max_length:
        problems.append(f"must be at most {settings.password_max_length} characters")
    if not normalized.strip():
        problems.append("may not be only white space")
    lowered = normalized.lower()
    if lowered in _COMMON or len(set(lowered)) <= 2:
        problems.append("is too common or too repetitive")
    if lowered == email.lower() or lowered == email.split("@", 1)[0].lower():
        problems.append("may not be the email address")
    if problems:
        raise InvalidInput(
            "The password does not meet the policy.",
            errors=[FieldError(field="password", message=p) for p in problems],
        )
    return normalized


class PasswordHasher:
    def __init__(self, settings: AuthSettings) -> None:
        self._hasher = Argon2Hasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        self._max_length = settings.password_max_length
        # Verified against when the email is unknown, so both paths cost one argon2 verify;
        # made on the first sign-in, not at start-up (one argon2 hash is ~0.1 s of CPU).
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hasher.hash, normalize_password(password))

    async def verify(self, password_hash: str | None, password: str) -> bool:
        candidate = normalize_password(password)
        if len(candidate) > self._max_length:
            # Bounded before hashing; still burn the same work so timing does not tell.
            candidate = ""
            password_hash = None
        if password_hash:
            target = password_hash
        elif self._dummy is not None:
            target = self._dummy
        else:
            target = await anyio.to_thread.run_sync(self._dummy_hash)
        ok = await anyio.to_thread.run_sync(self._verify_sync, target, candidate)
        return ok and password_hash is not None

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self._hasher.hash("timing-equaliser-not-a-password")
        return self._dummy

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)

    def _verify_sync(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
