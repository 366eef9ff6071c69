"""A provider's failures are recorded on it, open its circuit, and never crash a sync or an admin page."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import responses
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from orders.models import Service
from orders.services.catalog import services_sync
from providers.errors import ProviderBadResponse, ProviderError, ProviderRefused, ProviderUnreachable
from providers.models import Provider
from providers.services import (
    provider_balance_check,
    provider_call_failed,
    provider_circuit_backoff,
    provider_circuit_open,
    provider_record_failure,
    provider_record_result,
    provider_record_success,
)
from tests.providers.factories import ProviderFactory
from tests.providers.hostile import HostileServer, whole

pytestmark = pytest.mark.django_db

BOMB = b"[" * 200_000
SERVICES = [{"service": 1, "name": "Followers", "rate": "0.9", "min": 10, "max": 1000, "category": "Instagram"}]


@pytest.fixture
def serve():
    servers = []

    def start(body: bytes) -> HostileServer:
        servers.append(HostileServer(whole(body)))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def circuit(settings):
    settings.PROVIDER_CIRCUIT_FAILURES = 3
    settings.PROVIDER_CIRCUIT_BACKOFF = 60
    settings.PROVIDER_CIRCUIT_MAX_BACKOFF = 300


def unreachable() -> ProviderUnreachable:
    return ProviderUnreachable("could not connect", provider="acme", action="status")


# Recording


def test_a_failure_is_recorded_with_its_message_and_counted(circuit):
    provider = ProviderFactory(name="acme")
    now = timezone.now()

    provider_record_result(provider=provider, error=unreachable(), now=now)
    provider_record_result(provider=provider, error=unreachable(), now=now + timedelta(seconds=5))

    provider.refresh_from_db()
    assert provider.consecutive_failures == 2
    assert provider.last_error == "Provider acme, action status: could not connect"
    assert (provider.failing_since, provider.last_failure_at) == (now, now + timedelta(seconds=5))
    assert provider.next_probe_at is None


def test_a_success_forgets_the_failures_but_keeps_the_last_error(circuit):
    provider = ProviderFactory()
    provider_record_failure(provider=provider, error="HTTP 502")
    now = timezone.now()

    provider_record_result(provider=provider, error=None, now=now)

    provider.refresh_from_db()
    assert (provider.consecutive_failures, provider.failing_since, provider.next_probe_at) == (0, None, None)
    assert (provider.last_success_at, provider.last_error) == (now, "HTTP 502")


def test_a_healthy_provider_s_successes_write_its_row_at_most_once_a_minute():
    provider = ProviderFactory()
    now = timezone.now()
    provider_record_success(provider=provider, now=now)

    provider_record_success(provider=provider, now=now + timedelta(seconds=30))

    provider.refresh_from_db()
    assert provider.last_success_at == now
    provider_record_success(provider=provider, now=now + timedelta(seconds=61))
    provider.refresh_from_db()
    assert provider.last_success_at == now + timedelta(seconds=61)


@pytest.mark.parametrize(
    ("error", "failed"),
    [
        (None, False),
        (ProviderRefused("Not enough funds", provider="acme", action="add"), False),
        (ProviderRefused("Incorrect order ID", provider="acme", action="refill"), False),
        (ProviderRefused("Invalid API key", provider="acme", action="balance"), True),
        (ProviderRefused("Your account has been suspended.", provider="acme", action="status"), True),
        (ProviderBadResponse("HTTP 502", provider="acme", action="add"), True),
        (ProviderUnreachable("no answer", provider="acme", action="cancel"), True),
    ],
)
def test_a_refusal_of_an_order_is_the_provider_working_and_anything_else_is_a_failure(error, failed):
    assert provider_call_failed(error) is failed


# The circuit breaker


def test_the_circuit_opens_at_the_threshold_and_its_wait_doubles_to_the_ceiling(circuit):
    provider = ProviderFactory()
    now = timezone.now()
    waits = []
    for failure in range(1, 8):
        provider_record_failure(provider=provider, error="HTTP 502", now=now)
        provider.refresh_from_db()
        waits.append(None if provider.next_probe_at is None else (provider.next_probe_at - now).total_seconds())
        assert provider_circuit_open(provider, now=now) is (failure >= 3)

    assert waits == [None, None, 60, 120, 240, 300, 300]
    assert [provider_circuit_backoff(failures=n) for n in (3, 4, 5, 6, 1000)] == [60, 120, 240, 300, 300]


def test_once_the_wait_is_over_exactly_one_caller_probes(circuit):
    now = timezone.now()
    ProviderFactory(name="acme")
    for _ in range(3):
        provider_record_failure(provider=Provider.objects.get(), error="HTTP 502", now=now)
    first, second = Provider.objects.get(), Provider.objects.get()
    later = now + timedelta(seconds=61)

    assert provider_circuit_open(first, now=later) is False  # the probe
    assert provider_circuit_open(second, now=later) is True  # read before the probe claimed it
    assert provider_circuit_open(Provider.objects.get(), now=later) is True
    assert Provider.objects.get().next_probe_at == later + timedelta(seconds=60)


def test_a_failed_probe_doubles_the_wait_and_a_successful_one_closes_the_circuit(circuit):
    now = timezone.now()
    provider = ProviderFactory()
    for _ in range(3):
        provider_record_failure(provider=provider, error="HTTP 502", now=now)
    probe_time = now + timedelta(seconds=61)
    assert provider_circuit_open(provider, now=probe_time) is False

    provider_record_failure(provider=provider, error="HTTP 502", now=probe_time)
    assert provider.next_probe_at == probe_time + timedelta(seconds=120)
    assert provider_circuit_open(provider, now=probe_time + timedelta(seconds=119)) is True

    provider_record_success(provider=provider, now=probe_time + timedelta(seconds=121))
    provider.refresh_from_db()
    assert provider_circuit_open(provider) is False
    assert provider.failing_since is None


# Nothing crashes


def test_the_balance_check_of_a_provider_answering_a_bomb_raises_a_provider_error_and_records_it(serve):
    provider = ProviderFactory(name="acme", api_url=serve(BOMB).url)

    with pytest.raises(ProviderBadResponse, match="Provider acme, action balance: an answer nested too deeply"):
        provider_balance_check(provider=provider)

    provider.refresh_from_db()
    assert provider.consecutive_failures == 1
    assert "nested too deeply" in provider.last_error


def test_the_balance_check_records_a_success(serve):
    provider = ProviderFactory(api_url=serve(b'{"balance": "12.5", "currency": "USD"}').url)

    provider_balance_check(provider=provider)

    provider.refresh_from_db()
    assert provider.balance == Decimal("12.5") and provider.last_success_at is not None


def test_the_admin_test_connection_reports_a_bomb_as_a_message_not_a_500(serve, admin_client):
    hostile = ProviderFactory(name="hostile", api_url=serve(BOMB).url)
    healthy = ProviderFactory(name="healthy", api_url=serve(b'{"balance": "3", "currency": "USD"}').url)

    response = admin_client.post(
        reverse("admin:providers_provider_changelist"),
        {"action": "test_connection", "_selected_action": [hostile.pk, healthy.pk]},
        follow=True,
    )

    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    assert any(text.startswith("hostile: Provider hostile, action balance: an answer nested too") for text in shown)
    assert "healthy: OK, balance 3.00000 USD" in shown


def test_sync_services_records_a_provider_s_bomb_and_still_syncs_the_others(serve):
    hostile = ProviderFactory(name="hostile", api_url=serve(BOMB).url)
    healthy = ProviderFactory(name="healthy", api_url=serve(json.dumps(SERVICES).encode()).url)

    with pytest.raises(CommandError, match=r"1 provider\(s\) failed to sync"):
        call_command("sync_services", "--no-progress")

    hostile.refresh_from_db()
    assert hostile.last_sync_ok is False
    assert "an answer nested too deeply to read" in hostile.last_sync_message
    assert Service.objects.filter(provider=healthy).count() == 1


def test_a_service_sync_records_the_providers_health_both_ways(db):
    provider = ProviderFactory()
    with responses.RequestsMock() as mocked:
        mocked.post(provider.api_url, body="<html>down</html>", status=502)
        with pytest.raises(ProviderError):
            services_sync(provider_id=provider.pk)
    provider.refresh_from_db()
    assert (provider.consecutive_failures, provider.last_sync_ok) == (1, False)
    with responses.RequestsMock() as mocked:
        mocked.post(provider.api_url, json=[])
        services_sync(provider_id=provider.pk)
    provider.refresh_from_db()
    assert (provider.consecutive_failures, provider.last_sync_ok, provider.failing_since) == (0, True, None)
