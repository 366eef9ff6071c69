import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from orders.models import Order, Refill
from tests.orders.factories import OrderFactory, ServiceFactory
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db
S = Order.Status


def listed_ids(response) -> list[int]:
    return [order.pk for order in response.context["order_rows"]]


def test_a_customer_sees_only_their_own_orders(customer_client, customer):
    mine = OrderFactory(user=customer, link="https://mine.test/1")
    theirs = OrderFactory(link="https://theirs.test/1")
    response = customer_client.get(reverse("orders"))
    assert listed_ids(response) == [mine.pk]
    assert "theirs.test" not in response.content.decode()
    assert listed_ids(customer_client.get(reverse("orders"), {"q": str(theirs.pk)})) == []
    assert "theirs.test" not in customer_client.get(reverse("dashboard")).content.decode()


def test_orders_are_paginated_25_to_a_page_newest_first(customer_client, customer):
    orders = OrderFactory.create_batch(30, user=customer)
    first = customer_client.get(reverse("orders"))
    second = customer_client.get(reverse("orders"), {"page": 2})
    assert listed_ids(first) == [o.pk for o in reversed(orders)][:25]
    assert listed_ids(second) == [o.pk for o in reversed(orders)][25:]
    assert 'data-testid="page-next"' in first.content.decode()
    assert "Page 2 of 2" in second.content.decode()


def test_the_status_tabs_filter_and_the_customer_words_are_used(customer_client, customer):
    awaiting = OrderFactory(user=customer, status=S.AWAITING)
    upstream_pending = OrderFactory(user=customer, status=S.PENDING)
    completed = OrderFactory(user=customer, status=S.COMPLETED)
    assert set(listed_ids(customer_client.get(reverse("orders"), {"status": "pending"}))) == {
        awaiting.pk,
        upstream_pending.pk,
    }
    response = customer_client.get(reverse("orders"), {"status": "completed"})
    assert listed_ids(response) == [completed.pk]
    assert set(listed_ids(customer_client.get(reverse("orders"), {"status": "bogus"}))) == {
        awaiting.pk,
        upstream_pending.pk,
        completed.pk,
    }
    html = customer_client.get(reverse("orders")).content.decode()
    assert "Awaiting placement" not in html
    assert html.count('data-testid="order-status">Pending<') == 2


def test_search_finds_an_order_by_id_or_by_link(customer_client, customer):
    first = OrderFactory(user=customer, link="https://instagram.com/p/alpha")
    second = OrderFactory(user=customer, link="https://instagram.com/p/beta")
    assert listed_ids(customer_client.get(reverse("orders"), {"q": "ALPHA"})) == [first.pk]
    assert listed_ids(customer_client.get(reverse("orders"), {"q": str(second.pk)})) == [second.pk]
    assert listed_ids(customer_client.get(reverse("orders"), {"q": "gamma"})) == []


def test_search_and_status_are_kept_in_the_page_links(customer_client, customer):
    OrderFactory.create_batch(26, user=customer, status=S.COMPLETED, link="https://x.test/keep")
    html = customer_client.get(reverse("orders"), {"status": "completed", "q": "keep"}).content.decode()
    assert "?status=completed&amp;q=keep&amp;page=2" in html


def test_refill_and_cancel_buttons_show_only_where_allowed(customer_client, customer):
    refillable = OrderFactory(user=customer, status=S.COMPLETED)
    no_refill = OrderFactory(user=customer, status=S.COMPLETED, service=ServiceFactory(refill=False))
    running = OrderFactory(user=customer, status=S.IN_PROGRESS)
    no_cancel = OrderFactory(user=customer, status=S.IN_PROGRESS, service=ServiceFactory(cancel=False))
    html = customer_client.get(reverse("orders")).content.decode()
    assert f'id="refill-{refillable.pk}"' in html
    assert f'id="refill-{no_refill.pk}"' not in html
    assert f'id="cancel-{running.pk}"' in html
    assert f'id="cancel-{no_cancel.pk}"' not in html
    assert f'id="cancel-{refillable.pk}"' not in html and f'id="refill-{running.pk}"' not in html


def test_a_refill_is_requested_from_the_orders_page(customer_client, customer):
    order = OrderFactory(user=customer, status=S.COMPLETED)
    response = customer_client.post(
        reverse("order_refill", args=[order.pk]), {"next": "/orders/?status=completed"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/orders/?status=completed"
    refill = Refill.objects.get(order=order)
    assert f"Refill {refill.pk} requested for order {order.pk}." in response.content.decode()


def test_a_refused_refill_shows_the_reason(customer_client, customer):
    order = OrderFactory(user=customer, status=S.COMPLETED)
    customer_client.post(reverse("order_refill", args=[order.pk]))
    response = customer_client.post(reverse("order_refill", args=[order.pk]), follow=True)
    assert "A refill of this order is already in progress." in response.content.decode()
    assert Refill.objects.count() == 1


def test_an_order_awaiting_placement_is_cancelled_and_refunded_at_once(customer_client, customer):
    from orders.services.ordering import order_create

    service = ServiceFactory(rate=Decimal("2"), cancel=False)
    order = order_create(user=customer, service_id=service.pk, data={"link": "https://x.test/1", "quantity": "1000"})
    response = customer_client.post(reverse("order_cancel", args=[order.pk]), follow=True)
    order.refresh_from_db()
    customer.refresh_from_db()
    assert order.status == S.CANCELED and customer.balance == Decimal("10")
    assert f"Order {order.pk} cancelled and 2.00 refunded." in response.content.decode()


def test_a_cancel_of_a_running_order_is_requested_upstream(customer_client, customer):
    order = OrderFactory(user=customer, status=S.IN_PROGRESS)
    response = customer_client.post(reverse("order_cancel", args=[order.pk]), follow=True)
    order.refresh_from_db()
    assert order.cancel_requested_at is not None
    html = response.content.decode()
    assert "Cancellation of order" in html and 'data-testid="order-cancel-requested"' in html


def test_a_refused_cancel_shows_the_reason(customer_client, customer):
    order = OrderFactory(user=customer, status=S.COMPLETED)
    response = customer_client.post(reverse("order_cancel", args=[order.pk]), follow=True)
    assert "The order cannot be cancelled now." in response.content.decode()


def test_someone_elses_order_cannot_be_refilled_or_cancelled(customer_client):
    other = UserFactory()
    completed = OrderFactory(user=other, status=S.COMPLETED)
    running = OrderFactory(user=other, status=S.IN_PROGRESS)
    assert customer_client.post(reverse("order_refill", args=[completed.pk])).status_code == 404
    assert customer_client.post(reverse("order_cancel", args=[running.pk])).status_code == 404
    running.refresh_from_db()
    assert Refill.objects.count() == 0 and running.cancel_requested_at is None


def test_refill_and_cancel_need_post(customer_client, customer):
    order = OrderFactory(user=customer, status=S.COMPLETED)
    assert customer_client.get(reverse("order_refill", args=[order.pk])).status_code == 405
    assert customer_client.get(reverse("order_cancel", args=[order.pk])).status_code == 405


def test_a_foreign_next_url_is_not_followed(customer_client, customer):
    order = OrderFactory(user=customer, status=S.COMPLETED)
    response = customer_client.post(reverse("order_refill", args=[order.pk]), {"next": "https://evil.test/"})
    assert response.url == reverse("orders")


def test_the_refills_page_lists_only_the_customers_refills(customer_client, customer):
    mine = Refill.objects.create(order=OrderFactory(user=customer, status=S.COMPLETED), user=customer)
    other = UserFactory()
    Refill.objects.create(order=OrderFactory(user=other, status=S.COMPLETED), user=other)
    response = customer_client.get(reverse("refills"))
    assert [r.pk for r in response.context["refill_rows"]] == [mine.pk]
    assert 'data-testid="refill-status">Pending<' in response.content.decode()


def test_a_long_link_is_shortened_with_the_whole_link_on_hover_and_to_copy(customer_client, customer):
    link = "https://instagram.com/p/" + "x" * 1900 + "/end?utm=1"
    order = OrderFactory(user=customer, link=link)
    html = customer_client.get(reverse("orders")).content.decode()
    shown = re.search(r'data-testid="order-link-text">([^<]*)<', html).group(1)
    assert shown == link[:32] + "…" + link[-16:]
    assert f'title="{link}"' in html and f'data-copy="{link}"' in html
    assert f"the link of order {order.pk}" in html
    short = OrderFactory(user=customer, link="https://x.test/short")
    html = customer_client.get(reverse("orders"), {"q": str(short.pk)}).content.decode()
    assert 'data-testid="order-link-text">https://x.test/short<' in html


def test_the_charge_shown_is_net_of_refunds_with_the_refund_beside_it(customer_client, customer):
    OrderFactory(user=customer, status=S.PARTIAL, charge=Decimal("3.00000"), refunded=Decimal("1.25"))
    OrderFactory(user=customer, status=S.COMPLETED, charge=Decimal("2"), refunded=Decimal("0"))
    html = customer_client.get(reverse("orders")).content.decode()
    charges = re.findall(r'data-testid="order-charge">([^<]*)<', html)
    assert sorted(charges) == ["1.75", "2.00"]
    assert html.count('data-testid="order-refunded">1.25 refunded<') == 1


def test_no_refill_button_while_a_refill_is_open_or_within_the_cooldown(customer_client, customer):
    open_refill = OrderFactory(user=customer, status=S.COMPLETED)
    Refill.objects.create(order=open_refill, user=customer, status=Refill.Status.IN_PROGRESS)
    recent = OrderFactory(user=customer, status=S.COMPLETED)
    Refill.objects.create(order=recent, user=customer, status=Refill.Status.COMPLETED)
    old = OrderFactory(user=customer, status=S.PARTIAL)
    done = Refill.objects.create(order=old, user=customer, status=Refill.Status.COMPLETED)
    Refill.objects.filter(pk=done.pk).update(created_at=timezone.now() - timedelta(hours=25))
    html = customer_client.get(reverse("orders")).content.decode()
    assert f'id="refill-{open_refill.pk}"' not in html and f'id="refill-{recent.pk}"' not in html
    assert f'id="refill-{old.pk}"' in html
    assert "Refill in progress" in html and "Refill again after" in html
    # What the page leaves out is what the service refuses.
    for order in (open_refill, recent):
        customer_client.post(reverse("order_refill", args=[order.pk]))
        assert order.refills.count() == 1
    assert customer_client.post(reverse("order_refill", args=[old.pk])).status_code == 302
    assert Refill.objects.filter(order=old).count() == 2


def test_drip_feed_and_subscription_orders_have_their_own_pages_with_status_tabs(customer_client, customer):
    plain = OrderFactory(user=customer)
    drip = OrderFactory(user=customer, runs=5, interval=10, status=S.COMPLETED)
    subscription = OrderFactory(user=customer, service=ServiceFactory(type="Subscriptions"))
    assert set(listed_ids(customer_client.get(reverse("orders")))) == {plain.pk, drip.pk, subscription.pk}
    response = customer_client.get(reverse("orders_dripfeed"))
    assert listed_ids(response) == [drip.pk]
    html = response.content.decode()
    assert "<h1>Drip-feed</h1>" in html and 'data-testid="kind-tab-dripfeed" aria-current="page"' in html
    assert listed_ids(customer_client.get(reverse("orders_dripfeed"), {"status": "pending"})) == []
    assert listed_ids(customer_client.get(reverse("orders_dripfeed"), {"status": "completed"})) == [drip.pk]
    assert listed_ids(customer_client.get(reverse("orders_subscriptions"))) == [subscription.pk]
    assert '<span class="label">Subscriptions</span>' in customer_client.get("/").content.decode()
