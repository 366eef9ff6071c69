"""`status` and `product_order_status` read only the columns their answers use: the same bytes, two queries."""

import json
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Order, Service
from panel.api import _order_status, _product_order_status
from panel.services import api_key_rotate
from tests.orders.factories import OrderFactory
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    user = UserFactory(balance="10")
    user.key = api_key_rotate(user=user)
    return user


def _post(client, key, **fields) -> bytes:
    body = urlencode({"key": key, **fields})
    response = client.post("/api/v2", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    return response.content


def test_status_of_100_orders_takes_two_queries_and_answers_what_whole_rows_give(client, customer):
    statuses = [Order.Status.IN_PROGRESS, Order.Status.PARTIAL, Order.Status.COMPLETED, Order.Status.CANCELED]
    orders = [
        OrderFactory(
            user=customer,
            status=statuses[i % 4],
            charge=Decimal("1.44219"),
            refunded=Decimal("0.5") if i % 4 == 1 else Decimal("0"),
            start_count=i or None,
            remains=i % 7 if i % 3 else None,
            runs=2 if i % 5 == 0 else None,
            interval=10 if i % 5 == 0 else None,
        )
        for i in range(100)
    ]
    ids = ",".join(str(order.pk) for order in orders)
    with CaptureQueriesContext(connection) as queries:
        body = _post(client, customer.key, action="status", orders=ids)
    assert len(queries.captured_queries) == 2  # the key's user, the orders: no field read later
    assert '"orders_order"."link"' not in queries.captured_queries[1]["sql"]
    whole = {str(order.pk): _order_status(Order.objects.get(pk=order.pk)) for order in orders}
    assert body == _post(client, customer.key, action="status", orders=ids)
    assert json.loads(body) == whole
    single = json.loads(_post(client, customer.key, action="status", order=str(orders[1].pk)))
    assert single == whole[str(orders[1].pk)]


def test_product_order_status_takes_two_queries_and_answers_what_whole_rows_give(client, customer):
    delivered = OrderFactory(
        user=customer, service__kind=Service.Kind.PRODUCT, status=Order.Status.COMPLETED, result="code-1\ncode-2"
    )
    refused = OrderFactory(
        user=customer,
        service__kind=Service.Kind.PRODUCT,
        status=Order.Status.CANCELED,
        refunded=Decimal("1.20"),
        error="Out of stock",
    )
    ids = f"{delivered.pk},{refused.pk}"
    with CaptureQueriesContext(connection) as queries:
        body = _post(client, customer.key, action="product_order_status", orders=ids)
    assert len(queries.captured_queries) == 2
    assert '"orders_order"."link"' not in queries.captured_queries[1]["sql"]
    assert json.loads(body) == {
        str(order.pk): _product_order_status(Order.objects.get(pk=order.pk)) for order in (delivered, refused)
    }
    assert json.loads(body)[str(refused.pk)] == {
        "charge": "0.00",
        "status": "Canceled",
        "result": "",
        "note": "Out of stock",
    }
