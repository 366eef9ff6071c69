import json
from decimal import Decimal
from itertools import pairwise
from urllib.parse import parse_qs

import pytest
import responses

from billing.models import LedgerEntry
from orders.models import Order
from orders.services.cycle import provider_cycle
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


class _Clock:
    """A monotonic clock that moves only when the fake provider answers."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _many_active(provider, count: int) -> list[Order]:
    first = OrderFactory(
        provider=provider,
        service__provider_service__provider=provider,
        upstream_order_id="0",
        status=Order.Status.IN_PROGRESS,
    )
    rows = [
        OrderFactory.build(
            user=first.user,
            service=first.service,
            provider=provider,
            upstream_order_id=str(i),
            status=Order.Status.IN_PROGRESS,
        )
        for i in range(1, count)
    ]
    return [first, *Order.objects.bulk_create(rows)]


def test_each_run_polls_the_least_recently_polled_first_so_no_order_waits_more_than_the_bound(provider, monkeypatch):
    """1,000 orders, a budget of three calls a run: every order is asked about every ceil(10 / 3) = 4 runs."""
    orders = _many_active(provider, 1000)
    clock = _Clock()
    monkeypatch.setattr("orders.services.cycle.monotonic", clock)
    asked: list[list[str]] = []

    def status(request):
        ids = parse_qs(request.body)["orders"][0].split(",")
        asked.append(ids)
        clock.now += 1.0  # each call takes a second
        return 200, {}, json.dumps({i: {"status": "In progress", "remains": "5"} for i in ids})

    runs: dict[str, list[int]] = {order.upstream_order_id: [] for order in orders}
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, URL, callback=status)
        for run in range(1, 9):
            calls_before = len(asked)
            report = provider_cycle(provider_id=provider.pk, budget_seconds=2.5)
            assert (report.status_calls, report.polled, report.finished) == (3, 300, False)
            for ids in asked[calls_before:]:
                assert len(ids) == 100  # the floor: one call per 100 orders
                for upstream_id in ids:
                    runs[upstream_id].append(run)
    assert all(polled[0] <= 4 for polled in runs.values())
    gaps = [later - earlier for polled in runs.values() for earlier, later in pairwise(polled)]
    assert max(gaps) <= 4
    assert Order.objects.filter(last_polled_at__isnull=True).count() == 0


def test_without_a_budget_one_run_asks_about_every_order_once(provider):
    _many_active(provider, 250)
    with responses.RequestsMock() as mock:
        mock.post(URL, json={str(i): {"status": "In progress", "remains": "5"} for i in range(250)})
        report = provider_cycle(provider_id=provider.pk)
        assert len(mock.calls) == 3
    assert (report.status_calls, report.polled, report.finished, report.failure) == (3, 250, True, "")
