from decimal import Decimal

import pytest
import responses

from billing.models import LedgerEntry
from orders.models import Order
from orders.services.upstream import orders_poll
from tests.orders.factories import OrderFactory
from tests.providers.factories import ProviderFactory

pytestmark = pytest.mark.django_db
URL = "https://poll.test/api/v2"


def _poll(provider, answer):
    with responses.RequestsMock() as mock:
        mock.post(URL, json=answer)
        return orders_poll(provider_id=provider.pk)


@pytest.fixture
def provider():
    return ProviderFactory(api_url=URL)


def _active(provider, upstream_id, **fields):
    return OrderFactory(
        provider=provider,
        service__provider_service__provider=provider,
        upstream_order_id=upstream_id,
        status=Order.Status.PENDING,
        **fields,
    )


@pytest.mark.parametrize(
    ("wild", "expected"),
    [
        ("Cancelled", Order.Status.CANCELED),
        ("IN_PROGRESS", Order.Status.IN_PROGRESS),
        ("PARTIALLY COMPLETED", Order.Status.PARTIAL),
        ("Refunded", Order.Status.CANCELED),
        ("Active", Order.Status.IN_PROGRESS),
        ("Rejected", Order.Status.CANCELED),
        ("completed", Order.Status.COMPLETED),
    ],
)
def test_wild_status_names_are_normalised(provider, wild, expected):
    order = _active(provider, "1")
    _poll(provider, {"1": {"charge": "1", "start_count": "5", "status": wild, "remains": "0"}})
    order.refresh_from_db()
    assert (order.status, order.upstream_status) == (expected, wild)


def test_an_unknown_status_keeps_the_order_active_and_records_it(provider, caplog):
    order = _active(provider, "1")
    _poll(provider, {"1": {"charge": "1", "start_count": "5", "status": "Fail", "remains": "10"}})
    order.refresh_from_db()
    assert (order.status, order.upstream_status, order.remains) == (Order.Status.PENDING, "Fail", 10)
    assert LedgerEntry.objects.filter(kind="refund").count() == 0
    assert "unknown upstream status 'Fail'" in caplog.text


def test_a_per_id_error_is_kept_on_that_order_and_polled_again(provider):
    failing = _active(provider, "1")
    fine = _active(provider, "2")
    report = _poll(
        provider,
        {"1": "Incorrect order ID", "2": {"charge": "1", "start_count": "5", "status": "Completed", "remains": "0"}},
    )
    failing.refresh_from_db()
    fine.refresh_from_db()
    assert (failing.status, failing.error) == (Order.Status.PENDING, "Incorrect order ID")
    assert fine.status == Order.Status.COMPLETED
    assert report.changed == 1
    _poll(provider, {"1": {"charge": "1", "start_count": "5", "status": "In progress", "remains": "3"}})
    failing.refresh_from_db()
    assert (failing.status, failing.error) == (Order.Status.IN_PROGRESS, "")


def test_a_failed_poll_call_changes_nothing_and_is_reported(provider):
    order = _active(provider, "1", charge=Decimal("2"))
    with responses.RequestsMock() as mock:
        mock.post(URL, body="<html>oops</html>", status=500)
        report = orders_poll(provider_id=provider.pk)
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and report.errors


def test_a_chunk_of_100_is_applied_in_a_constant_number_of_queries(provider, django_assert_max_num_queries):
    orders = [_active(provider, str(i), charge=Decimal("1")) for i in range(100)]
    answer = {
        str(i): {"charge": "1", "start_count": "5", "status": "Partial" if i % 2 else "Completed", "remains": "50"}
        for i in range(100)
    }
    with django_assert_max_num_queries(14):
        _poll(provider, answer)
    assert Order.objects.filter(status=Order.Status.PARTIAL).count() == 50
    assert LedgerEntry.objects.filter(kind="refund").count() == 50
    assert len(orders) == 100


def test_the_providers_charge_is_kept_in_our_currency(provider):
    provider.exchange_rate = Decimal("0.5")
    provider.save()
    order = _active(provider, "1")
    _poll(provider, {"1": {"charge": "3", "start_count": "5", "status": "In progress", "remains": "3"}})
    order.refresh_from_db()
    assert order.upstream_charge == Decimal("1.5")
