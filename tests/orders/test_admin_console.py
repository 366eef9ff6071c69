"""The operator's console for orders: the list, its status tabs, confirmed bulk actions that account for every
order, and an order's outcome set by hand through the transition service."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from billing.models import LedgerEntry
from orders.models import Order, OrderEvent
from orders.services.ordering import order_create
from tests.orders.factories import OrderFactory, ServiceFactory
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db
S = Order.Status
LIST = "/admin/orders/order/"


@pytest.fixture
def operator(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def charged(status: str, *, balance: str = "10", quantity: int = 1000, link: str = "https://x.test/1") -> Order:
    """An order charged 1.00 (rate 1 per 1,000) through the real service, then put in `status`."""
    customer = UserFactory(balance=balance)
    order = order_create(
        user=customer, service_id=ServiceFactory(rate=Decimal("1")).pk, data={"link": link, "quantity": quantity}
    )
    Order.objects.filter(pk=order.pk).update(status=status)
    order.refresh_from_db()
    return order


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def balance(order: Order) -> Decimal:
    order.user.refresh_from_db()
    return order.user.balance


def test_the_list_shows_the_columns_operators_need_with_a_shortened_link(client, operator):
    order = OrderFactory(link="https://instagram.com/p/" + "x" * 1900, upstream_order_id="U-77", status=S.PENDING)
    page = client.get(LIST).content.decode()
    for text in (order.user.username, "U-77", 'class="console-badge pending"', "Upstream id", "Cost"):
        assert text in page
    # The whole link is in the title (shown on hover), the cell is cut by CSS.
    assert f'class="console-link-cell" title="{order.link}"' in page


def test_status_tabs_filter_the_list_and_count_the_review_queue(client, operator):
    pending = OrderFactory(status=S.PENDING)
    OrderFactory(status=S.COMPLETED)
    OrderFactory.create_batch(2, status=S.NEEDS_REVIEW)
    page = client.get(LIST).content.decode()
    assert 'data-testid="status-tab-needs_review">Needs review<span class="count">2</span>' in page
    response = client.get(LIST + "?status__exact=pending")
    assert [o.pk for o in response.context["cl"].result_list] == [pending.pk]
    assert 'class="active" aria-current="page" data-testid="status-tab-pending"' in response.content.decode()


def test_the_list_filters_by_provider_service_and_days(client, operator):
    first = OrderFactory()
    second = OrderFactory()
    response = client.get(LIST + f"?provider__id__exact={first.provider_id}")
    assert [o.pk for o in response.context["cl"].result_list] == [first.pk]
    response = client.get(LIST + f"?service__id__exact={second.service_id}")
    assert [o.pk for o in response.context["cl"].result_list] == [second.pk]
    today = first.created_at.date().isoformat()
    response = client.get(LIST + f"?created_at_from={today}&created_at_to={today}")
    assert {o.pk for o in response.context["cl"].result_list} == {first.pk, second.pk}
    response = client.get(LIST + "?created_at_to=2000-01-01")
    assert list(response.context["cl"].result_list) == []
    assert client.get(LIST + "?created_at_from=not-a-day").status_code == 200


def test_a_bulk_action_asks_first_listing_what_will_happen_to_each_order(client, operator):
    review = charged(S.NEEDS_REVIEW)
    running = charged(S.IN_PROGRESS)
    response = client.post(LIST, {"action": "cancel_and_refund", "_selected_action": [review.pk, running.pk]})
    page = response.content.decode()
    assert response.status_code == 200 and 'id="action-confirmation"' in page
    assert "1 of 2 selected orders will change" in page
    assert "Cancelled and refunded in full" in page and "In progress: only orders awaiting placement" in page
    assert dict(Order.objects.values_list("pk", "status")) == {review.pk: S.NEEDS_REVIEW, running.pk: S.IN_PROGRESS}
    assert not LedgerEntry.objects.filter(kind="refund").exists()


def test_a_confirmed_bulk_action_says_what_happened_to_every_order(client, operator):
    review = charged(S.NEEDS_REVIEW)
    awaiting = charged(S.AWAITING)
    running = charged(S.IN_PROGRESS)
    done = charged(S.COMPLETED)
    response = client.post(
        LIST,
        {
            "action": "cancel_and_refund",
            "_selected_action": [review.pk, awaiting.pk, running.pk, done.pk],
            "post": "yes",
        },
    )
    said = messages_of(response)
    assert f"Cancelled and refunded in full: {review.pk}, {awaiting.pk}." in said
    assert any(m.startswith("Left as it is: In progress") and m.endswith(f": {running.pk}.") for m in said)
    assert any(m.startswith("Left as it is: Completed") and m.endswith(f": {done.pk}.") for m in said)
    assert (balance(review), balance(awaiting), balance(running)) == (10, 10, 9)


def test_resend_reports_orders_not_in_review_instead_of_saying_nothing(client, operator, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    review = charged(S.NEEDS_REVIEW)
    pending = charged(S.PENDING)
    response = client.post(LIST, {"action": "resend", "_selected_action": [review.pk, pending.pk], "post": "yes"})
    assert messages_of(response) == [
        f"Queued again for placement: {review.pk}.",
        f"Left as it is: Pending, not in review: {pending.pk}.",
    ]


def test_a_bulk_action_over_too_many_orders_is_refused(client, operator, monkeypatch):
    from core import admin as core_admin

    monkeypatch.setattr(core_admin, "BULK_ACTION_LIMIT", 1)
    orders = [charged(S.NEEDS_REVIEW), charged(S.NEEDS_REVIEW)]
    response = client.post(LIST, {"action": "cancel_and_refund", "_selected_action": [o.pk for o in orders]})
    assert messages_of(response) == ["Select at most 1 rows for this action: nothing was done."]
    assert set(Order.objects.values_list("status", flat=True)) == {S.NEEDS_REVIEW}


# Outcomes set by hand.


def outcome(client, name: str, order: Order, **data):
    return client.post(reverse(f"admin:orders_order_{name}", args=[order.pk]), {"seen_status": order.status, **data})


def test_mark_completed_by_hand_refunds_nothing_and_records_why(client, operator):
    order = charged(S.IN_PROGRESS)
    response = outcome(client, "mark_completed", order, reason="provider closed its site; delivered")
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.remains, order.refunded, balance(order)) == (S.COMPLETED, 0, 0, 9)
    event = OrderEvent.objects.get(order=order)
    assert (event.from_status, event.to_status, event.actor) == (S.IN_PROGRESS, S.COMPLETED, f"staff:{operator.pk}")
    assert event.reason == "marked completed by hand: provider closed its site; delivered"


def test_mark_partial_by_hand_refunds_the_share_of_the_remains(client, operator):
    order = charged(S.PENDING)
    outcome(client, "mark_partial", order, remains="250", reason="provider stopped at 750")
    order.refresh_from_db()
    assert (order.status, order.remains, order.refunded, balance(order)) == (S.PARTIAL, 250, Decimal("0.25"), 9.25)
    assert LedgerEntry.objects.get(kind="refund", reference=f"order:{order.pk}").amount == Decimal("0.25")


@pytest.mark.parametrize("remains", ["0", "1000", "5000"])
def test_partial_needs_some_delivered_and_some_not(client, operator, remains):
    order = charged(S.PENDING)
    response = outcome(client, "mark_partial", order, remains=remains, reason="x")
    assert response.status_code == 200
    order.refresh_from_db()
    assert (order.status, balance(order)) == (S.PENDING, 9)


def test_cancel_by_hand_refunds_in_full_by_default_or_the_part_decided(client, operator):
    full = charged(S.PROCESSING)
    part = charged(S.NEEDS_REVIEW)
    outcome(client, "cancel_by_hand", full, refund="", reason="provider gone")
    outcome(client, "cancel_by_hand", part, refund="0.40000", reason="60% delivered per the provider's mail")
    full.refresh_from_db()
    part.refresh_from_db()
    assert (full.status, full.refunded, balance(full)) == (S.CANCELED, 1, 10)
    assert (part.status, part.refunded, balance(part)) == (S.CANCELED, Decimal("0.4"), Decimal("9.4"))
    assert "refunding 0.40000 of 1.00000" in OrderEvent.objects.get(order=part).reason


def test_a_refund_above_what_is_left_is_refused(client, operator):
    order = charged(S.PENDING)
    response = outcome(client, "cancel_by_hand", order, refund="1.00001", reason="x")
    assert "The refund must be between 0 and 1.00000." in response.content.decode()
    order.refresh_from_db()
    assert (order.status, balance(order)) == (S.PENDING, 9)


def test_an_order_that_moved_since_the_operator_saw_it_is_left_alone(client, operator):
    order = charged(S.IN_PROGRESS)
    seen = order.status
    Order.objects.filter(pk=order.pk).update(status=S.PARTIAL, remains=500, refunded=Decimal("0.5"))
    response = client.post(
        reverse("admin:orders_order_cancel_by_hand", args=[order.pk]), {"seen_status": seen, "reason": "gone"}
    )
    assert "changed meanwhile (it is Partial now): nothing was done." in response.content.decode()
    order.refresh_from_db()
    assert (order.status, order.refunded) == (S.PARTIAL, Decimal("0.5"))
    assert not LedgerEntry.objects.filter(kind="refund").exists()


@pytest.mark.parametrize(("name", "status"), [("mark_completed", S.AWAITING), ("mark_partial", S.PLACING)])
def test_outcomes_are_refused_from_statuses_they_do_not_apply_to(client, operator, name, status):
    order = charged(status)
    response = outcome(client, name, order, remains="10", reason="x")
    assert "cannot be marked" in response.content.decode()
    order.refresh_from_db()
    assert order.status == status


def test_a_reason_is_required(client, operator):
    order = charged(S.PENDING)
    response = outcome(client, "mark_completed", order, reason="")
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == S.PENDING


def test_the_order_page_offers_only_the_outcomes_the_staff_member_may_set(client):
    from django.contrib.auth.models import Group

    order = charged(S.PENDING)
    support = UserFactory(is_staff=True)
    support.groups.set(Group.objects.filter(name="Support"))
    client.force_login(support)
    page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "Mark partial" not in page and "Cancel with a refund" not in page
    supervisor = UserFactory(is_staff=True)
    supervisor.groups.set(Group.objects.filter(name="Supervisors"))
    client.force_login(supervisor)
    page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "Mark completed" in page and "Mark partial" in page and "Cancel with a refund" in page
