"""Unit tests of the built forwarding handlers (aiclone.auth.handlers), served by a real Litestar app.

The owner is provided by a plain dependency here, so these tests see only what the builder does:
which arguments reach the service, how path, query and body parameters are validated and
documented, and what the operationIds are."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.di import Provide
from litestar.testing import AsyncTestClient

from aiclone.auth.handlers import ORDERED_PAGE, DomainController, Resource, optional
from aiclone.openapi import problems

OWNER = uuid.uuid4()


class Note(msgspec.Struct):
    id: uuid.UUID
    text: str


class NoteCreate(msgspec.Struct, forbid_unknown_fields=True):
    text: str


class NotePage(msgspec.Struct):
    calls: list[Any]


class NoteService:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def _record(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append((name, args, kwargs))

    async def create(self, owner: uuid.UUID, data: NoteCreate) -> Note:
        self._record("create", owner, data)
        return Note(id=uuid.uuid4(), text=data.text)

    async def get(self, owner: uuid.UUID, note_id: uuid.UUID) -> Note:
        self._record("get", owner, note_id)
        return Note(id=note_id, text="x")

    async def delete(self, owner: uuid.UUID, note_id: uuid.UUID) -> None:
        self._record("delete", owner, note_id)

    async def list(self, owner: uuid.UUID, **query: Any) -> NotePage:
        self._record("list", owner, **query)
        return NotePage(calls=[query])

    async def pin(self, owner: uuid.UUID, note_id: uuid.UUID, other_id: uuid.UUID) -> Note:
        self._record("pin", owner, note_id, other_id)
        return Note(id=other_id, text="pinned")


notes = Resource("note_service", NoteService, "note_id", read=Note)


class NoteController(DomainController, domain="content"):
    path = "/api/notes"

    create_note = notes.create(NoteCreate, summary="Create", responses=problems(404))
    list_notes = notes.list(NotePage, query={"tag": optional(str, max_length=5), **ORDERED_PAGE})
    get_note = notes.get(summary="Get")
    delete_note = notes.delete(summary="Delete")
    pin_note = notes.action("pin", path="pins/{other_id:uuid}", summary="Pin")


@pytest.fixture
async def served() -> Any:
    service = NoteService()
    app = Litestar(
        route_handlers=[NoteController],
        dependencies={
            "owner": Provide(lambda: OWNER, sync_to_thread=False),
            "note_service": Provide(lambda: service, sync_to_thread=False),
        },
    )
    async with AsyncTestClient(app=app) as client:
        yield client, service, app


async def test_each_built_handler_hands_the_owner_ids_and_body_to_its_service_method(served: Any) -> None:
    client, service, _ = served
    note_id, other_id = uuid.uuid4(), uuid.uuid4()

    created = await client.post("/api/notes", json={"text": "hello"})
    assert created.status_code == 201
    assert created.json()["text"] == "hello"
    assert (await client.get(f"/api/notes/{note_id}")).json() == {"id": str(note_id), "text": "x"}
    assert (await client.delete(f"/api/notes/{note_id}")).status_code == 204
    pinned = await client.post(f"/api/notes/{note_id}/pins/{other_id}")
    assert pinned.status_code == 200
    assert pinned.json()["id"] == str(other_id)

    assert service.calls == [
        ("create", (OWNER, NoteCreate(text="hello")), {}),
        ("get", (OWNER, note_id), {}),
        ("delete", (OWNER, note_id), {}),
        ("pin", (OWNER, note_id, other_id), {}),
    ]


async def test_a_built_list_passes_its_query_with_defaults_and_validates_it(served: Any) -> None:
    client, service, _ = served
    assert (await client.get("/api/notes")).json() == {
        "calls": [{"tag": None, "order": "desc", "limit": 50, "cursor": None}]
    }
    page = await client.get("/api/notes", params={"tag": "a", "order": "asc", "limit": "3"})
    assert page.json()["calls"] == [{"tag": "a", "order": "asc", "limit": 3, "cursor": None}]

    # Constraints hold before the service is called: too long a tag, a limit out of range, an
    # unknown order, a path id that is not a UUID, a body with a stray field.
    calls = len(service.calls)
    assert (await client.get("/api/notes", params={"tag": "toolong"})).status_code == 400
    assert (await client.get("/api/notes", params={"limit": "0"})).status_code == 400
    assert (await client.get("/api/notes", params={"order": "up"})).status_code == 400
    assert (await client.get("/api/notes/not-a-uuid")).status_code == 404
    assert (await client.post("/api/notes", json={"text": "a", "extra": 1})).status_code == 400
    assert len(service.calls) == calls


async def test_built_handlers_are_documented_like_written_ones(served: Any) -> None:
    _, _, app = served
    document = app.openapi_schema.to_schema()
    operations = {
        (path, method): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    # The operationId is the attribute's name (Litestar's default creator, from the handler name).
    ids = {key: operation["operationId"] for key, operation in operations.items()}
    assert ids[("/api/notes", "post")].endswith("CreateNote")
    assert ids[("/api/notes/{note_id}/pins/{other_id}", "post")].endswith("PinNote")
    create = operations[("/api/notes", "post")]
    assert create["summary"] == "Create"
    assert create["tags"] == ["content"]
    assert "404" in create["responses"]
    assert create["requestBody"]["required"] is True
    listing = operations[("/api/notes", "get")]
    tag = next(p for p in listing["parameters"] if p["name"] == "tag")
    assert tag["required"] is False
    assert tag["schema"]["maxLength"] == 5
    pin = operations[("/api/notes/{note_id}/pins/{other_id}", "post")]
    assert [p["name"] for p in pin["parameters"] if p["in"] == "path"] == ["note_id", "other_id"]


def test_a_resource_without_an_id_has_no_path_of_one() -> None:
    with pytest.raises(TypeError, match="no path of one"):
        Resource("note_service", NoteService).get(summary="Get")
