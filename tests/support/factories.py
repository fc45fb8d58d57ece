"""Test data through the real API (and the real service for admins, who cannot self-register)."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from aiclone.auth.models import Role
from aiclone.container import Services

DEFAULT_PASSWORD = "a long enough passphrase 42"
_counter = itertools.count(1)


@dataclass
class SignedInUser:
    id: uuid.UUID
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class UserFactory:
    def __init__(self, client: AsyncTestClient[Litestar], services: Services) -> None:
        self.client = client
        self.services = services

    async def login(self, email: str, password: str = DEFAULT_PASSWORD) -> Any:
        return await self.client.post("/api/auth/login", data={"username": email, "password": password})

    async def create(
        self, *, admin: bool = False, email: str | None = None, password: str = DEFAULT_PASSWORD
    ) -> SignedInUser:
        email = email or f"user{next(_counter)}-{uuid.uuid4().hex[:6]}@example.com"
        if admin:
            await self.services.auth.register(
                email=email, password=password, full_name="Admin", role=Role.ADMIN
            )
        else:
            response = await self.client.post(
                "/api/auth/register", json={"email": email, "password": password, "full_name": "Test User"}
            )
            assert response.status_code == 201, response.text
        login = await self.login(email, password)
        assert login.status_code == 200, login.text
        body = login.json()
        me = await self.client.get(
            "/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        return SignedInUser(
            id=uuid.UUID(me.json()["id"]),
            email=email,
            password=password,
            access_token=body["access_token"],
            refresh_token=body["refresh_token"],
        )
