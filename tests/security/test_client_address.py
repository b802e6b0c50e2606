"""Limits counted per client address believe ``X-Forwarded-For`` only from ``TRUSTED_PROXIES``: anyone else
who sends it is still counted by the address they connect from."""

import ipaddress

import httpx
import pytest
from django.test import RequestFactory

from kernel.client_address import client_address
from tests.concurrency import together

pytestmark = pytest.mark.django_db(transaction=True)

# An hour-long window: a burst in a test never straddles two of them, so the counts are exact.
REGISTRATIONS_PER_HOUR = 5


def _register(server, number: int, forwarded_for: str, *, source: str = "127.0.0.1") -> httpx.Response:
    body = {
        "username": f"spoof{number}",
        "email": f"spoof{number}@example.com",
        "password": "an-unusual-passphrase-91",
        "role": "client",
    }
    with httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=60) as http:
        return http.post(f"{server.url}/api/auth/register", json=body, headers={"X-Forwarded-For": forwarded_for})


# uvicorn itself believes X-Forwarded-For from 127.0.0.1 (its FORWARDED_ALLOW_IPS), where `make serve`'s proxy
# connects from; a client elsewhere is played from 127.0.0.2. daphne believes it from no one.
@pytest.mark.slow
@pytest.mark.parametrize(("kind", "source"), [("daphne", "127.0.0.1"), ("uvicorn", "127.0.0.2")])
def test_forty_registrations_with_spoofed_forwarded_for_count_as_one_address(live_servers, kind, source):
    server = live_servers.start(kind=kind, env={"THROTTLE_AUTH": f"{REGISTRATIONS_PER_HOUR}/h"})

    responses = together(
        [lambda number=number: _register(server, number, f"198.51.100.{number}", source=source) for number in range(40)]
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * REGISTRATIONS_PER_HOUR + [429] * (40 - REGISTRATIONS_PER_HOUR)


@pytest.mark.slow
def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_count(live_servers):
    server = live_servers.start(kind="daphne", env={"THROTTLE_AUTH": "2/h", "TRUSTED_PROXIES": "127.0.0.1"})

    first, second = (_register(server, number, "203.0.113.7") for number in range(2))
    # The client wrote the left part itself; the proxy appended the address it saw.
    third = _register(server, 2, "192.0.2.1, 203.0.113.7")
    other_client = _register(server, 3, "203.0.113.8")

    assert [first.status_code, second.status_code, third.status_code] == [201, 201, 429]
    assert other_client.status_code == 201


def _request(peer: str, forwarded_for: str | None = None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=peer, **headers)


@pytest.fixture
def trusted_proxies(settings):
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("192.0.2.10")]


def test_an_untrusted_peer_is_its_own_address_whatever_it_forwards(trusted_proxies):
    assert client_address(_request("198.51.100.4", "203.0.113.9")) == "198.51.100.4"


def test_behind_a_chain_of_trusted_proxies_the_right_most_untrusted_hop_is_the_client(trusted_proxies):
    request = _request("10.1.2.3", "6.6.6.6, 203.0.113.9, 192.0.2.10, 10.9.9.9")
    assert client_address(request) == "203.0.113.9"


def test_a_trusted_proxy_without_forwarded_for_is_the_address(trusted_proxies):
    assert client_address(_request("10.1.2.3")) == "10.1.2.3"


def test_without_trusted_proxies_forwarded_for_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert client_address(_request("127.0.0.1", "203.0.113.9")) == "127.0.0.1"
