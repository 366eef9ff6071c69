from decimal import Decimal

import pytest

from billing.errors import InsufficientFunds
from billing.models import LedgerEntry
from orders.models import Order
from orders.order_types import OrderInvalid
from orders.services.ordering import ACTIVE_LINK_MESSAGE, AccountSuspended, order_create
from tests.orders.factories import ServiceFactory
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_an_order_charges_rate_per_thousand_times_quantity_in_one_ledger_row():
    user = UserFactory(balance="10")
    service = ServiceFactory(rate=Decimal("1.23457"))
    order = order_create(user=user, service_id=service.pk, data={"link": "https://x.test/p/1", "quantity": "155"})
    user.refresh_from_db()
    assert (order.status, order.quantity, order.charge, order.rate) == (
        Order.Status.AWAITING,
        155,
        Decimal("0.19136"),
        Decimal("1.23457"),
    )
    assert user.balance == Decimal("9.80864")
    charge = LedgerEntry.objects.get(kind=LedgerEntry.Kind.CHARGE)
    assert (charge.amount, charge.reference) == (Decimal("-0.19136"), f"order:{order.pk}")


def test_placement_is_queued_only_after_commit(django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr("orders.services.ordering.order_placement_queue", lambda *, order_id: queued.append(order_id))
    user = UserFactory(balance="10")
    service = ServiceFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        order = order_create(user=user, service_id=service.pk, data={"link": "https://x.test/1", "quantity": 100})
        assert queued == []
    assert len(callbacks) == 1 and queued == [order.pk]


def test_short_funds_write_neither_order_nor_ledger_row():
    user = UserFactory(balance="0.1")
    service = ServiceFactory(rate=Decimal("1"))
    with pytest.raises(InsufficientFunds, match="Not enough funds on balance"):
        order_create(user=user, service_id=service.pk, data={"link": "https://x.test/1", "quantity": 101})
    user.refresh_from_db()
    assert user.balance == Decimal("0.1")
    assert Order.objects.count() == 0 and LedgerEntry.objects.filter(kind="charge").count() == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"quantity": 100}, "link is required"),
        ({"link": "https://x.test/1"}, "quantity is required"),
        ({"link": "https://x.test/1", "quantity": "ten"}, "quantity must be a whole number"),
        ({"link": "https://x.test/1", "quantity": "-5"}, "quantity must be a whole number"),
        ({"link": "https://x.test/1", "quantity": 49}, "Quantity less than minimal 50"),
        ({"link": "https://x.test/1", "quantity": 10001}, "Quantity more than maximum 10000"),
        ({"link": "has space", "quantity": 100}, "link must be a single URL"),
    ],
)
def test_each_refusal_names_the_field(data, message):
    user = UserFactory(balance="10")
    service = ServiceFactory()
    with pytest.raises(OrderInvalid, match=message):
        order_create(user=user, service_id=service.pk, data=data)
    assert Order.objects.count() == 0


def test_runs_are_refused_for_a_type_without_drip_feed():
    user = UserFactory(balance="10")
    service = ServiceFactory(provider_service__type="Poll")
    data = {"link": "https://x.test/1", "quantity": 100, "answer_number": 1, "runs": 2, "interval": 5}
    with pytest.raises(OrderInvalid, match=r"runs and interval \(drip-feed\) are not available for this service"):
        order_create(user=user, service_id=service.pk, data=data)


def test_unknown_or_disabled_services_are_incorrect_service_ids():
    user = UserFactory(balance="10")
    disabled = ServiceFactory(is_enabled=False)
    for service_id in (disabled.pk, 999999, "abc", ""):
        with pytest.raises(OrderInvalid, match="Incorrect service ID"):
            order_create(user=user, service_id=service_id, data={"link": "https://x.test/1", "quantity": 100})


def test_drip_feed_charges_every_run():
    user = UserFactory(balance="10")
    service = ServiceFactory(dripfeed=True, rate=Decimal("2"))
    order = order_create(
        user=user, service_id=service.pk, data={"link": "https://x.test/1", "quantity": 100, "runs": 3, "interval": 30}
    )
    assert (order.runs, order.interval, order.charge) == (3, 30, Decimal("0.6"))


def test_custom_comments_count_one_unit_per_line():
    user = UserFactory(balance="10")
    service = ServiceFactory(provider_service__type="Custom Comments", min=2, max=100, rate=Decimal("8"))
    order = order_create(
        user=user, service_id=service.pk, data={"link": "https://x.test/1", "comments": "nice\r\n\r\ngreat\nwow\n"}
    )
    assert (order.quantity, order.params, order.charge) == (3, {"comments": "nice\ngreat\nwow"}, Decimal("0.024"))


def test_a_package_is_bought_whole_with_a_link_and_costs_its_rate_per_1000_times_its_size():
    user = UserFactory(balance="10")
    service = ServiceFactory(provider_service__type="Package", min=1000, max=1000, rate=Decimal("3.5"))
    order = order_create(user=user, service_id=service.pk, data={"link": "https://x.test/1", "quantity": "5"})
    assert (order.quantity, order.charge, order.params) == (1000, Decimal("3.5"), {})
    small = ServiceFactory(provider_service__type="Package", min=250, max=250, rate=Decimal("2"))
    assert order_create(user=user, service_id=small.pk, data={"link": "https://x.test/2"}).charge == Decimal("0.5")


def test_a_subscription_is_charged_for_max_on_each_post_and_checks_delay_and_expiry():
    user = UserFactory(balance="10")
    service = ServiceFactory(provider_service__type="Subscriptions", min=10, max=500, rate=Decimal("1"))
    data = {"username": "someone", "min": "50", "max": "100", "posts": "4", "delay": "30", "expiry": "31/12/2026"}
    order = order_create(user=user, service_id=service.pk, data=data)
    assert (order.quantity, order.charge) == (400, Decimal("0.4"))
    assert order.params == {
        "username": "someone",
        "min": 50,
        "max": 100,
        "posts": 4,
        "delay": 30,
        "expiry": "31/12/2026",
    }
    with pytest.raises(OrderInvalid, match="delay must be one of"):
        order_create(user=user, service_id=service.pk, data={**data, "delay": "7"})
    with pytest.raises(OrderInvalid, match="expiry must be a date as d/m/Y"):
        order_create(user=user, service_id=service.pk, data={**data, "expiry": "2026-12-31"})
    with pytest.raises(OrderInvalid, match="Quantity more than maximum 500"):
        order_create(user=user, service_id=service.pk, data={**data, "max": "501"})


def test_poll_and_mentions_need_their_own_fields():
    user = UserFactory(balance="10")
    poll = ServiceFactory(provider_service__type="Poll")
    with pytest.raises(OrderInvalid, match="answer_number is required"):
        order_create(user=user, service_id=poll.pk, data={"link": "https://x.test/1", "quantity": 100})
    order = order_create(
        user=user, service_id=poll.pk, data={"link": "https://x.test/1", "quantity": 100, "answer_number": "2"}
    )
    assert order.params == {"answer_number": 2}
    mentions = ServiceFactory(provider_service__type="Mentions with Hashtags")
    with pytest.raises(OrderInvalid, match="hashtags is required"):
        order_create(
            user=user, service_id=mentions.pk, data={"link": "https://x.test/1", "quantity": 100, "usernames": "a\nb"}
        )


def test_an_active_order_on_the_same_link_is_refused_where_the_service_asks():
    user = UserFactory(balance="10")
    service = ServiceFactory(refuse_active_link=True)
    data = {"link": "https://x.test/same", "quantity": 100}
    order_create(user=user, service_id=service.pk, data=data)
    with pytest.raises(OrderInvalid, match=ACTIVE_LINK_MESSAGE):
        order_create(user=user, service_id=service.pk, data=data)
    other = UserFactory(balance="10")
    assert order_create(user=other, service_id=service.pk, data=data).pk


def test_a_suspended_customer_cannot_order():
    user = UserFactory(balance="10", is_active=False)
    service = ServiceFactory()
    with pytest.raises(AccountSuspended, match=r"Your account has been suspended\."):
        order_create(user=user, service_id=service.pk, data={"link": "https://x.test/1", "quantity": 100})
