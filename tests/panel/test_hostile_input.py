"""Hostile input on every page: a clear refusal or the page itself, never a 500.

Each customer page, anonymous page and admin list is fetched with query strings a fuzzer
or an attacker would send (NUL bytes, numbers too large for any column, `1E+15`, 24 digits,
broken UTF-8 standing for lone surrogates), and the forms are posted with the same values.
"""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse

from orders.models import Order
from tests.orders.factories import OrderFactory, ServiceFactory
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db

# Already percent-encoded: "%ED%A0%80" is U+D800 (a lone surrogate) written as UTF-8.
HOSTILE_VALUES = [
    "%00",
    "a%00b",
    "99999999999999999999",
    "1E%2B15",
    "1" * 24,
    "-1",
    "NaN",
    "%ED%A0%80",
    "%FF",
    "x" * 3000,
]
PARAMS = ["q", "page", "status", "category", "service", "next", "p", "o", "%00"]
CUSTOMER_PAGES = [
    "dashboard",
    "new_order",
    "mass_order",
    "orders",
    "refills",
    "services",
    "account",
    "api_docs",
    "updates",
    "add_funds",
]
ANONYMOUS_PAGES = ["login", "signup", "password_reset", "password_reset_done", "password_reset_complete"]


def _hostile_queries(params: list[str]):
    for value in HOSTILE_VALUES:
        yield "&".join(f"{param}={value}" for param in PARAMS)
        for param in params:
            yield f"{param}={value}"


def _assert_never_500(client, path: str, params: list[str] = PARAMS[:6]) -> set[int]:
    codes = set()
    for query in _hostile_queries(params):
        response = client.get(f"{path}?{query}")
        assert response.status_code < 500, f"{path}?{query[:120]} answered {response.status_code}"
        codes.add(response.status_code)
    return codes


@pytest.mark.parametrize("name", CUSTOMER_PAGES)
def test_every_customer_page_answers_hostile_query_strings_without_a_500(customer_client, customer, name):
    service = ServiceFactory(rate=Decimal("1"))
    OrderFactory(user=customer, service=service, status=Order.Status.COMPLETED)
    codes = _assert_never_500(customer_client, reverse(name))
    assert codes <= {200, 400}


@pytest.mark.parametrize("name", ANONYMOUS_PAGES)
def test_every_anonymous_page_answers_hostile_query_strings_without_a_500(client, name):
    assert _assert_never_500(client, reverse(name)) <= {200, 400}


def test_a_nul_byte_in_the_search_box_is_refused_with_a_clear_message(customer_client):
    for name in ("orders", "services"):
        response = customer_client.get(reverse(name) + "?q=%00")
        assert response.status_code == 400
        assert "cannot be stored (a NUL byte or broken Unicode)" in response.content.decode()


def test_a_search_for_a_huge_or_odd_number_finds_nothing_instead_of_failing(customer_client, customer):
    OrderFactory(user=customer, link="https://x.test/one")
    for query in ("99999999999999999999", "²", "1E+15", "٣"):
        response = customer_client.get(reverse("orders"), {"q": query})
        assert response.status_code == 200 and response.context["order_rows"] == []


def test_every_admin_list_answers_hostile_query_strings_without_a_500(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    OrderFactory()
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        path = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        # One at a time: the admin's search (q), page (p) and sort (o); an unknown one is refused early.
        _assert_never_500(client, path, params=["q", "p", "o"])
        filters = "&".join(f"{name}__exact=99999999999999999999" for name in ("id", "status", "user__id"))
        assert client.get(f"{path}?{filters}").status_code < 500, model_admin


def test_an_address_with_a_nul_byte_is_refused_on_admin_pages_too(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get("/admin/orders/order/%00/change/").status_code == 400
    assert client.get("/admin/orders/order/?q=%00").status_code == 400


FORM_POSTS = [
    ("signup", {"username": "a\x00b", "email": "a\x00@example.com", "password1": "x\x00" * 6, "password2": "x"}),
    ("login", {"username": "\x00", "password": "\x00"}),
    ("password_reset", {"email": "a\x00@example.com"}),
    ("mass_order", {"orders": "1|https://x.test/\x00|99999999999999999999\n1E+15|x|1"}),
]


@pytest.mark.parametrize(("name", "data"), FORM_POSTS, ids=[name for name, _ in FORM_POSTS])
def test_forms_refuse_nul_bytes_as_a_field_error(client, name, data):
    if name == "mass_order":
        client.force_login(UserFactory())
    response = client.post(reverse(name), data)
    assert response.status_code in (200, 302)
    if name != "mass_order" and response.status_code == 200:
        errors = response.context["form"].errors.as_text()
        assert "Null characters are not allowed." in errors or "Enter a valid" in errors


@pytest.mark.parametrize("amount", ["99999999999999999999", "1E+15", "1" * 24, "NaN", "-1E+30", "1\x00"])
def test_the_admin_balance_form_bounds_its_amount(client, amount):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    customer = UserFactory()
    response = client.post(reverse("admin:panel_user_balance", args=[customer.pk]), {"amount": amount, "memo": "fuzz"})
    assert response.status_code == 200
    assert response.context["form"].errors["amount"]
    customer.refresh_from_db()
    assert customer.balance == 0


def test_a_nul_byte_in_a_header_is_refused_before_the_login_lockout_stores_it(client):
    UserFactory(username="alice", password="a-long-enough-passphrase")
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"}, HTTP_USER_AGENT="a\x00b")
    assert response.status_code == 400
    long_agent = client.post(reverse("login"), {"username": "alice", "password": "wrong"}, HTTP_USER_AGENT="a" * 5000)
    assert long_agent.status_code == 200


def test_a_nul_byte_in_any_login_field_never_reaches_the_database(client):
    UserFactory(username="alice", password="a-long-enough-passphrase")
    for data in (
        {"username": "alice", "password": "wrong", "next": "\x00", "x\x00": "y"},
        {"username": "alice", "password": "a-long-enough-passphrase", "next": "\x00"},
    ):
        assert client.post(reverse("login"), data).status_code in (200, 302)
    response = client.post(reverse("admin:login"), {"username": "alice", "password": "wrong", "otp_token": "\x00"})
    assert response.status_code == 200


def test_the_api_refuses_a_nul_byte_in_any_text_field_as_the_clients_mistake(client, settings):
    from panel.services import api_key_rotate

    settings.API_THROTTLE_IP_RATE = "1000/min"
    customer = UserFactory(balance="10")
    key = api_key_rotate(user=customer)
    service = ServiceFactory(rate=Decimal("1"))
    for field, value in (("link", "https://x.test/\x00"), ("action", "bal\x00ance"), ("quantity", "1\x00")):
        data = {"key": key, "action": "add", "service": str(service.pk), "link": "https://x.test/a", "quantity": "100"}
        response = client.post("/api/v2", {**data, field: value})
        assert response.json() == {"error": f"Incorrect request: {field} must not contain NUL characters"}
    assert not Order.objects.exists()
    customer.refresh_from_db()
    assert customer.balance == Decimal("10")
