"""One check, before any handler runs, for input no database can store.

A NUL character is valid JSON (``"\\u0000"``) and a valid query or form value (``%00``), and
msgspec hands it through; PostgreSQL then refuses the statement (a 500, with the statement in
the log) while SQLite stores it. A datetime such as ``0001-01-01T00:00:00+14:00`` decodes, but
its UTC form is before year 1 and binding it overflows. Rather than a constraint on each of the
hundred text fields of the schemas (which would still miss ``dict[str, Any]`` payloads and every
query parameter), this hook runs for every route (the app's ``before_request``):

* query parameters and ``application/x-www-form-urlencoded`` bodies: any value or name with NUL;
* JSON bodies: any string or key with NUL, reported with its path (``conditions[0].value``);
* query parameters and JSON body fields (nested structs too) the handler declares as datetimes:
  a value outside what the databases store.

It costs one byte search of the body (``\\u0000`` or a raw NUL) unless one is there, plus one
extra decode for the few handlers whose body holds datetimes; the body is read once and cached
for the handler. What a handler declares is worked out once per handler. Every finding is a
422 ``validation-error`` naming the field, the same problem msgspec's own checks give. Cursors
carry datetimes too; they are checked where they are decoded (:mod:`aiclone.pagination`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Request
from litestar.handlers import HTTPRouteHandler
from litestar.params import ParameterKwarg

from aiclone.errors import FieldError, InvalidInput
from aiclone.fields import INSTANT_MESSAGE, NUL_MESSAGE, nul_path, storable_instant

_FORM = "application/x-www-form-urlencoded"
_DETAIL = "One or more fields are invalid."
# Keyed by the handler object itself (held here), never by id(): once a handler of another app
# is freed, its id can be reused by a different handler. Handlers are few and live as long as
# their app.
_datetime_params: dict[HTTPRouteHandler, frozenset[str]] = {}
_datetime_fields: dict[HTTPRouteHandler, tuple[tuple[str, ...], ...]] = {}
_MAX_DEPTH = 4


def _printable(name: str) -> str:
    return name.replace("\x00", "\\u0000")[:100]


def _declared_datetimes(handler: HTTPRouteHandler) -> frozenset[str]:
    """Names of the query parameters ``handler`` takes as datetimes (computed once per handler)."""
    key = handler
    names = _datetime_params.get(key)
    if names is None:
        found: set[str] = set()
        for name, field in handler.parsed_fn_signature.parameters.items():
            if field.is_subclass_of(dt.datetime) or field.has_inner_subclass_of(dt.datetime):
                kwarg = field.kwarg_definition
                alias = kwarg.query if isinstance(kwarg, ParameterKwarg) else None
                found.add(alias or name)
        names = _datetime_params[key] = frozenset(found)
    return names


def _struct_datetimes(info: msgspec.inspect.Type, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Paths (JSON names) of the datetime fields of a request body type, nested structs included."""
    if isinstance(info, msgspec.inspect.DateTimeType):
        return [path]
    if isinstance(info, msgspec.inspect.UnionType):
        return [found for member in info.types for found in _struct_datetimes(member, path)]
    if isinstance(info, msgspec.inspect.StructType) and len(path) < _MAX_DEPTH:
        return [
            found
            for field in info.fields
            for found in _struct_datetimes(field.type, (*path, field.encode_name))
        ]
    return []


def _declared_body_datetimes(handler: HTTPRouteHandler) -> tuple[tuple[str, ...], ...]:
    key = handler
    paths = _datetime_fields.get(key)
    if paths is None:
        field = handler.parsed_fn_signature.parameters.get("data")
        found: list[tuple[str, ...]] = []
        if field is not None:
            try:
                found = _struct_datetimes(msgspec.inspect.type_info(field.annotation))
            except TypeError:
                found = []  # not a msgspec type: nothing to check here
        paths = _datetime_fields[key] = tuple(dict.fromkeys(found))
    return paths


def _body_datetime_errors(decoded: Any, paths: tuple[tuple[str, ...], ...]) -> list[FieldError]:
    errors: list[FieldError] = []
    for path in paths:
        value = decoded
        for name in path:
            value = value.get(name) if isinstance(value, dict) else None
        if isinstance(value, str) and not _storable_text(value):
            errors.append(FieldError(field=".".join(path), message=INSTANT_MESSAGE))
    return errors


def _pair_errors(
    pairs: list[tuple[str, str]], *, datetimes: frozenset[str] = frozenset()
) -> list[FieldError]:
    errors: list[FieldError] = []
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            errors.append(FieldError(field=_printable(name), message=NUL_MESSAGE))
        elif name in datetimes and not _storable_text(value):
            errors.append(FieldError(field=name, message=INSTANT_MESSAGE))
    return errors


def _storable_text(value: str) -> bool:
    try:
        parsed = msgspec.convert(value, dt.datetime, strict=False)
    except msgspec.ValidationError:
        return True  # not a datetime at all: the handler's own parsing reports it
    return storable_instant(parsed)


async def _form_errors(request: Request[Any, Any, Any]) -> list[FieldError]:
    body = await request.body()
    if b"%00" not in body and b"\x00" not in body:
        return []
    form = await request.form()
    return _pair_errors([(str(k), str(v)) for k, v in form.multi_items()])


async def _json_errors(
    request: Request[Any, Any, Any], datetimes: tuple[tuple[str, ...], ...]
) -> list[FieldError]:
    body = await request.body()
    nul = b"\\u0000" in body or b"\x00" in body
    if not nul and not datetimes:
        return []
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return []  # not JSON: the handler's decoding reports it
    path = nul_path(decoded) if nul else None
    if path is not None:
        return [FieldError(field=_printable(path), message=NUL_MESSAGE)]
    return _body_datetime_errors(decoded, datetimes)


async def _body_errors(request: Request[Any, Any, Any], handler: HTTPRouteHandler) -> list[FieldError]:
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return []
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type == _FORM:
        return await _form_errors(request)
    if media_type == "application/json" or media_type.endswith("+json"):
        return await _json_errors(request, _declared_body_datetimes(handler))
    return []


async def refuse_unstorable_input(request: Request[Any, Any, Any]) -> None:
    """The app-wide ``before_request`` hook: raise :class:`InvalidInput` for unstorable input."""
    handler = request.route_handler
    if not isinstance(handler, HTTPRouteHandler):
        return
    datetimes = _declared_datetimes(handler)
    errors = []
    if b"%00" in request.scope["query_string"] or datetimes:
        errors = _pair_errors(list(request.query_params.multi_items()), datetimes=datetimes)
    errors += await _body_errors(request, handler)
    if errors:
        raise InvalidInput(_DETAIL, errors=errors)
