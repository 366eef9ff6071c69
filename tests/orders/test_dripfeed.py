"""Drip-feed everywhere: forwarded where the provider advertises it (or an operator says it does), run by the panel
elsewhere, with runs placed at their intervals on a clock the test drives."""

from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from billing.selectors import ledger_mismatches
from core.money import money_round, money_str, partial_refund
from orders.models import Order
from orders.order_fields import OrderInvalid
from orders.services.catalog import service_operator_edit, services_sync
from orders.services.cycle import orders_cycle
from orders.services.dripfeed import customer_order_cancel, dripfeed_orders_update, dripfeed_runs_place
from orders.services.ordering import order_create
from panel.services import api_key_rotate
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db
S = Order.Status
DATA = {"link": "https://insta.test/p/1", "quantity": "100", "runs": "3", "interval": "30"}


def adds(upstream) -> list[dict]:
    return [form for action, form in upstream.sim.requests if action == "add"]


def test_runs_and_interval_are_forwarded_where_the_provider_advertises_drip_feed(upstream_factory):
    upstream = upstream_factory("002")  # seed 002 lists "dripfeed": 1
    upstream.connect()
    service = upstream.service(1)
    assert service.dripfeed
    user = UserFactory(balance="100")
    order = order_create(user=user, service_id=service.pk, data=DATA)
    assert (order.dripfeed_by_panel, order.charge) == (False, money_round(service.rate * 300 / 1000))
    orders_cycle(concurrency=1)
    assert adds(upstream) == [
        {"action": "add", "service": "1", "link": DATA["link"], "quantity": "100", "runs": "3", "interval": "30"}
    ]


def test_an_operator_marks_a_service_drip_feed_capable_and_sync_keeps_it(upstream):
    service = upstream.service(1)  # the standard seeds list no dripfeed flag
    assert not service.dripfeed
    service.dripfeed = True
    service_operator_edit(service=service, changed={"dripfeed"})
    services_sync(provider_id=upstream.provider.pk)
    service.refresh_from_db()
    assert (service.dripfeed, service.dripfeed_edited) == (True, True)
    order = order_create(user=UserFactory(balance="100"), service_id=service.pk, data=DATA)
    orders_cycle(concurrency=1)
    assert not order.dripfeed_by_panel and adds(upstream)[0]["runs"] == "3"


def place_due(upstream, now) -> int:
    created = dripfeed_runs_place(now=now)
    orders_cycle(concurrency=1)
    return created


def test_the_panel_runs_a_drip_feed_the_provider_does_not_have(upstream):
    service = upstream.service(1)
    user = UserFactory(balance="100")
    key = api_key_rotate(user=user)
    upstream.sim.force_next_fate("completed", count=3)
    order = order_create(user=user, service_id=service.pk, data=DATA)
    charge = money_round(service.rate * 300 / 1000)
    assert (order.dripfeed_by_panel, order.status, order.charge, order.runs_placed) == (True, S.PENDING, charge, 1)
    user.refresh_from_db()
    assert user.balance == Decimal("100") - charge
    start = order.next_run_at - timedelta(minutes=30)

    orders_cycle(concurrency=1)
    assert adds(upstream) == [{"action": "add", "service": "1", "link": DATA["link"], "quantity": "100"}]
    assert place_due(upstream, start + timedelta(minutes=29)) == 0
    assert place_due(upstream, start + timedelta(minutes=30)) == 1
    assert place_due(upstream, start + timedelta(minutes=45)) == 0
    assert place_due(upstream, start + timedelta(minutes=60)) == 1
    assert place_due(upstream, start + timedelta(days=9)) == 0  # three runs, no more
    assert len(adds(upstream)) == 3 and all("runs" not in form for form in adds(upstream))

    order.refresh_from_db()
    assert (order.status, order.remains, order.runs_placed, order.next_run_at) == (S.PENDING, 300, 3, None)
    upstream.finish_everything()
    orders_cycle(concurrency=1)
    order.refresh_from_db()
    first = order.run_orders.get(run_number=1)
    assert (order.status, order.remains, order.refunded, order.start_count) == (S.COMPLETED, 0, 0, first.start_count)
    client_answer = _api(key, action="status", order=order.pk)
    assert client_answer["status"] == "Completed" and client_answer["charge"] == money_str(charge)
    # The runs are the panel's own: the customer sees one order.
    assert _api(key, action="status", order=first.pk) == {"error": "Incorrect order ID"}
    assert ledger_mismatches() == []


def _api(key, **fields):
    from django.test import Client

    response = Client().post(
        "/api/v2", urlencode({"key": key, **fields}), content_type="application/x-www-form-urlencoded"
    )
    return response.json()


def test_partial_runs_refund_what_was_not_delivered(upstream):
    service = upstream.service(1)
    user = UserFactory(balance="100")
    upstream.sim.force_next_fate("completed")
    upstream.sim.force_next_fate("partial", remains=40)
    upstream.sim.force_next_fate("completed")
    order = order_create(user=user, service_id=service.pk, data=DATA)
    start = order.next_run_at - timedelta(minutes=30)
    orders_cycle(concurrency=1)
    place_due(upstream, start + timedelta(minutes=30))
    place_due(upstream, start + timedelta(minutes=60))
    upstream.finish_everything()
    orders_cycle(concurrency=1)
    order.refresh_from_db()
    assert (order.status, order.remains) == (S.PARTIAL, 40)
    assert order.refunded == partial_refund(charge=order.charge, remains=40, quantity=300)
    user.refresh_from_db()
    assert user.balance == Decimal("100") - order.charge + order.refunded
    assert ledger_mismatches() == []


def test_a_cancel_mid_way_stops_the_runs_not_placed_and_refunds_them_at_once(upstream):
    service = upstream.service(1)
    user = UserFactory(balance="100")
    upstream.sim.force_next_fate("completed", count=3)
    order = order_create(user=user, service_id=service.pk, data=DATA)
    start = order.next_run_at - timedelta(minutes=30)
    orders_cycle(concurrency=1)
    upstream.finish_everything()  # run 1 delivered
    orders_cycle(concurrency=1)
    place_due(upstream, start + timedelta(minutes=30))  # run 2 sent upstream

    cancelled = customer_order_cancel(user=user, order_id=order.pk)
    one_run = partial_refund(charge=order.charge, remains=100, quantity=300)
    assert (cancelled.runs_stopped, cancelled.refunded, cancelled.status) == (True, one_run, S.IN_PROGRESS)
    assert place_due(upstream, start + timedelta(days=1)) == 0
    assert [action for action, _ in upstream.sim.requests].count("cancel") == 1  # run 2, at the provider

    upstream.finish_everything()  # the provider cancels run 2, giving all of it back
    orders_cycle(concurrency=1)
    order.refresh_from_db()
    assert (order.status, order.remains) == (S.PARTIAL, 200)
    assert order.refunded == partial_refund(charge=order.charge, remains=200, quantity=300)
    assert order.run_orders.count() == 2
    user.refresh_from_db()
    assert user.balance == Decimal("100") - order.charge + order.refunded
    with pytest.raises(OrderInvalid, match=r"The order cannot be cancelled now\."):
        customer_order_cancel(user=user, order_id=order.pk)
    assert ledger_mismatches() == []


def test_a_cancel_before_any_run_delivers_refunds_everything(upstream):
    service = upstream.service(1)
    user = UserFactory(balance="100")
    order = order_create(user=user, service_id=service.pk, data=DATA)
    cancelled = customer_order_cancel(user=user, order_id=order.pk)  # run 1 still awaiting placement here
    dripfeed_orders_update()
    cancelled.refresh_from_db()
    assert (cancelled.status, cancelled.refunded) == (S.CANCELED, cancelled.charge)
    orders_cycle(concurrency=1)
    assert adds(upstream) == []
    user.refresh_from_db()
    assert user.balance == Decimal("100")


def test_the_website_orders_and_cancels_a_drip_feed_run_by_the_panel(client, upstream):
    service = upstream.service(1)
    user = UserFactory(balance="100")
    client.force_login(user)
    response = client.post("/orders/new/", {"service": service.pk, **DATA, "dripfeed": "on"})
    assert response.status_code == 302
    order = Order.objects.get(parent__isnull=True)
    assert (order.dripfeed_by_panel, order.runs, order.interval) == (True, 3, 30)
    html = client.get("/orders/").content.decode()
    assert html.count('data-testid="order-row"') == 1 and f'id="cancel-{order.pk}"' in html
    orders_cycle(concurrency=1)  # run 1 goes upstream
    response = client.post(f"/orders/{order.pk}/cancel/", follow=True)
    assert "the runs not yet placed are stopped" in response.content.decode()
    order.refresh_from_db()
    assert order.runs_stopped and order.refunded == partial_refund(charge=order.charge, remains=200, quantity=300)
