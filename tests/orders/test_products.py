"""Seed 003's products: synced beside the services, ordered with add_product_order, their result delivered."""

from decimal import Decimal
from urllib.parse import urlencode

import pytest

from orders.models import Order, Service
from orders.order_types import OrderInvalid
from orders.services.cycle import orders_cycle
from orders.services.ordering import order_create
from panel.services import api_key_rotate
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def products_upstream(upstream_factory):
    upstream = upstream_factory("003")
    upstream.connect()
    return upstream


def _product(upstream, upstream_id: int) -> Service:
    return Service.objects.get(
        provider=upstream.provider, kind="product", provider_service__service_id=str(upstream_id)
    )


def api(client, key, **fields):
    response = client.post(
        "/api/v2", urlencode({"key": key, **fields}), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    return response.json()


def test_products_are_synced_apart_from_services_and_priced_per_unit(products_upstream):
    assert Service.objects.filter(provider=products_upstream.provider, kind="product").count() == 6
    assert Service.objects.filter(provider=products_upstream.provider, kind="service").count() == 20
    spotify = _product(products_upstream, 4)
    assert (spotify.type, spotify.require, spotify.rate, spotify.min, spotify.max) == (
        "Product",
        "Input your email",
        Decimal("0.5"),
        1,
        10,
    )


def test_a_product_order_delivers_its_result_through_the_api(client, products_upstream):
    user = UserFactory(balance="10")
    key = api_key_rotate(user=user)
    spotify = _product(products_upstream, 4)
    listed = api(client, key, action="products")
    assert {p["product"] for p in listed} == set(
        Service.objects.filter(kind="product", is_enabled=True).values_list("pk", flat=True)
    )
    assert api(client, key, action="add_product_order", product=spotify.pk, quantity=3) == {
        "error": "Incorrect request: require is required (Input your email)"
    }
    answer = api(client, key, action="add_product_order", product=spotify.pk, quantity=3, require="me@example.com")
    order = Order.objects.get(pk=answer["order"])
    assert order.charge == Decimal("1.5")
    orders_cycle(concurrency=1)
    assert products_upstream.sim.product_order_count == 1
    products_upstream.finish_everything()
    orders_cycle(concurrency=1)
    status = api(client, key, action="product_order_status", order=order.pk)
    assert status["status"] == "Completed" and status["charge"] == "1.50"
    assert len(status["result"].splitlines()) == 3
    user.refresh_from_db()
    assert user.balance == Decimal("8.5")


def test_an_out_of_stock_product_is_refused_upstream_and_refunded(products_upstream):
    user = UserFactory(balance="20")
    youtube = _product(products_upstream, 2)
    order = order_create(
        user=user, service_id=youtube.pk, data={"quantity": 1, "require": "acct"}, kind=Service.Kind.PRODUCT
    )
    orders_cycle(concurrency=1)
    order.refresh_from_db()
    assert (order.status, order.error) == (Order.Status.CANCELED, "Product is out of stock")
    user.refresh_from_db()
    assert user.balance == Decimal("20")


def test_a_service_id_is_not_a_product_id(products_upstream):
    user = UserFactory(balance="20")
    with pytest.raises(OrderInvalid, match="Incorrect product ID"):
        order_create(
            user=user, service_id=products_upstream.service(1).pk, data={"quantity": 1}, kind=Service.Kind.PRODUCT
        )
