"""Webhooks cannot be aimed at internal addresses: at registration, and again on every connection.

These tests run with ``AICLONE_WEBHOOK_ALLOW_PRIVATE`` off (the production default). No traffic
leaves the machine: forbidden addresses are refused before any connection, names are answered by
a resolver the test controls (or by /etc/hosts and numeric parsing), and the one real receiver
listens on 127.0.0.1 to prove that nothing reaches it.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from aiclone.container import Services
from aiclone.settings import Settings, SettingsError
from aiclone.webhooks.sender import Sender
from aiclone.webhooks.transport import UnsafeDestination, WebhookNetwork
from tests.conftest import make_settings
from tests.support.factories import UserFactory
from tests.support.problems import assert_problem
from tests.support.webhook_receiver import Receiver

Client = AsyncTestClient[Litestar]
PUBLIC_V4 = "93.184.216.34"

# Each host is refused; the comment says why.
FORBIDDEN_HOSTS = [
    "127.0.0.1",  # loopback
    "127.8.9.10",  # loopback /8
    "localhost",  # loopback by name
    "api.localhost",  # *.localhost is loopback by definition
    "10.1.2.3",  # private
    "172.16.0.1",  # private
    "192.168.0.10",  # private
    "169.254.169.254",  # cloud metadata
    "100.100.100.200",  # cloud metadata (Alibaba)
    "169.254.10.10",  # link-local
    "100.64.0.1",  # shared address space (CGNAT)
    "0.0.0.0",  # unspecified
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",  # broadcast
    "192.0.0.192",  # IETF protocol assignments
    "[::1]",  # IPv6 loopback
    "[::]",  # IPv6 unspecified
    "[fe80::1]",  # IPv6 link-local
    "[fc00::1]",  # IPv6 unique local
    "[fec0::1]",  # IPv6 site-local
    "[ff02::1]",  # IPv6 multicast
    "[fd00:ec2::254]",  # AWS metadata over IPv6
    "[2001:db8::1]",  # documentation
    "[::ffff:127.0.0.1]",  # IPv4-mapped loopback
    "[::ffff:a9fe:a9fe]",  # IPv4-mapped metadata (169.254.169.254)
    "[::127.0.0.1]",  # IPv4-compatible loopback
    "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
    "[2002:a00:1::]",  # 6to4 of 10.0.0.1
    "[64:ff9b::a00:1]",  # NAT64 of 10.0.0.1
    "[64:ff9b::a9fe:a9fe]",  # NAT64 of the metadata address
    "2130706433",  # 127.0.0.1 as one decimal number
    "0x7f000001",  # 127.0.0.1 in hex
    "127.1",  # 127.0.0.1 in short form (resolved, then refused)
    "metadata.google.internal",  # metadata by name
    "intranet",  # single-label names resolve through search domains
]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        webhook_allow_private=False,
        webhook_timeout_seconds=2.0,
        webhook_connect_timeout_seconds=1.0,
        webhook_lease_seconds=4.0,
    )


def _network(app: Litestar) -> WebhookNetwork:
    services: Services = app.state.services
    return services.webhooks.network


async def test_forbidden_hosts_are_refused_at_registration(client: Client, users: UserFactory) -> None:
    assert len(FORBIDDEN_HOSTS) >= 20
    alice = await users.create()
    for host in FORBIDDEN_HOSTS:
        response = await client.post(
            "/api/webhooks",
            json={"url": f"https://{host}/hook", "event_types": ["*"]},
            headers=alice.headers,
        )
        assert_problem(response, 422, "validation-error", note=host)
        [error] = response.json()["errors"]
        assert error["field"] == "url"
    assert (await client.get("/api/webhooks", headers=alice.headers)).json()["items"] == []


async def test_refusals_say_why(client: Client, users: UserFactory) -> None:
    alice = await users.create()
    expectations = {
        "169.254.169.254": "cloud metadata",
        "100.64.0.1": "carrier-grade NAT",
        "[::ffff:127.0.0.1]": "IPv4-mapped form of 127.0.0.1",
        "[64:ff9b::a00:1]": "NAT64 form of 10.0.0.1",
        "localhost": "internal name",
    }
    for host, words in expectations.items():
        response = await client.post(
            "/api/webhooks", json={"url": f"https://{host}/", "event_types": ["*"]}, headers=alice.headers
        )
        assert words in response.json()["errors"][0]["message"], host


async def test_public_addresses_are_accepted(client: Client, users: UserFactory, app: Litestar) -> None:
    alice = await users.create()

    async def public(host: str, port: int) -> list[str]:
        return [PUBLIC_V4, "2606:4700:4700::1111"]

    _network(app).resolver = public
    for url in (
        f"https://{PUBLIC_V4}/hook",
        "https://[2606:4700:4700::1111]/hook",
        "https://hooks.example.com/in",
    ):
        response = await client.post(
            "/api/webhooks", json={"url": url, "event_types": ["*"]}, headers=alice.headers
        )
        assert response.status_code == 201, (url, response.text)


async def test_a_name_with_any_internal_answer_is_refused(
    client: Client, users: UserFactory, app: Litestar
) -> None:
    alice = await users.create()

    async def mixed(host: str, port: int) -> list[str]:
        return [PUBLIC_V4, "10.0.0.7"]

    async def unresolvable(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    for resolver, words in ((mixed, "10.0.0.7"), (unresolvable, "does not resolve")):
        _network(app).resolver = resolver
        response = await client.post(
            "/api/webhooks",
            json={"url": "https://mixed.example.com/", "event_types": ["*"]},
            headers=alice.headers,
        )
        assert_problem(response, 422, "validation-error")
        assert words in response.json()["errors"][0]["message"]


async def test_dns_rebinding_is_caught_at_send_time(
    client: Client, users: UserFactory, app: Litestar, receiver: Receiver
) -> None:
    """The name resolves to a public address when registered, to loopback when it is used."""
    alice = await users.create()
    answers = iter([[PUBLIC_V4]])

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers, ["127.0.0.1"])

    _network(app).resolver = rebinding
    url = f"http://rebind.example.com:{receiver.port}/hook"
    created = await client.post(
        "/api/webhooks", json={"url": url, "event_types": ["*"]}, headers=alice.headers
    )
    assert created.status_code == 201, created.text
    hook_id = created.json()["id"]
    sent = await client.post(f"/api/webhooks/{hook_id}/test", json={}, headers=alice.headers)
    assert sent.status_code == 200
    [attempt] = sent.json()["attempt_log"]
    assert attempt["error_class"] == "blocked"
    assert "127.0.0.1" in attempt["error"]
    assert "loopback" in attempt["error"]
    assert attempt["status_code"] is None
    await asyncio.sleep(0.2)
    assert receiver.received() == []


async def test_every_forbidden_form_is_blocked_on_the_connection_itself(receiver: Receiver) -> None:
    """The send-time guard, on its own: even a stored URL to these hosts never gets a connection."""
    network = WebhookNetwork(allow_private=False, production=False)
    sender = Sender(network, user_agent="t", connect_timeout=1.0, total_timeout=2.0, endpoint_concurrency=2)
    try:
        for host in FORBIDDEN_HOSTS:
            outcome = await sender.send(
                endpoint_id=uuid.uuid4(),
                url=f"http://{host}:{receiver.port}/hook",
                msg_id="msg_x",
                body=b"{}",
                keys=[b"k" * 32],
            )
            assert outcome.error_class == "blocked", (host, outcome)
    finally:
        await sender.aclose()
    assert receiver.received() == []


async def test_allow_private_reaches_loopback_and_is_refused_in_production(
    receiver: Receiver, tmp_path: Path
) -> None:
    network = WebhookNetwork(allow_private=True, production=False)
    sender = Sender(network, user_agent="t", connect_timeout=1.0, total_timeout=2.0, endpoint_concurrency=2)
    try:
        outcome = await sender.send(
            endpoint_id=uuid.uuid4(), url=receiver.url(), msg_id="msg_x", body=b"{}", keys=[b"k" * 32]
        )
    finally:
        await sender.aclose()
    assert outcome.ok
    assert len(receiver.received()) == 1
    with pytest.raises(SettingsError, match="AICLONE_WEBHOOK_ALLOW_PRIVATE"):
        make_settings("", tmp_path, env="production", secret_key="p" * 40, webhook_allow_private=True)


def test_http_is_refused_in_production() -> None:
    production = WebhookNetwork(allow_private=False, production=True)
    with pytest.raises(UnsafeDestination, match="https in production"):
        production.parse(f"http://{PUBLIC_V4}/hook")
    assert str(production.parse(f"https://{PUBLIC_V4}/hook")) == f"https://{PUBLIC_V4}/hook"
    development = WebhookNetwork(allow_private=False, production=False)
    development.parse(f"http://{PUBLIC_V4}/hook")
