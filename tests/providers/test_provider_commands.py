import socket
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from orders.models import Service
from providers.models import Provider
from providers.simulator import SimulatedProvider, SimulatorServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def simulators():
    servers = []

    def serve(dialect: str = "standard") -> SimulatorServer:
        server = SimulatorServer(SimulatedProvider(dialect=dialect, key="k3y"))
        server.start()
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.stop()


def _call(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.parametrize("dialect", ["standard", "002", "003"])
def test_add_provider_detects_the_dialect_prints_the_balance_and_sync_fills_the_catalog(simulators, dialect):
    server = simulators(dialect)
    output = _call("add_provider", f"sim-{dialect}", server.url, "k3y", "--markup", "25", "--fixed", "0.01")
    provider = Provider.objects.get()
    assert f"dialect {dialect}" in output and "balance 1000" in output
    assert (provider.dialect, provider.currency, provider.markup_percent) == (dialect, "USD", 25)
    assert provider.api_key == "k3y" and "k3y" not in provider.api_key_encrypted
    output = _call("sync_services", "--provider", f"sim-{dialect}", "--no-progress")
    products = 6 if dialect == "003" else 0
    assert f"{20 + products} services: {20 + products} new" in output
    assert Service.objects.filter(provider=provider, kind="service", is_enabled=True).count() == 20
    assert Service.objects.filter(provider=provider, kind="product", is_enabled=True).count() == products


def test_add_provider_with_hold_new_keeps_services_disabled(simulators):
    server = simulators()
    _call("add_provider", "held", server.url, "k3y", "--hold-new")
    _call("sync_services", "--no-progress")
    assert Service.objects.filter(is_enabled=False, disabled_by="held").count() == 20


def test_a_rejected_key_saves_nothing(simulators):
    server = simulators()
    with pytest.raises(CommandError, match="Invalid API key"):
        _call("add_provider", "bad", server.url, "wrong-key", "--dialect", "standard")
    assert not Provider.objects.exists()


def test_an_unreachable_url_saves_nothing(settings):
    settings.PROVIDER_SAFE_RETRIES = 0
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with pytest.raises(CommandError, match=r"could not be reached|refused"):
        _call("add_provider", "down", f"http://127.0.0.1:{port}/api/v2", "k3y")
    assert not Provider.objects.exists()


@pytest.mark.parametrize("url", ["ftp://example.com/api/v2", "javascript:alert(1)", "not a url"])
def test_only_http_and_https_urls_are_accepted(url):
    with pytest.raises(CommandError, match="is not an http or https URL"):
        _call("add_provider", "odd", url, "k3y")
    assert not Provider.objects.exists()


def test_sync_of_an_unknown_provider_is_a_clear_error():
    with pytest.raises(CommandError, match="No provider named 'nope'"):
        _call("sync_services", "--provider", "nope")
