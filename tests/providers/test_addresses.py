"""Provider URLs reach the public internet only: refused when typed, and again at every connection.

The test settings allow private addresses (the simulator runs on localhost); these tests turn the
check back on, as production has it.
"""

import socket

import pytest

from providers.client import ProviderClient, addresses
from providers.errors import ProviderUnreachable
from providers.models import Provider
from providers.services import ProviderInvalid, provider_balance_check, provider_create
from tests.providers.factories import ProviderFactory
from tests.providers.hostile import HostileServer, whole

KEY = "k3y-for-address-tests"


@pytest.fixture(autouse=True)
def addresses_checked(settings):
    settings.PROVIDER_ALLOW_PRIVATE_URLS = False


@pytest.fixture
def server():
    server = HostileServer(whole(b'{"balance": "5", "currency": "USD"}'))
    yield server
    server.close()


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.8.9.10", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("fe80::1%eth0", "a link-local address"),
        ("fd00:ec2::254", "a private address"),
        ("::ffff:10.0.0.1", "a private address"),
        ("2002:7f00:1::1", "a loopback address"),
        ("64:ff9b::a9fe:a9fe", "a link-local address"),
        ("0.0.0.0", "a private address"),
        ("100.64.0.1", "not a public address"),
        ("100.100.100.200", "not a public address"),
        ("224.0.0.1", "not a public address"),
    ],
)
def test_it_names_why_an_address_is_refused(address, problem):
    assert addresses.address_problem(address) == problem


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111"])
def test_a_public_address_is_fine(address):
    assert addresses.address_problem(address) is None


def test_a_client_refuses_to_connect_to_a_loopback_address_and_sends_nothing(server):
    client = ProviderClient(url=server.url, key=KEY, name="acme", retries=3, backoff=0)

    with pytest.raises(ProviderUnreachable) as caught:
        client.balance()

    assert caught.value.message == (
        "Provider acme, action balance: refused to connect: 127.0.0.1 is a loopback address: a provider must be "
        "on the public internet (PROVIDER_ALLOW_PRIVATE_URLS=1 allows private addresses)"
    )
    assert (caught.value.permanent, caught.value.request_sent) == (True, False)
    assert server.connections == 0


def test_the_check_runs_on_the_address_a_name_resolves_to_at_connection_time(server, monkeypatch):
    # DNS rebinding: the name was public when the provider was saved; now it points inside.
    monkeypatch.setattr(addresses, "resolve", lambda host, port=None: ["127.0.0.1"])
    client = ProviderClient(url=f"http://rebinding.test:{server.port}/api/v2", key=KEY, name="acme", retries=0)

    with pytest.raises(ProviderUnreachable, match=r"rebinding.test \(127.0.0.1\) is a loopback address"):
        client.balance()

    assert server.connections == 0


def test_it_connects_to_the_address_it_checked_without_a_second_lookup(server, monkeypatch):
    checked = []
    monkeypatch.setattr(addresses, "resolve", lambda host, port=None: checked.append(host) or ["127.0.0.1"])
    monkeypatch.setattr(addresses, "address_problem", lambda address: None)

    real_getaddrinfo = socket.getaddrinfo

    def no_second_lookup(host, *args, **kwargs):
        assert host != "provider.test", "the name was resolved a second time"
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", no_second_lookup)
    client = ProviderClient(url=f"http://provider.test:{server.port}/api/v2", key=KEY, name="acme", retries=0)

    assert client.balance().currency == "USD"
    assert checked == ["provider.test"]


def test_a_name_that_resolves_to_a_public_and_a_private_address_is_refused(server, monkeypatch):
    monkeypatch.setattr(addresses, "resolve", lambda host, port=None: ["93.184.216.34", "10.0.0.7"])
    client = ProviderClient(url=f"http://mixed.test:{server.port}/api/v2", key=KEY, name="acme", retries=0)

    with pytest.raises(ProviderUnreachable, match=r"mixed.test \(10.0.0.7\) is a private address"):
        client.balance()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8001/api/v2",
        "http://127.0.0.1/api/v2",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/api/v2",
        "https://10.0.0.5/api/v2",
    ],
)
def test_a_provider_with_a_private_url_is_refused_when_it_is_added(url):
    with pytest.raises(ProviderInvalid, match=r"^Refused: .* is a (loopback|private|link-local) address"):
        provider_create(name="inside", api_url=url, api_key=KEY)

    assert not Provider.objects.exists()


@pytest.mark.django_db
def test_a_saved_provider_whose_name_now_points_inside_fails_its_balance_check_and_records_it(server):
    provider = ProviderFactory(name="acme", api_url=server.url)

    with pytest.raises(ProviderUnreachable, match="refused to connect"):
        provider_balance_check(provider=provider)

    provider.refresh_from_db()
    assert provider.consecutive_failures == 1
    assert "is a loopback address" in provider.last_error
    assert server.connections == 0


def test_with_private_addresses_allowed_the_local_simulator_is_reachable(server, settings):
    settings.PROVIDER_ALLOW_PRIVATE_URLS = True

    assert ProviderClient(url=server.url, key=KEY).balance().currency == "USD"
