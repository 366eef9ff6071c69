from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import Order, ServiceChange
from orders.services.ordering import order_create
from tests.orders.factories import CategoryFactory, OrderFactory, ServiceFactory
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGGED_IN_PAGES = [
    "dashboard",
    "new_order",
    "mass_order",
    "orders",
    "refills",
    "services",
    "account",
    "api_docs",
    "updates",
    "products",
]


@pytest.mark.parametrize("name", LOGGED_IN_PAGES)
def test_every_page_renders_for_a_customer_with_a_title_and_a_heading(customer_client, name):
    ServiceFactory()
    response = customer_client.get(reverse(name))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>" in html and "<h1>" in html


@pytest.mark.parametrize("name", LOGGED_IN_PAGES + ["password_change"])
def test_anonymous_visitors_are_sent_to_log_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login") + "?next=")


def test_the_site_root_is_the_dashboard(customer_client):
    assert reverse("dashboard") == "/"
    assert customer_client.get("/").templates[0].name == "panel/dashboard.html"


def test_the_nav_links_to_add_funds_and_shows_admin_only_to_staff(client):
    client.force_login(UserFactory())
    html = client.get("/").content.decode()
    assert 'data-testid="nav-add-funds"' in html
    assert "/admin/" not in html
    client.force_login(UserFactory(is_staff=True))
    assert 'href="/admin/"' in client.get("/").content.decode()


def test_the_dashboard_shows_balance_spent_and_recent_orders(customer_client, customer):
    service = ServiceFactory(rate=Decimal("2"))
    order_create(user=customer, service_id=service.pk, data={"link": "https://x.test/1", "quantity": "500"})
    order_create(user=customer, service_id=service.pk, data={"link": "https://x.test/2", "quantity": "1000"})
    response = customer_client.get("/")
    html = response.content.decode()
    assert response.context["balance"] == "7.00"
    assert response.context["spent"] == "3.00"
    assert '<span id="balance" data-testid="balance">7.00</span>' in html
    assert html.count('data-testid="order-row"') == 2


def test_spent_counts_charges_minus_refunds(customer_client, customer):
    OrderFactory(user=customer, charge=Decimal("5"), refunded=Decimal("2"), status=Order.Status.PARTIAL)
    OrderFactory(charge=Decimal("50"))  # someone else's
    assert customer_client.get("/").context["spent"] == "3.00"


def test_the_services_page_groups_by_category_and_escapes_upstream_text(customer_client):
    ServiceFactory(
        name="<script>x</script>",
        description="<img src=x onerror=alert(1)>",
        category=CategoryFactory(name="<b>Cat</b>"),
    )
    html = customer_client.get(reverse("services")).content.decode()
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert "<img src=x" not in html and "<b>Cat</b>" not in html
    assert "&lt;b&gt;Cat&lt;/b&gt;" in html


def test_the_services_page_filters_by_category_and_search(customer_client):
    followers = ServiceFactory(name="Followers fast", category=CategoryFactory(name="Instagram"))
    views = ServiceFactory(name="Views cheap", category=CategoryFactory(name="YouTube"))
    disabled = ServiceFactory(name="Views old", category=views.category, is_enabled=False)

    def listed(**params):
        return {s.pk for s in customer_client.get(reverse("services"), params).context["services"]}

    assert listed() == {followers.pk, views.pk}
    assert listed(category=views.category_id) == {views.pk}
    assert listed(q="follow") == {followers.pk}
    assert listed(q=str(views.pk)) == {views.pk}
    assert disabled.pk not in listed(q="views")


def test_the_services_page_shows_our_price_never_our_cost(customer_client):
    ServiceFactory(cost=Decimal("0.33333"), rate=Decimal("1.25"))
    html = customer_client.get(reverse("services")).content.decode()
    assert "1.25" in html and "0.33333" not in html


def test_the_updates_page_lists_changes_of_services_on_sale(customer_client):
    service = ServiceFactory(name="Likes")
    hidden = ServiceFactory(name="Held back", is_enabled=False)
    ServiceChange.objects.create(service=service, kind=ServiceChange.Kind.RATE, old_value="1.20000", new_value="1.5")
    ServiceChange.objects.create(service=service, kind=ServiceChange.Kind.ADDED)
    ServiceChange.objects.create(service=hidden, kind=ServiceChange.Kind.ADDED)
    removed = ServiceFactory(name="Gone", is_enabled=False)
    ServiceChange.objects.create(service=removed, kind=ServiceChange.Kind.REMOVED)
    html = customer_client.get(reverse("updates")).content.decode()
    assert html.count('data-testid="update-row"') == 3
    assert "1.20 → <strong>1.50</strong>" in html
    assert "Held back" not in html and "Gone" in html


def test_the_api_page_documents_every_action_at_our_url(customer_client):
    response = customer_client.get(reverse("api_docs"))
    html = response.content.decode()
    assert response.context["api_url"] == "http://testserver/api/v2"
    for action in ("services", "add", "status", "refill", "refill_status", "cancel", "balance"):
        assert f"<td><code>action</code></td><td>{action}</td>" in html
    for parameter in ("comments", "usernames", "answer_number", "groups", "runs (optional)", "expiry (optional)"):
        assert f"<code>{parameter}</code>" in html
    assert "import requests" in html and "curl_init" in html


def test_the_api_page_has_a_table_for_every_order_type_from_the_declaration(customer_client):
    from orders.order_types import ORDER_TYPES, PRODUCT

    html = customer_client.get(reverse("api_docs")).content.decode()
    for kind in ORDER_TYPES.values():
        if kind is not PRODUCT:
            assert kind.name in html, kind.name
    for action in ("products", "add_product_order", "product_order_status"):
        assert f"<td><code>action</code></td><td>{action}</td>" in html
    assert "<code>posts (optional)</code>" in html and "drip-feed run by the panel" in html
