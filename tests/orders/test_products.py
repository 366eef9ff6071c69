"""Seed 003's products: synced beside the services, ordered with add_product_order, their result delivered."""

import re
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from orders.models import Order, Service
from orders.order_types import OrderInvalid
from orders.services.catalog import services_sync
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


def test_an_out_of_stock_product_is_not_sold_until_it_returns(client, products_upstream):
    user = UserFactory(balance="20")
    key = api_key_rotate(user=user)
    youtube = _product(products_upstream, 2)  # the simulator's product 2 has an inventory of 0, as in seed 003
    assert (youtube.in_stock, youtube.inventory) == (False, 0)
    listed = {p["product"]: p for p in api(client, key, action="products")}
    assert (listed[youtube.pk]["status"], listed[youtube.pk]["inventory"]) == ("Out of stock", 0)
    assert api(client, key, action="add_product_order", product=youtube.pk, quantity=1, require="acct") == {
        "error": "Product is out of stock"
    }
    with pytest.raises(OrderInvalid, match="Product is out of stock"):
        order_create(user=user, service_id=youtube.pk, data={"quantity": 1, "require": "a"}, kind=Service.Kind.PRODUCT)
    assert Order.objects.count() == 0

    products_upstream.sim.restock(2, 1)
    services_sync(provider_id=products_upstream.provider.pk)
    youtube.refresh_from_db()
    assert (youtube.in_stock, youtube.inventory) == (True, 1)
    listed = {p["product"]: p for p in api(client, key, action="products")}
    assert (listed[youtube.pk]["status"], listed[youtube.pk]["inventory"]) == ("In stock", 1)
    order_id = api(client, key, action="add_product_order", product=youtube.pk, quantity=1, require="acct")["order"]
    youtube.refresh_from_db()
    assert (youtube.in_stock, youtube.inventory) == (False, 0)  # the last one is ours until the next sync
    assert api(client, key, action="add_product_order", product=youtube.pk, quantity=1, require="acct") == {
        "error": "Product is out of stock"
    }
    orders_cycle(concurrency=1)
    assert Order.objects.get(pk=order_id).upstream_order_id is not None


def test_more_than_the_inventory_is_refused_with_how_many_are_left(client, products_upstream):
    user = UserFactory(balance="1000")
    spotify = _product(products_upstream, 4)
    assert spotify.inventory is not None and spotify.max > 1
    Service.objects.filter(pk=spotify.pk).update(inventory=1)
    with pytest.raises(OrderInvalid, match="Not enough products in stock: 1 left"):
        order_create(user=user, service_id=spotify.pk, data={"quantity": 2, "require": "a"}, kind=Service.Kind.PRODUCT)


def test_products_answer_status_and_inventory_as_seed_003(client, products_upstream):
    key = api_key_rotate(user=UserFactory())
    answer = api(client, key, action="products")
    facebook = next(p for p in answer if p["product"] == _product(products_upstream, 3).pk)
    netflix = next(p for p in answer if p["product"] == _product(products_upstream, 1).pk)
    assert list(netflix) == [
        "product",
        "name",
        "require",
        "rate",
        "min",
        "max",
        "category",
        "status",
        "inventory",
        "type",
    ]
    assert list(facebook) == ["product", "name", "require", "rate", "min", "max", "category", "status", "type"]
    assert facebook["status"] == "In stock"


def test_products_on_the_website_ordered_with_require_and_the_result_delivered(client, products_upstream):
    user = UserFactory(balance="10")
    client.force_login(user)
    spotify = _product(products_upstream, 4)
    youtube = _product(products_upstream, 2)
    html = client.get("/products/").content.decode()
    assert f'id="product-{spotify.pk}"' in html and f'href="/products/{spotify.pk}/order/"' in html
    assert f'href="/products/{youtube.pk}/order/"' not in html and "Out of stock" in html
    html = client.post(f"/products/{spotify.pk}/order/", {"quantity": "2"}).content.decode()
    assert re.search(r'id="error-require"[^>]*>This field is required\.</p>', html)
    html = client.post(f"/products/{spotify.pk}/order/", {"quantity": "99", "require": "me@x.test"}).content.decode()
    assert f"The maximum for this service is {spotify.max}." in html
    response = client.post(f"/products/{spotify.pk}/order/", {"quantity": "2", "require": "me@x.test"})
    assert response.status_code == 302
    order = Order.objects.get()
    assert (order.quantity, order.charge, order.params) == (2, Decimal("1"), {"require": "me@x.test"})
    html = client.post(f"/products/{youtube.pk}/order/", {"quantity": "1", "require": "a"}).content.decode()
    assert 'id="form-errors"' in html and "Product is out of stock" in html
    orders_cycle(concurrency=1)
    products_upstream.finish_everything()
    orders_cycle(concurrency=1)
    order.refresh_from_db()
    html = client.get("/orders/").content.decode()
    assert order.status == Order.Status.COMPLETED and len(order.result.splitlines()) == 2
    assert f'<pre class="result">{order.result}</pre>' in html


def test_a_service_id_is_not_a_product_id(products_upstream):
    user = UserFactory(balance="20")
    with pytest.raises(OrderInvalid, match="Incorrect product ID"):
        order_create(
            user=user, service_id=products_upstream.service(1).pk, data={"quantity": 1}, kind=Service.Kind.PRODUCT
        )
