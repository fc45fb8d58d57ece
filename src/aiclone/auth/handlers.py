"""Route handlers that only hand the owner's request to one service method, built from what they take.

Most routes of a domain take the owner (:data:`aiclone.auth.owner.Owner`), perhaps the resource's
id from the path and a JSON body, and answer what one method of the domain's service returns:
``create(owner, data)``, ``get(owner, id)``, ``update(owner, id, data)``, ``delete(owner, id)``,
``publish(owner, id)``, ``list(owner, status=…, limit=…, cursor=…)``. A :class:`Resource` names the
service and the id once; its methods build those handlers with the route options (summary,
description, responses) that document them::

    content = Resource("content_service", ContentService, "content_id", read=ContentRead)

    class ContentController(Controller):
        get_content = content.get(summary="Get a piece of content", responses=problems(401, 404))

The built function has a real signature and annotations, so Litestar reads, validates and documents
it like a written one. Its name, and so its operationId, is the attribute it is assigned to. A
handler that does more than forward (checks a parameter, shapes the answer) stays written out.
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Annotated, Any, Literal, NamedTuple

from litestar import Controller, HttpMethod, Request
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from aiclone.auth.owner import Owner
from aiclone.auth.scopes import Domain, domain_scopes
from aiclone.auth.tokens import Principal
from aiclone.pagination import DEFAULT_LIMIT, Cursor, Limit, SortOrder


class Query(NamedTuple):
    """A query parameter of a built list handler: its annotation and its default."""

    annotation: Any
    default: Any = None


def _of(alias: Any, argument: Any) -> Any:
    """``alias[argument]`` built at run time (``FromPath[uuid.UUID]``, ``JSONBody[body]``…)."""
    return alias[argument]


def optional(annotation: Any, **constraints: Any) -> Query:
    """An optional query parameter, absent by default: ``annotation | None`` with Litestar's
    ``QueryParameter(**constraints)`` (``max_length=``, ``description=``…)."""
    return Query(Annotated[annotation | None, QueryParameter(**constraints)])


def defaulted(annotation: Any, default: Any, **constraints: Any) -> Query:
    """A query parameter that is ``default`` when absent."""
    return Query(Annotated[annotation, QueryParameter(**constraints)], default)


# The paging parameters of a list sorted by creation time, newest first by default.
ORDERED_PAGE: Mapping[str, Query] = {
    "order": defaulted(SortOrder, "desc"),
    "limit": Query(Limit, DEFAULT_LIMIT),
    "cursor": Query(Cursor),
}


class DomainController(Controller):
    """A controller of one scope domain: ``class ContentController(DomainController, domain="content")``
    takes ``opt=domain_scopes("content")`` (:mod:`aiclone.auth.scopes`) and the OpenAPI tag ``content``."""

    def __init_subclass__(cls, domain: Domain | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if domain is not None:
            cls.opt = domain_scopes(domain)
            cls.tags = [domain]


class ForwardingHandler(HTTPRouteHandler):
    """A built handler. Its function takes the name of the class attribute it is assigned to, and the
    class's module, as a written method would have them (Litestar names and orders handlers by them)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.fn.__name__ = name
        self.fn.__qualname__ = f"{owner.__qualname__}.{name}"
        self.fn.__module__ = owner.__module__


_PATH_PARAMETER = re.compile(r"{(\w+):uuid}")


def _parameter(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


# Whose data a built handler acts on, as (its parameter, the value it hands the service first).
_SUBJECTS: Mapping[str, tuple[inspect.Parameter, Callable[[Any], Any]]] = {
    # The owner: the caller, or the user an admin names (``user_id``).
    "owner": (_parameter("owner", Owner), itemgetter("owner")),
    # The signed-in caller themselves, whatever their role.
    "caller": (_parameter("request", Request[Principal, str, Any]), lambda kwargs: kwargs["request"].user.id),
}


@dataclass(frozen=True)
class Resource:
    """The resources of one domain: the service's dependency name and type, the path parameter
    that names one resource, what reading one answers, and whose they are (``owner`` or
    ``caller``)."""

    service: str
    service_type: type
    id: str | None = None
    read: Any = None
    subject: Literal["owner", "caller"] = "owner"

    @property
    def one(self) -> str:
        """The path of one resource: ``/{<id>:uuid}``."""
        if self.id is None:
            raise TypeError(f"{self.service}: a resource without an id has no path of one")
        return f"/{{{self.id}:uuid}}"

    # Each verb calls the service method of its name unless given another (``method="patch"``).

    def create(
        self, body: Any, *, returns: Any = None, method: str = "create", **route: Any
    ) -> ForwardingHandler:
        """``POST /``: ``service.create(owner, data)``, answered 201."""
        route.setdefault("status_code", HTTP_201_CREATED)
        return self.build(HttpMethod.POST, "/", method, body=body, returns=returns or self.read, **route)

    def list(
        self, returns: Any, *, query: Mapping[str, Query] | None = None, method: str = "list", **route: Any
    ) -> ForwardingHandler:
        """``GET /``: ``service.list(owner, **query)``."""
        return self.build(HttpMethod.GET, "/", method, returns=returns, query=query, **route)

    def get(self, *, method: str = "get", **route: Any) -> ForwardingHandler:
        """``GET /{id}``: ``service.get(owner, id)``."""
        return self.build(HttpMethod.GET, self.one, method, **route)

    def update(self, body: Any, *, method: str = "update", **route: Any) -> ForwardingHandler:
        """``PATCH /{id}``: ``service.update(owner, id, data)``."""
        return self.build(HttpMethod.PATCH, self.one, method, body=body, **route)

    def replace(self, body: Any, *, method: str = "replace", **route: Any) -> ForwardingHandler:
        """``PUT /{id}``: ``service.replace(owner, id, data)``."""
        return self.build(HttpMethod.PUT, self.one, method, body=body, **route)

    def delete(self, *, method: str = "delete", **route: Any) -> ForwardingHandler:
        """``DELETE /{id}``: ``service.delete(owner, id)``, answered 204."""
        route.setdefault("status_code", HTTP_204_NO_CONTENT)
        return self.build(HttpMethod.DELETE, self.one, method, returns=None, **route)

    def action(self, method: str, *, path: str | None = None, **route: Any) -> ForwardingHandler:
        """``POST /{id}/<method>``: ``service.<method>(owner, id)``, answered 200."""
        route.setdefault("status_code", HTTP_200_OK)
        return self.build(HttpMethod.POST, f"{self.one}/{path or method}", method, **route)

    def build(
        self,
        http_method: HttpMethod,
        path: str,
        method: str,
        *,
        body: Any = None,
        returns: Any = inspect.Parameter.empty,
        query: Mapping[str, Query] | None = None,
        **route: Any,
    ) -> ForwardingHandler:
        """A handler for ``path`` that calls ``service.<method>(subject, *ids, data, **query)``,
        where ``ids`` are the path's parameters (UUIDs) in order and ``method`` may be dotted
        (``profiles.update``); ``returns`` defaults to ``read``."""
        ids = _PATH_PARAMETER.findall(path)
        returns = self.read if returns is inspect.Parameter.empty else returns
        query = query or {}
        subject_parameter, subject = _SUBJECTS[self.subject]
        service, call_on = self.service, attrgetter(method)

        async def handler(_controller: Any, **kwargs: Any) -> Any:
            positional = [subject(kwargs), *(kwargs[name] for name in ids)]
            if body is not None:
                positional.append(kwargs["data"])
            return await call_on(kwargs[service])(*positional, **{name: kwargs[name] for name in query})

        parameters = [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            subject_parameter,
            *(_parameter(name, _of(FromPath, uuid.UUID)) for name in ids),
            *([_parameter("data", _of(JSONBody, body))] if body is not None else []),
            _parameter(service, _of(NamedDependency, self.service_type)),
            *(_parameter(name, q.annotation, q.default) for name, q in query.items()),
        ]
        handler.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
        handler.__annotations__ = {p.name: p.annotation for p in parameters[1:]} | {"return": returns}
        built = ForwardingHandler(path, http_method=http_method, **route)
        built(handler)
        return built
