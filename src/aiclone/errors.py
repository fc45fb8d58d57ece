"""Domain errors and their one mapping to RFC 9457 problem details.

Services raise :class:`DomainError` subclasses and never HTTP exceptions; the handlers here are
the only place that turns anything into an HTTP error body. Unknown exceptions become a bare
500 whose body says nothing about the internals (the traceback goes to the log only).
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from typing import Any, ClassVar, TypeVar

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.exceptions.http_exceptions import ClientException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from aiclone.db_outage import RETRY_AFTER_SECONDS, is_database_outage

logger = logging.getLogger("aiclone.errors")

_T = TypeVar("_T")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://aiclone.dev/problems/"


class FieldError(msgspec.Struct, omit_defaults=True):
    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem details body."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None
    request_id: str | None = None
    # 403 insufficient-scope: the API-key scope the operation needs (aiclone.auth.scopes).
    required_scope: str | None = None


# The slug and title of each status, for Litestar's own errors and for the domain errors that
# stand for a status as a whole (a NotFound reads the same as the router's 404).
_HTTP_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Request validation failed"),
    429: ("rate-limited", "Too many requests"),
    503: ("unavailable", "Service unavailable"),
}


class DomainError(Exception):
    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init_subclass__(cls, *, status: int | None = None, **kwargs: Any) -> None:
        """``class NotFound(DomainError, status=404)`` takes the status's slug and title."""
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
            cls.slug, cls.title = _HTTP_SLUGS[status]

    def __init__(self, detail: str, *, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class InvalidInput(DomainError, status=422):
    pass


class Unauthenticated(DomainError, status=401):
    pass


class Forbidden(DomainError, status=403):
    pass


class NotFound(DomainError, status=404):
    pass


class Conflict(DomainError, status=409):
    pass


def existing(row: _T | None, detail: str) -> _T:
    """The row a lookup found, or :class:`NotFound` with ``detail`` where it found none."""
    if row is None:
        raise NotFound(detail)
    return row


@contextlib.contextmanager
def owner_must_exist() -> Iterator[None]:
    """Around a validated write of a user's row: the only constraint it can break is the owner's
    foreign key (an admin named a missing user), which is a :class:`NotFound`."""
    try:
        yield
    except IntegrityError:
        raise NotFound("The user does not exist.") from None


class TooManyRequests(DomainError, status=429):
    def __init__(
        self, detail: str, *, retry_after: int | None = None, errors: list[FieldError] | None = None
    ) -> None:
        super().__init__(detail, errors=errors)
        # Seconds until a retry can succeed; sent as Retry-After.
        self.retry_after = None if retry_after is None else max(1, retry_after)


class DatabaseUnavailable(DomainError):
    """The database is unreachable or did not answer within its bounds (see aiclone.db_outage)."""

    status = 503
    slug = "database-unavailable"
    title = "Database unavailable"

    def __init__(
        self, detail: str = "The database is unavailable; retry shortly.", *, retry_after: int = 5
    ) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)


def problem_response(
    request: Request[Any, Any, Any] | None,
    *,
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    required_scope: str | None = None,
) -> Response[Problem]:
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer", **(headers or {})}
    request_id = None
    instance = None
    if request is not None:
        request_id = request.scope.get("state", {}).get("request_id")
        instance = request.url.path
    body = Problem(
        type=TYPE_BASE + slug,
        title=title,
        status=status,
        detail=detail,
        instance=instance,
        errors=errors,
        request_id=request_id,
        required_scope=required_scope,
    )
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _domain_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[Problem]:
    headers = None
    if isinstance(exc, TooManyRequests | DatabaseUnavailable) and exc.retry_after is not None:
        headers = {"Retry-After": str(exc.retry_after)}
    return problem_response(
        request,
        status=exc.status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        headers=headers,
        required_scope=getattr(exc, "required_scope", None),
    )


_FIELD_IN_MESSAGE = re.compile(r"(?:required|unknown) field `([^`]{1,100})`")


def _validation_errors(extra: Any) -> list[FieldError]:
    found: list[FieldError] = []
    if not isinstance(extra, list):
        return found
    for item in extra:
        if not isinstance(item, dict):
            continue
        key = str(item.get("key") or "")
        source = item.get("source")
        message = str(item.get("message") or "invalid value")
        # Litestar reports body errors as "Expected `int`, got `str` - at `$.age`".
        if " - at `" in message:
            message, _, path = message.partition(" - at `")
            key = key or path.rstrip("`").removeprefix("$.").removeprefix("$")
        named = _FIELD_IN_MESSAGE.search(message)
        if named:
            # "Object missing required field `x`" / "Object contains unknown field `x`"
            key = ".".join(
                part for part in (key if key not in ("data", "body") else "", named.group(1)) if part
            )
        elif key == "data":
            key = "body"
        label = key or (str(source) if source else "body")
        if label == "body" and message == "'data'":
            # Litestar's words for a request that has no body at all.
            message = "a JSON request body is required"
        found.append(FieldError(field=label, message=message))
    return found


def _http_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    slug, title = _HTTP_SLUGS.get(status, ("http-error", "HTTP error"))
    errors = None
    detail: str | None = exc.detail
    if isinstance(exc, ValidationException):
        status, (slug, title) = 422, _HTTP_SLUGS[422]
        errors = _validation_errors(exc.extra) or None
        detail = "One or more fields are invalid." if errors else (exc.detail or None)
    elif isinstance(exc, NotAuthorizedException):
        detail = exc.detail if exc.detail != "Unauthorized" else "Missing or invalid credentials."
    elif isinstance(exc, PermissionDeniedException):
        detail = exc.detail if exc.detail != "Forbidden" else "You may not perform this action."
    elif status >= 500 or (not isinstance(exc, ClientException) and status >= 400 and detail == title):
        detail = None
    headers = dict(exc.headers or {})
    return problem_response(
        request, status=status, slug=slug, title=title, detail=detail, errors=errors, headers=headers or None
    )


class UnhandledDatabaseError(Exception):
    """Logged in place of a statement error: its kinds and SQLSTATE, no SQL and no values."""


def _database_error(exc: BaseException) -> str | None:
    """For an error raised by a statement: its kinds along the chain and SQLSTATE, nothing else.

    The text of a statement error holds the SQL and its parameters, and a driver's message may
    quote a bound value (``invalid input for query argument $1: ...``); neither may reach a log.
    """
    chain: list[BaseException] = []
    item: BaseException | None = exc
    while item is not None and len(chain) < 8:
        chain.append(item)
        item = item.__cause__ or item.__context__
    if not any(isinstance(link, SQLAlchemyError) for link in chain):
        return None
    kinds = " <- ".join(type(link).__name__ for link in chain)
    codes = {getattr(link, attr, None) for link in chain for attr in ("sqlstate", "pgcode")} - {None}
    return kinds + (f" (SQLSTATE {', '.join(sorted(map(str, codes)))})" if codes else "")


def _internal_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    if is_database_outage(exc):
        # Raised outside aiclone.db's session helpers: still an outage, reported once.
        services = request.app.state.get("services")
        if services is not None:
            services.db.outages.failed(exc)
        return _domain_handler(request, DatabaseUnavailable(retry_after=RETRY_AFTER_SECONDS))
    database = _database_error(exc)
    if database is None:
        logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    else:
        # The frames of the original, under a stand-in that says only what kind of error it was.
        logged = UnhandledDatabaseError(database)
        logger.error(
            "unhandled database error on %s %s: %s",
            request.method,
            request.url.path,
            database,
            exc_info=(UnhandledDatabaseError, logged, exc.__traceback__),
        )
    return problem_response(
        request,
        status=HTTP_500_INTERNAL_SERVER_ERROR,
        slug="internal-error",
        title="Internal server error",
        detail="The server could not complete the request. It has been logged.",
    )


def _recursion_handler(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Problem]:
    # msgspec has no depth option: it decodes nested JSON recursively and stops at the
    # interpreter's recursion limit (a few hundred to 1000 levels) with this RecursionError.
    # That is a client sending absurd nesting, not a fault of ours. Any other RecursionError is.
    if "while deserializing" in str(exc):
        return problem_response(
            request,
            status=400,
            slug="bad-request",
            title="Bad request",
            detail="The request body is nested too deeply.",
        )
    return _internal_handler(request, exc)


exception_handlers: ExceptionHandlersMap = {
    DomainError: _domain_handler,
    HTTPException: _http_handler,
    RecursionError: _recursion_handler,
    Exception: _internal_handler,
}
