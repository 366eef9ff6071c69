"""Conformance of /api/v2 with the seeds' standard dialect: exact JSON, keys and types alike."""

from decimal import Decimal
from urllib.parse import urlencode

import pytest

from billing.models import LedgerEntry
from orders.models import Order, Refill
from panel.services import api_key_rotate
from tests.orders.factories import CategoryFactory, OrderFactory, ServiceFactory
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    user = UserFactory(balance="100.84292")
    user.key = api_key_rotate(user=user)
    return user


def api(client, key, **fields):
    body = urlencode({"key": key, **fields})
    response = client.post("/api/v2", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


def test_balance_answers_like_the_seeds(client, customer):
    assert api(client, customer.key, action="balance") == {"balance": "100.84292", "currency": "USD"}


def test_services_lists_what_is_on_sale_with_the_seed_types(client, customer):
    category = CategoryFactory(name="First Category")
    followers = ServiceFactory(
        name="Followers", category=category, rate=Decimal("0.9"), min=50, max=10000, refill=True, cancel=True
    )
    ServiceFactory(is_enabled=False)
    assert api(client, customer.key, action="services") == [
        {
            "service": followers.pk,
            "name": "Followers",
            "type": "Default",
            "category": "First Category",
            "rate": "0.90",
            "min": "50",
            "max": "10000",
            "refill": True,
            "cancel": True,
            "dripfeed": True,  # a Default service takes runs: the panel runs the drip-feed its provider lacks
            "desc": "",
            # Extra keys after the seeds' own: the refill guarantee and our average completion time.
            "refill_days": None,
            "average_time": "Not enough data",
        }
    ]


def test_add_answers_the_new_order_id_and_charges(client, customer):
    service = ServiceFactory(rate=Decimal("1"))
    answer = api(client, customer.key, action="add", service=service.pk, link="https://x.test/1", quantity=100)
    order = Order.objects.get()
    assert answer == {"order": order.pk}
    customer.refresh_from_db()
    assert customer.balance == Decimal("100.74292")


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"service": "999999", "link": "x", "quantity": "100"}, "Incorrect service ID"),
        ({"link": "x", "quantity": "100"}, "Incorrect request: service is required"),
        ({"service": "{sid}", "link": "x", "quantity": "10"}, "Quantity less than minimal 50"),
        ({"service": "{sid}", "link": "x", "quantity": "20000"}, "Quantity more than maximum 10000"),
        ({"service": "{sid}", "link": "x", "quantity": "9999"}, "Not enough funds on balance"),
    ],
)
def test_add_refusals_use_the_words_clients_know(client, fields, error):
    poor = UserFactory(balance="1")
    key = api_key_rotate(user=poor)
    service = ServiceFactory(rate=Decimal("1"))
    fields = {k: v.format(sid=service.pk) for k, v in fields.items()}
    assert api(client, key, action="add", **fields) == {"error": error}
    assert Order.objects.count() == 0


def test_status_of_one_order(client, customer):
    order = OrderFactory(
        user=customer, charge=Decimal("0.27819"), start_count=3572, remains=157, status=Order.Status.PARTIAL
    )
    assert api(client, customer.key, action="status", order=order.pk) == {
        "charge": "0.27819",
        "start_count": "3572",
        "status": "Partial",
        "remains": "157",
        "currency": "USD",
    }


def test_status_of_many_orders_keys_each_id_and_hides_other_customers_orders(client, customer):
    mine = OrderFactory(user=customer, charge=Decimal("1.44219"), start_count=234, remains=10, status="in_progress")
    theirs = OrderFactory()
    answer = api(client, customer.key, action="status", orders=f"{mine.pk},{theirs.pk},abc")
    assert answer == {
        str(mine.pk): {
            "charge": "1.44219",
            "start_count": "234",
            "status": "In progress",
            "remains": "10",
            "currency": "USD",
        },
        str(theirs.pk): {"error": "Incorrect order ID"},
        "abc": {"error": "Incorrect order ID"},
    }


def test_status_of_an_unknown_order_and_of_too_many_ids(client, customer):
    assert api(client, customer.key, action="status", order="424242") == {"error": "Incorrect order ID"}
    ids = ",".join(str(i) for i in range(1, 102))
    assert api(client, customer.key, action="status", orders=ids) == {
        "error": "Incorrect request: at most 100 ids in orders"
    }


def test_status_of_100_ids_runs_a_constant_number_of_queries(client, customer, django_assert_max_num_queries):
    orders = OrderFactory.create_batch(100, user=customer)
    with django_assert_max_num_queries(3):
        answer = api(client, customer.key, action="status", orders=",".join(str(o.pk) for o in orders))
    assert len(answer) == 100


def test_refill_one_and_many(client, customer):
    done = OrderFactory(user=customer, status=Order.Status.COMPLETED)
    running = OrderFactory(user=customer, status=Order.Status.IN_PROGRESS)
    no_refill = OrderFactory(user=customer, status=Order.Status.COMPLETED, service__refill=False)
    answer = api(client, customer.key, action="refill", order=done.pk)
    assert answer == {"refill": str(Refill.objects.get(order=done).pk)}
    other = OrderFactory(user=customer, status=Order.Status.COMPLETED)
    answer = api(client, customer.key, action="refill", orders=f"{other.pk},{running.pk},{no_refill.pk},999999")
    assert answer == [
        {"order": other.pk, "refill": Refill.objects.get(order=other).pk},
        {"order": running.pk, "refill": {"error": "The order is not completed"}},
        {"order": no_refill.pk, "refill": {"error": "Refill is disabled for this service"}},
        {"order": 999999, "refill": {"error": "Incorrect order ID"}},
    ]


def test_refill_status_one_and_many(client, customer):
    refill = Refill.objects.create(order=OrderFactory(user=customer), user=customer, status=Refill.Status.COMPLETED)
    rejected = Refill.objects.create(order=OrderFactory(user=customer), user=customer, status=Refill.Status.REJECTED)
    assert api(client, customer.key, action="refill_status", refill=refill.pk) == {"status": "Completed"}
    assert api(client, customer.key, action="refill_status", refill="77777") == {"error": "Refill not found"}
    assert api(client, customer.key, action="refill_status", refills=f"{refill.pk},{rejected.pk},77777") == [
        {"refill": refill.pk, "status": "Completed"},
        {"refill": rejected.pk, "status": "Rejected"},
        {"refill": 77777, "status": {"error": "Refill not found"}},
    ]


def test_cancel_many(client, customer):
    running = OrderFactory(user=customer, status=Order.Status.IN_PROGRESS, upstream_order_id="5")
    assert api(client, customer.key, action="cancel", orders=f"99999,{running.pk}") == [
        {"order": 99999, "cancel": {"error": "Incorrect order ID"}},
        {"order": running.pk, "cancel": 1},
    ]
    running.refresh_from_db()
    assert running.cancel_requested_at is not None


def test_cancel_before_placement_refunds_at_once(client, customer):
    service = ServiceFactory(rate=Decimal("1"))
    order_id = api(client, customer.key, action="add", service=service.pk, link="https://x.test/1", quantity=100)[
        "order"
    ]
    assert api(client, customer.key, action="cancel", orders=str(order_id)) == [{"order": order_id, "cancel": 1}]
    customer.refresh_from_db()
    assert customer.balance == Decimal("100.84292")
    assert LedgerEntry.objects.filter(kind="refund", reference=f"order:{order_id}").count() == 1


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"key": "wrong", "action": "balance"}, "Invalid API key"),
        ({"action": "balance"}, "Invalid API key"),
        ({"key": "{key}", "action": "fly"}, "Incorrect request: unknown action"),
        ({"key": "{key}"}, "Incorrect request: action is required"),
        ({"key": "{key}", "action": "status"}, "Incorrect request: order is required"),
    ],
)
def test_protocol_errors_are_http_200_json(client, customer, fields, error):
    body = urlencode({k: v.format(key=customer.key) for k, v in fields.items()})
    response = client.post("/api/v2", body, content_type="application/x-www-form-urlencoded")
    assert (response.status_code, response.json()) == (200, {"error": error})


def test_a_suspended_customer_is_refused(client, customer):
    customer.is_active = False
    customer.save()
    assert api(client, customer.key, action="balance") == {"error": "Your account has been suspended."}


def test_json_bodies_work_and_broken_ones_get_a_json_error(client, customer):
    response = client.post("/api/v2", {"key": customer.key, "action": "balance"}, content_type="application/json")
    assert response.json() == {"balance": "100.84292", "currency": "USD"}
    response = client.post("/api/v2", "{not json", content_type="application/json")
    assert (response.status_code, response.json()) == (200, {"error": "Incorrect request"})


def test_get_tells_the_client_to_post(client):
    response = client.get("/api/v2?key=abc&action=balance")
    assert (response.status_code, response.json()) == (
        200,
        {"error": "Incorrect request: use POST with key and action in the body"},
    )


def test_status_charge_is_what_the_customer_finally_paid(client, customer):
    cancelled = OrderFactory(user=customer, charge=Decimal("1.35"), refunded=Decimal("1.35"), status="canceled")
    partial = OrderFactory(
        user=customer, quantity=1000, charge=Decimal("1.2"), refunded=Decimal("0.3"), remains=250, status="partial"
    )
    answer = api(client, customer.key, action="status", orders=f"{cancelled.pk},{partial.pk}")
    assert (answer[str(cancelled.pk)]["charge"], answer[str(partial.pk)]["charge"]) == ("0.00", "0.90")
    assert api(client, customer.key, action="status", order=partial.pk)["charge"] == "0.90"
