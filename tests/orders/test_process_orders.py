from datetime import timedelta
from io import StringIO

import pytest
import responses
from django.core.management import call_command
from django.utils import timezone

from orders.models import Order
from orders.services.cycle import provider_cycle
from orders.services.ordering import order_create
from providers.models import Provider
from tests.orders.factories import OrderFactory
from tests.panel.factories import UserFactory
from tests.providers.factories import ProviderFactory

pytestmark = pytest.mark.django_db


def test_process_orders_places_polls_and_reports_what_it_did(upstream):
    user = UserFactory(balance="100")
    service = upstream.service(1)
    order = order_create(user=user, service_id=service.pk, data={"link": "https://x.test/1", "quantity": 100})
    out = StringIO()
    call_command("process_orders", "--concurrency", "1", stdout=out)
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert "placement: 1 pending" in out.getvalue()
    upstream.finish_everything()
    out = StringIO()
    call_command("process_orders", stdout=out)
    assert "polled 1 orders in 1 calls, 1 changed status" in out.getvalue()


HEALTHY_URL = "https://healthy.test/api/v2"
BROKEN_URL = "https://broken.test/api/v2"


def _recursion(request):
    raise RecursionError("maximum recursion depth exceeded while decoding a JSON array")


BROKEN_ANSWERS = {
    "500": {"status": 500, "body": "<html>Internal Server Error</html>"},
    "garbage": {"status": 200, "body": "\x00<<not json at all>>"},
    "unexpected exception": {"callback": _recursion},
}


@pytest.mark.parametrize("fault", list(BROKEN_ANSWERS))
def test_a_broken_provider_beside_a_healthy_one_stops_nothing_and_is_reported(fault, settings):
    settings.PROVIDER_RETRY_BACKOFF = 0
    broken = ProviderFactory(name="broken", api_url=BROKEN_URL)
    healthy = ProviderFactory(name="healthy", api_url=HEALTHY_URL)
    # The broken provider comes first: its fault must not keep the healthy one from its turn.
    assert broken.pk < healthy.pk
    broken_orders = [_active(broken, str(i)) for i in range(3)]
    healthy_orders = [_active(healthy, str(i)) for i in range(3)]
    done = {str(i): {"charge": "1", "start_count": "5", "status": "Completed", "remains": "0"} for i in range(3)}
    out = StringIO()
    with responses.RequestsMock() as mock:
        mock.post(HEALTHY_URL, json=done)
        answer = BROKEN_ANSWERS[fault]
        if "callback" in answer:
            mock.add_callback(responses.POST, BROKEN_URL, callback=answer["callback"])
        else:
            mock.post(BROKEN_URL, body=answer["body"], status=answer["status"])
        call_command("process_orders", stdout=out)
    assert [Order.objects.get(pk=o.pk).status for o in healthy_orders] == [Order.Status.COMPLETED] * 3
    assert [Order.objects.get(pk=o.pk).status for o in broken_orders] == [Order.Status.PENDING] * 3
    assert ", 3 changed status" in out.getvalue()
    assert "provider broken failing: " in out.getvalue()
    assert "provider healthy failing" not in out.getvalue()
    broken.refresh_from_db()
    healthy.refresh_from_db()
    assert (broken.consecutive_failures, healthy.consecutive_failures) == (1, 0)
    assert broken.last_error and healthy.last_success_at is not None


def test_a_provider_whose_circuit_is_open_is_left_alone_until_its_probe(settings):
    settings.PROVIDER_RETRY_BACKOFF = 0
    broken = ProviderFactory(name="broken", api_url=BROKEN_URL)
    order = _active(broken, "1")
    with responses.RequestsMock() as mock:
        mock.post(BROKEN_URL, body="<html>down</html>", status=500)
        for _ in range(settings.PROVIDER_CIRCUIT_FAILURES):
            assert provider_cycle(provider_id=broken.pk).failure
        calls = len(mock.calls)
        out = StringIO()
        call_command("process_orders", stdout=out)
        assert len(mock.calls) == calls  # the circuit is open: not one call
    assert "provider broken failing: left alone until " in out.getvalue()
    assert f"after {settings.PROVIDER_CIRCUIT_FAILURES} failures in a row" in out.getvalue()
    Provider.objects.filter(pk=broken.pk).update(next_probe_at=timezone.now() - timedelta(seconds=1))
    done = {"1": {"charge": "1", "start_count": "5", "status": "Completed", "remains": "0"}}
    with responses.RequestsMock() as mock:
        mock.post(BROKEN_URL, json=done)
        report = provider_cycle(provider_id=broken.pk)  # the probe
    broken.refresh_from_db()
    order.refresh_from_db()
    assert (report.skipped, report.failure, broken.consecutive_failures, broken.next_probe_at) == (False, "", 0, None)
    assert order.status == Order.Status.COMPLETED


def _active(provider, upstream_id):
    return OrderFactory(
        provider=provider,
        service__provider_service__provider=provider,
        upstream_order_id=upstream_id,
        status=Order.Status.PENDING,
        charge="1",
    )
