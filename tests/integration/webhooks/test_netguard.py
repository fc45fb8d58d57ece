"""The SSRF guard: address classification (no connections) and guarded connections to 127.0.0.1 only."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence

import httpx
import pytest

from aiclone.netguard import AddressGuard, ForbiddenAddress, Reason, classify, guarded_client, is_forbidden
from tests.support.localweb import LocalSite, LoopbackNetwork, local_site

FORBIDDEN: list[tuple[str, Reason]] = [
    # IPv4
    ("127.0.0.1", Reason.LOOPBACK),
    ("127.255.255.254", Reason.LOOPBACK),
    ("10.0.0.1", Reason.PRIVATE),
    ("172.16.5.4", Reason.PRIVATE),
    ("172.31.255.255", Reason.PRIVATE),
    ("192.168.1.1", Reason.PRIVATE),
    ("169.254.1.1", Reason.LINK_LOCAL),
    ("169.254.169.254", Reason.CLOUD_METADATA),
    ("100.64.0.1", Reason.SHARED),
    ("100.127.255.254", Reason.SHARED),
    ("100.100.100.200", Reason.CLOUD_METADATA),
    ("0.0.0.0", Reason.UNSPECIFIED),
    ("0.1.2.3", Reason.UNSPECIFIED),
    ("255.255.255.255", Reason.BROADCAST),
    ("224.0.0.1", Reason.MULTICAST),
    ("239.255.255.250", Reason.MULTICAST),
    ("240.0.0.1", Reason.RESERVED),
    ("192.0.0.170", Reason.RESERVED),
    ("198.18.0.1", Reason.BENCHMARKING),
    ("198.19.255.1", Reason.BENCHMARKING),
    ("192.0.2.10", Reason.DOCUMENTATION),
    ("198.51.100.7", Reason.DOCUMENTATION),
    ("203.0.113.99", Reason.DOCUMENTATION),
    # IPv6
    ("::1", Reason.LOOPBACK),
    ("::", Reason.UNSPECIFIED),
    ("fd00:ec2::254", Reason.CLOUD_METADATA),
    ("fc00::1", Reason.UNIQUE_LOCAL),
    ("fd12:3456:789a::1", Reason.UNIQUE_LOCAL),
    ("fe80::1", Reason.LINK_LOCAL),
    ("fe80::1%eth0", Reason.LINK_LOCAL),
    ("fec0::1", Reason.SITE_LOCAL),
    ("ff02::1", Reason.MULTICAST),
    ("2001:db8::1", Reason.DOCUMENTATION),
    ("3fff::1", Reason.DOCUMENTATION),
    ("2001:2::1", Reason.BENCHMARKING),
    ("100::1", Reason.RESERVED),
    ("5f00::1", Reason.RESERVED),
    ("64:ff9b:1::1", Reason.PRIVATE),
    # IPv6 forms that carry a forbidden IPv4 address
    ("::ffff:127.0.0.1", Reason.LOOPBACK),
    ("::ffff:7f00:1", Reason.LOOPBACK),
    ("::ffff:169.254.169.254", Reason.CLOUD_METADATA),
    ("::ffff:10.1.2.3", Reason.PRIVATE),
    ("::ffff:0:192.168.0.1", Reason.PRIVATE),  # IPv4-translated
    ("::127.0.0.1", Reason.LOOPBACK),  # IPv4-compatible
    ("::8.8.8.8", Reason.RESERVED),  # IPv4-compatible is deprecated whatever it carries
    ("64:ff9b::127.0.0.1", Reason.LOOPBACK),  # NAT64
    ("64:ff9b::a9fe:a9fe", Reason.CLOUD_METADATA),  # NAT64 of 169.254.169.254
    ("2002:7f00:1::1", Reason.LOOPBACK),  # 6to4 of 127.0.0.1
    ("2002:c0a8:101::1", Reason.PRIVATE),  # 6to4 of 192.168.1.1
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", Reason.LOOPBACK),  # Teredo, client 127.0.0.1
    ("2001:0:0a00:0001::1", Reason.PRIVATE),  # Teredo, server 10.0.0.1
]

ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "151.101.1.69",
    "100.128.0.1",  # just past 100.64/10
    "172.32.0.1",  # just past 172.16/12
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "2a00:1450:4001:82b::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::8.8.8.8",
    "2002:808:808::1",
    "2001:0:4136:e378:8000:63bf:f7f7:f7f7",  # Teredo with public server and client
]


@pytest.mark.parametrize(("address", "reason"), FORBIDDEN)
def test_forbidden_addresses_are_classified_with_their_reason(address: str, reason: Reason) -> None:
    refusal = classify(address)
    assert refusal is not None, address
    assert refusal.reason == reason
    assert reason.value in str(refusal)
    assert is_forbidden(address)


def test_the_table_is_broad() -> None:
    assert len(FORBIDDEN) >= 20
    assert sum(":" in address for address, _ in FORBIDDEN) >= 20


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert classify(address) is None
    assert not is_forbidden(address)


def test_embedded_forms_name_the_address_they_carry() -> None:
    refusal = classify("::ffff:169.254.169.254")
    assert refusal is not None
    assert str(refusal.embedded) == "169.254.169.254"
    assert refusal.form == "IPv4-mapped"
    assert "169.254.169.254" in str(refusal)


def test_non_addresses_are_a_value_error() -> None:
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 address"):
        classify("example.com")


class ScriptedResolver:
    """Answers from a script, one answer per call, and counts the calls."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append(host)
        if not self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers.pop(0)


@pytest.fixture
def site() -> Iterator[LocalSite]:
    with local_site() as running:
        running.page("/", "<title>local</title>")
        yield running


async def test_one_forbidden_answer_refuses_the_whole_name() -> None:
    resolver = ScriptedResolver(["93.184.216.34", "127.0.0.1"])
    guard = AddressGuard(resolver=resolver)
    with pytest.raises(ForbiddenAddress) as caught:
        await guard.resolve("mixed.test", 80)
    assert caught.value.refusal.reason == Reason.LOOPBACK
    assert "mixed.test" in str(caught.value)
    assert resolver.calls == ["mixed.test"]


async def test_dns_rebinding_cannot_reach_loopback(site: LocalSite) -> None:
    """Public on the first lookup, 127.0.0.1 on the second: the guard resolves once per connection
    and connects to the address it checked, so 127.0.0.1 is never reached."""
    resolver = ScriptedResolver(["93.184.216.34"], ["127.0.0.1"])
    network = LoopbackNetwork()  # the "public" address is unreachable here, as it should be
    url = f"http://rebind.test:{site.port}/"
    async with guarded_client(resolver=resolver, network_backend=network) as client:
        with pytest.raises(httpx.ConnectError) as first:
            await client.get(url)
        assert not isinstance(first.value, ForbiddenAddress)
        assert network.connects == ["93.184.216.34"]
        # The next connection resolves again and meets the rebound answer: refused, not connected.
        with pytest.raises(ForbiddenAddress):
            await client.get(url)
    assert resolver.calls == ["rebind.test", "rebind.test"]
    assert network.connects == ["93.184.216.34"]
    assert site.hits["/"] == 0


async def test_loopback_literals_and_localhost_are_refused(site: LocalSite) -> None:
    async with guarded_client() as client:
        for url in (
            f"http://127.0.0.1:{site.port}/",
            f"http://[::1]:{site.port}/",
            f"http://[::ffff:127.0.0.1]:{site.port}/",
            f"http://localhost:{site.port}/",
        ):
            with pytest.raises(ForbiddenAddress):
                await client.get(url)
    assert site.hits["/"] == 0


async def test_allow_private_reaches_the_local_server(site: LocalSite) -> None:
    async with guarded_client(allow_private=True) as client:
        response = await client.get(site.url("/"))
    assert response.status_code == 200
    assert response.text == "<title>local</title>"
    assert site.hits["/"] == 1


async def test_a_public_name_is_connected_by_its_checked_address(site: LocalSite) -> None:
    resolver = ScriptedResolver(["93.184.216.34"])
    network = LoopbackNetwork({"93.184.216.34": "127.0.0.1"})
    async with guarded_client(resolver=resolver, network_backend=network) as client:
        response = await client.get(f"http://public.test:{site.port}/")
    assert response.status_code == 200
    assert network.connects == ["93.184.216.34"]
    assert site.hits["/"] == 1


async def test_unresolvable_host_is_a_connect_error() -> None:
    async with guarded_client(resolver=ScriptedResolver()) as client:
        with pytest.raises(httpx.ConnectError, match="could not resolve"):
            await client.get("http://nowhere.test/")


async def test_forbidden_address_is_an_httpx_connect_error() -> None:
    async with guarded_client() as client:
        with pytest.raises(httpx.ConnectError, match="loopback"):
            await client.get("http://127.0.0.1:9/")
