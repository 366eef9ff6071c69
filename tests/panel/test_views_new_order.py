import re
from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import Order
from tests.orders.factories import CategoryFactory, ServiceFactory
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db


def field_shown(html: str, name: str) -> bool:
    match = re.search(rf'<div class="field[^"]*" id="field-{name}"[^>]*>', html)
    assert match, name
    return " hidden" not in match.group(0)


def error_beside(html: str, name: str) -> str:
    match = re.search(rf'<p class="field-error" id="error-{name}"[^>]*>(.*?)</p>', html, re.S)
    assert match, name
    return match.group(1).strip()


def test_the_form_shows_the_fields_the_chosen_service_needs(customer_client):
    default = ServiceFactory()
    comments = ServiceFactory(provider_service__type="Custom Comments", category=CategoryFactory(name="Comments"))
    html = customer_client.get(reverse("new_order"), {"service": default.pk}).content.decode()
    assert field_shown(html, "link") and field_shown(html, "quantity") and field_shown(html, "dripfeed")
    assert not field_shown(html, "comments")
    assert f'<option value="{default.pk}" selected>' in html

    html = customer_client.get(reverse("new_order"), {"service": comments.pk}).content.decode()
    assert field_shown(html, "link") and field_shown(html, "comments")
    assert not field_shown(html, "quantity") and not field_shown(html, "dripfeed")
    assert f'<option value="{comments.category_id}" selected>' in html


def test_without_a_choice_the_first_service_of_a_category_is_shown(customer_client):
    later = ServiceFactory(category=CategoryFactory(name="Zebra"))
    first = ServiceFactory(category=CategoryFactory(name="Alpha"))
    assert customer_client.get(reverse("new_order")).context["selected"] == first
    assert customer_client.get(reverse("new_order"), {"category": later.category_id}).context["selected"] == later


def test_the_form_shows_details_balance_and_the_data_the_script_prices_with(customer_client):
    service = ServiceFactory(
        rate=Decimal("1.5"), min=10, max=500, refill=False, description="Fast\nstart", dripfeed=True
    )
    response = customer_client.get(reverse("new_order"), {"service": service.pk})
    html = response.content.decode()
    assert '<span id="service-rate" data-testid="service-rate">1.50</span>' in html
    assert '<dd id="service-min" data-testid="service-min">10</dd>' in html
    assert '<dd id="service-refill" data-testid="service-refill">No</dd>' in html
    assert "Fast\nstart" in html
    assert '<span id="balance" data-testid="balance">10.00</span>' in html
    assert field_shown(html, "dripfeed") and not field_shown(html, "runs")
    [data] = response.context["services_data"]
    assert data["rate"] == "1.50" and data["price_by"] == "quantity" and data["dripfeed"] is True
    assert "cost" not in data


def test_upstream_text_in_the_form_and_its_script_data_is_escaped(customer_client):
    ServiceFactory(name="<script>x</script>", description="</script><b>", category=CategoryFactory(name="<i>c</i>"))
    html = customer_client.get(reverse("new_order")).content.decode()
    assert "<script>x</script>" not in html and "</script><b>" not in html and "<i>c</i>" not in html
    assert "\\u003Cscript\\u003Ex\\u003C/script\\u003E" in html


def test_a_valid_order_is_placed_and_the_customer_sent_to_the_orders_page(customer_client, customer):
    service = ServiceFactory(rate=Decimal("1.2"))
    response = customer_client.post(
        reverse("new_order"),
        {"category": service.category_id, "service": service.pk, "link": "https://x.test/p/1", "quantity": "1000"},
        follow=True,
    )
    order = Order.objects.get()
    customer.refresh_from_db()
    assert response.redirect_chain == [(reverse("orders"), 302)]
    assert (order.user, order.link, order.quantity, order.charge) == (
        customer,
        "https://x.test/p/1",
        1000,
        Decimal("1.2"),
    )
    assert customer.balance == Decimal("8.8")
    assert f"Order {order.pk} received: 1.20 USD charged." in response.content.decode()


def test_a_missing_field_is_reported_beside_it(customer_client):
    service = ServiceFactory()
    response = customer_client.post(reverse("new_order"), {"service": service.pk, "quantity": "100"})
    html = response.content.decode()
    assert response.status_code == 200
    assert error_beside(html, "link") == "This field is required."
    assert 'value="100"' in html
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("10", "The minimum for this service is 50."),
        ("20000", "The maximum for this service is 10000."),
        ("ten", "Quantity must be a whole number."),
    ],
)
def test_a_bad_quantity_is_reported_beside_the_quantity(customer_client, quantity, message):
    service = ServiceFactory(min=50, max=10000)
    data = {"service": service.pk, "link": "https://x.test/1", "quantity": quantity}
    html = customer_client.post(reverse("new_order"), data).content.decode()
    assert error_beside(html, "quantity") == message


def test_a_comment_list_below_the_minimum_is_reported_beside_the_comments(customer_client):
    service = ServiceFactory(provider_service__type="Custom Comments", min=3, max=100)
    data = {"service": service.pk, "link": "https://x.test/1", "comments": "nice\ngreat"}
    html = customer_client.post(reverse("new_order"), data).content.decode()
    assert error_beside(html, "comments") == "The minimum for this service is 3."


def test_a_comments_order_is_charged_per_line(customer_client):
    service = ServiceFactory(provider_service__type="Custom Comments", rate=Decimal("8"), min=1, max=100)
    data = {"service": service.pk, "link": "https://x.test/1", "comments": "nice\n\ngreat\n", "quantity": "999"}
    customer_client.post(reverse("new_order"), data)
    order = Order.objects.get()
    assert (order.quantity, order.charge, order.params) == (2, Decimal("0.016"), {"comments": "nice\ngreat"})


def test_short_funds_are_reported_above_the_form(customer_client):
    customer_client.force_login(UserFactory(balance="0.5"))
    service = ServiceFactory(rate=Decimal("1"))
    data = {"service": service.pk, "link": "https://x.test/1", "quantity": "1000"}
    html = customer_client.post(reverse("new_order"), data).content.decode()
    assert 'id="form-errors"' in html and "Not enough funds on balance" in html
    assert Order.objects.count() == 0


def test_a_missing_or_unknown_service_is_reported_beside_the_service(customer_client):
    ServiceFactory()
    html = customer_client.post(reverse("new_order"), {"link": "https://x.test/1"}).content.decode()
    assert error_beside(html, "service") == "Choose a service."
    gone = ServiceFactory(is_enabled=False)
    html = customer_client.post(reverse("new_order"), {"service": gone.pk, "link": "x"}).content.decode()
    assert "not available any more" in error_beside(html, "service")


def test_drip_feed_runs_are_sent_only_when_drip_feed_is_ticked(customer_client):
    service = ServiceFactory(dripfeed=True, rate=Decimal("1"))
    base = {"service": service.pk, "link": "https://x.test/1", "quantity": "100", "runs": "3", "interval": "10"}
    customer_client.post(reverse("new_order"), base)
    customer_client.post(reverse("new_order"), {**base, "link": "https://x.test/2", "dripfeed": "on"})
    plain, dripped = Order.objects.order_by("pk")
    assert (plain.runs, plain.charge) == (None, Decimal("0.1"))
    assert (dripped.runs, dripped.interval, dripped.charge) == (3, 10, Decimal("0.3"))


def test_a_drip_feed_error_is_shown_beside_runs(customer_client):
    service = ServiceFactory(dripfeed=True)
    data = {"service": service.pk, "link": "https://x.test/1", "quantity": "100", "runs": "1", "interval": "10"}
    html = customer_client.post(reverse("new_order"), {**data, "dripfeed": "on"}).content.decode()
    assert error_beside(html, "runs") == "Runs must be between 2 and 1000."
    assert field_shown(html, "runs")


def test_a_subscription_limit_is_reported_beside_max(customer_client):
    service = ServiceFactory(provider_service__type="Subscriptions", min=10, max=100)
    data = {"service": service.pk, "username": "someone", "min": "10", "max": "500", "posts": "2", "delay": "0"}
    html = customer_client.post(reverse("new_order"), data).content.decode()
    assert error_beside(html, "max") == "The maximum for this service is 100."


def test_the_page_says_so_when_nothing_is_on_sale(customer_client):
    html = customer_client.get(reverse("new_order")).content.decode()
    assert 'id="no-services"' in html and 'id="new-order-form"' not in html


def test_a_huge_number_of_posts_is_refused_beside_posts_on_the_website_and_in_the_api(customer_client, customer):
    from panel.services import api_key_rotate

    service = ServiceFactory(provider_service__type="Subscriptions", min=10, max=100)
    data = {
        "service": service.pk,
        "username": "someone",
        "min": "10",
        "max": "50",
        "posts": "999999999999",
        "delay": "0",
    }
    html = customer_client.post(reverse("new_order"), data).content.decode()
    assert error_beside(html, "posts") == "New posts must be between 1 and 100000."
    key = api_key_rotate(user=customer)
    answer = customer_client.post("/api/v2", {"key": key, "action": "add", **data}).json()
    assert answer == {"error": "posts must be between 1 and 100000."}
    assert Order.objects.count() == 0


def test_the_form_is_made_from_the_field_declaration(customer_client):
    service = ServiceFactory(provider_service__type="Subscriptions", min=10, max=100)
    html = customer_client.get(reverse("new_order"), {"service": service.pk}).content.decode()
    assert 'name="posts" min="1" max="100000"' in html
    assert '<option value="600">600 minutes</option>' in html  # the script keeps the service dialect's values
    [data] = customer_client.get(reverse("new_order"), {"service": service.pk}).context["services_data"]
    assert data["choices"] == {
        "delay": [0, 5, 10, 15, 30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 360, 420, 480, 540, 600]
    }
    assert data["fields"] == ["username", "min", "max", "posts", "old_posts", "delay", "expiry"]
    assert data["required"] == ["username", "min", "max", "delay"]
