"""Prices per customer: a discount on every service, custom rates per service, one rule deciding a customer's price."""

from decimal import Decimal
from io import StringIO

import pytest
import responses
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.urls import reverse

from billing.models import LedgerEntry
from orders.customer_prices import CustomerDiscount, CustomerRate
from orders.models import Order, Service, ServiceChange
from orders.pricing import PriceList, customer_rate, discounted_rate, price_list_for
from orders.services.catalog import services_sync
from orders.services.customer_prices import (
    PriceInvalid,
    customer_discount_set,
    customer_prices_clear,
    customer_rate_clear,
    customer_rate_set,
)
from orders.services.ordering import order_create
from orders.services.transitions import order_transition
from panel.services import api_key_rotate
from tests.orders.factories import ServiceFactory
from tests.panel.factories import UserFactory
from tests.providers.factories import ProviderFactory

pytestmark = pytest.mark.django_db


# The one rule.


def test_a_discount_takes_its_percent_off_the_catalog_price_rounded_up_once():
    # 1.23457 × 0.95 = 1.1728415: up to 1.17285, so rounding never adds to the operator's gift.
    assert discounted_rate(price=Decimal("1.23457"), percent=Decimal("5")) == Decimal("1.17285")
    assert discounted_rate(price=Decimal("1.20"), percent=Decimal("5")) == Decimal("1.14")
    assert discounted_rate(price=Decimal("0.00001"), percent=Decimal("99.99")) == Decimal("0.00001")
    assert discounted_rate(price=Decimal("1.20"), percent=Decimal("100")) == Decimal("0")
    assert discounted_rate(price=Decimal("1.20"), percent=Decimal("0")) == Decimal("1.20")


def test_a_custom_rate_wins_over_the_discount_and_the_catalog_price_and_its_override():
    service = ServiceFactory(rate=Decimal("1.20"), rate_override=Decimal("1.50"))
    other = ServiceFactory(rate=Decimal("2.00"))
    prices = PriceList(discount_percent=Decimal("10"), custom_rates={service.pk: Decimal("0.70")})
    assert prices.rate(service) == Decimal("0.70")
    assert prices.rate(other) == Decimal("1.80")
    assert PriceList().rate(service) == Decimal("1.50")  # the override is the catalog price


def test_a_customer_without_prices_of_their_own_and_a_visitor_pay_the_catalog_price():
    service = ServiceFactory(rate=Decimal("1.20"))
    assert customer_rate(user=UserFactory(), service=service) == Decimal("1.20")
    assert price_list_for(user=None).rate(service) == Decimal("1.20")


def test_a_customers_price_list_is_read_in_two_queries_whatever_the_number_of_services(
    django_assert_num_queries,
):
    customer = UserFactory()
    services = ServiceFactory.create_batch(5, rate=Decimal("1.20"))
    customer_discount_set(user_id=customer.pk, percent=Decimal("5"))
    for service in services[:3]:
        customer_rate_set(user_id=customer.pk, service_id=service.pk, rate=Decimal("0.99"))
    with django_assert_num_queries(2):
        prices = price_list_for(user=customer)
    assert [prices.rate(s) for s in services] == [Decimal("0.99")] * 3 + [Decimal("1.14")] * 2


def test_prices_are_the_customers_own():
    alice, bob = UserFactory(), UserFactory()
    service = ServiceFactory(rate=Decimal("1.20"))
    customer_discount_set(user_id=alice.pk, percent=Decimal("50"))
    customer_rate_set(user_id=alice.pk, service_id=service.pk, rate=Decimal("0.10"))
    assert customer_rate(user=alice, service=service) == Decimal("0.10")
    assert customer_rate(user=bob, service=service) == Decimal("1.20")


# Setting them.


def test_a_zero_discount_removes_it_and_a_new_one_replaces_it():
    customer = UserFactory()
    customer_discount_set(user_id=customer.pk, percent=Decimal("5"), note="reseller")
    customer_discount_set(user_id=customer.pk, percent=Decimal("7.5"))
    discount = CustomerDiscount.objects.get()
    assert (discount.percent, discount.note) == (Decimal("7.5"), "reseller")
    assert customer_discount_set(user_id=customer.pk, percent=Decimal("0")) is None
    assert not CustomerDiscount.objects.exists()


@pytest.mark.parametrize(
    ("percent", "message"),
    [
        ("-1", "A discount is a percent from 0 to 100, not -1."),
        ("100.01", "A discount is a percent from 0 to 100, not 100.01."),
        ("2.125", "A discount has at most two decimals (such as 2.5 or 12.75), not 2.125."),
    ],
)
def test_a_discount_outside_0_to_100_or_finer_than_a_hundredth_is_refused(percent, message):
    customer = UserFactory()
    with pytest.raises(PriceInvalid) as refused:
        customer_discount_set(user_id=customer.pk, percent=Decimal(percent))
    assert refused.value.message == message
    assert not CustomerDiscount.objects.exists()


def test_a_custom_rate_for_a_missing_service_or_customer_or_below_zero_is_refused():
    customer, service = UserFactory(), ServiceFactory()
    cases = [
        ({"user_id": customer.pk, "service_id": 999999, "rate": Decimal("1")}, "There is no service 999999."),
        ({"user_id": 999999, "service_id": service.pk, "rate": Decimal("1")}, "There is no customer 999999."),
        ({"user_id": customer.pk, "service_id": service.pk, "rate": Decimal("-0.01")}, "not -0.01."),
    ]
    for kwargs, message in cases:
        with pytest.raises(PriceInvalid) as refused:
            customer_rate_set(**kwargs)
        assert refused.value.message.endswith(message)
    assert not CustomerRate.objects.exists()


def test_clearing_one_rate_or_everything():
    customer, first, second = UserFactory(), ServiceFactory(), ServiceFactory()
    customer_discount_set(user_id=customer.pk, percent=Decimal("5"))
    customer_rate_set(user_id=customer.pk, service_id=first.pk, rate=Decimal("1"))
    customer_rate_set(user_id=customer.pk, service_id=second.pk, rate=Decimal("1"))
    assert customer_rate_clear(user_id=customer.pk, service_id=first.pk) is True
    assert customer_rate_clear(user_id=customer.pk, service_id=first.pk) is False
    assert customer_prices_clear(user_id=customer.pk) == (True, 1)
    assert not CustomerRate.objects.exists() and not CustomerDiscount.objects.exists()


# A sync and the operator's view of it.

URL = "https://upstream.test/api/v2"


def _sync(provider, rate: str) -> Service:
    answer = [{"service": 1, "name": "Followers", "type": "Default", "category": "IG", "rate": rate, "min": 10}]
    with responses.RequestsMock() as mock:
        mock.post(URL, json=[{**answer[0], "max": 1000}])
        services_sync(provider_id=provider.pk)
    return Service.objects.get(provider=provider)


def test_a_sync_never_reprices_a_custom_rate_and_the_dashboard_warns_when_it_falls_below_cost(client):
    provider = ProviderFactory(api_url=URL, markup_percent=Decimal("50"))
    service = _sync(provider, "1.00")
    customer = UserFactory(username="reseller")
    customer_discount_set(user_id=customer.pk, percent=Decimal("10"))
    customer_rate_set(user_id=customer.pk, service_id=service.pk, rate=Decimal("1.20"))
    operator = UserFactory(is_staff=True)
    operator.user_permissions.set(Permission.objects.filter(codename__in=["view_dashboard", "view_customerrate"]))
    client.force_login(operator)
    assert 'id="staff-below-cost"' not in client.get(reverse("staff_dashboard")).text

    service = _sync(provider, "1.40")  # the provider raised its price: our cost is now 1.40, the catalog 2.10

    assert (service.cost, service.rate) == (Decimal("1.4"), Decimal("2.1"))
    assert CustomerRate.objects.get().rate == Decimal("1.20")
    assert customer_rate(user=customer, service=service) == Decimal("1.20")
    page = client.get(reverse("staff_dashboard")).text
    assert 'id="staff-below-cost"' in page and "Custom rates below cost (1)" in page
    assert page.count('data-testid="below-cost-row"') == 1 and "reseller" in page
    below = client.get(reverse("admin:orders_customerrate_changelist") + "?below_cost=yes").text
    assert 'data-testid="below-cost"' in below and "reseller" in below
    above = client.get(reverse("admin:orders_customerrate_changelist") + "?below_cost=no").text
    assert "reseller" not in above


def test_the_below_cost_warning_shows_only_to_staff_who_may_view_custom_rates(client):
    service = ServiceFactory(cost=Decimal("0.90"))
    customer_rate_set(user_id=UserFactory().pk, service_id=service.pk, rate=Decimal("0.50"))
    operator = UserFactory(is_staff=True)
    operator.user_permissions.set(Permission.objects.filter(codename="view_dashboard"))
    client.force_login(operator)
    assert 'id="staff-below-cost"' not in client.get(reverse("staff_dashboard")).text


# The admin.


def _staff(client, *codenames):
    operator = UserFactory(is_staff=True)
    operator.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["orders", "panel"]).filter(codename__in=codenames)
    )
    client.force_login(operator)
    return operator


def test_an_operator_with_the_permission_sets_a_discount_and_a_custom_rate_in_the_admin(client):
    customer, service = UserFactory(), ServiceFactory()
    _staff(client, "add_customerdiscount", "add_customerrate", "view_user", "view_service")
    response = client.post(
        reverse("admin:orders_customerdiscount_add"), {"user": customer.pk, "percent": "5", "note": "API reseller"}
    )
    assert response.status_code == 302
    response = client.post(
        reverse("admin:orders_customerrate_add"), {"user": customer.pk, "service": service.pk, "rate": "0.95"}
    )
    assert response.status_code == 302
    assert CustomerDiscount.objects.get().percent == Decimal("5")
    assert CustomerRate.objects.get().rate == Decimal("0.95")


def test_the_admin_refuses_a_discount_over_100_and_a_negative_rate(client):
    customer, service = UserFactory(), ServiceFactory()
    _staff(client, "add_customerdiscount", "add_customerrate")
    page = client.post(reverse("admin:orders_customerdiscount_add"), {"user": customer.pk, "percent": "150"})
    assert page.status_code == 200 and "Ensure this value is less than or equal to 100." in page.text
    page = client.post(
        reverse("admin:orders_customerrate_add"), {"user": customer.pk, "service": service.pk, "rate": "-1"}
    )
    assert page.status_code == 200 and "Ensure this value is greater than or equal to 0." in page.text
    assert not CustomerDiscount.objects.exists() and not CustomerRate.objects.exists()


def test_staff_without_the_permissions_cannot_see_or_set_customer_prices(client):
    customer, service = UserFactory(), ServiceFactory()
    _staff(client, "view_user", "view_service", "change_service")
    for name in ("orders_customerdiscount", "orders_customerrate"):
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 403
        assert client.get(reverse(f"admin:{name}_add")).status_code == 403
    client.post(reverse("admin:orders_customerdiscount_add"), {"user": customer.pk, "percent": "5"})
    client.post(reverse("admin:orders_customerrate_add"), {"user": customer.pk, "service": service.pk, "rate": "0"})
    assert not CustomerDiscount.objects.exists() and not CustomerRate.objects.exists()


def test_staff_who_may_only_view_custom_rates_cannot_change_them(client):
    customer, service = UserFactory(), ServiceFactory()
    custom = customer_rate_set(user_id=customer.pk, service_id=service.pk, rate=Decimal("1"))
    _staff(client, "view_customerrate")
    url = reverse("admin:orders_customerrate_change", args=[custom.pk])
    assert client.get(url).status_code == 200
    client.post(url, {"user": customer.pk, "service": service.pk, "rate": "0"})
    assert (
        client.post(reverse("admin:orders_customerrate_delete", args=[custom.pk]), {"post": "yes"}).status_code == 403
    )
    assert CustomerRate.objects.get().rate == Decimal("1")


# The command.


def _set_price(*args) -> str:
    out = StringIO()
    call_command("set_price", *args, stdout=out)
    return out.getvalue()


def test_set_price_gives_a_discount_then_a_custom_rate_and_shows_them():
    customer = UserFactory(username="reseller")
    service = ServiceFactory(name="IG likes", rate=Decimal("1.20"), cost=Decimal("0.90"))
    assert _set_price("reseller", "--discount", "5") == "reseller: 5.00% off every catalog price\n"
    out = _set_price("reseller", "--service", str(service.pk), "--rate", "0.80", "--note", "deal 42")
    assert out == (
        "reseller: 5.00% off every catalog price\n"
        f"reseller: service {service.pk} (IG likes) at 0.80000 (catalog 1.20000, our cost 0.90000) - BELOW COST\n"
    )
    assert CustomerRate.objects.get().note == "deal 42"
    assert customer_rate(user=customer, service=service) == Decimal("0.8")
    assert _set_price("reseller") == out


def test_set_price_clears_one_rate_or_everything():
    UserFactory(username="reseller")
    first, second = ServiceFactory(), ServiceFactory()
    _set_price("reseller", "--discount", "5", "--service", str(first.pk), "--rate", "1")
    _set_price("reseller", "--service", str(second.pk), "--rate", "1")
    _set_price("reseller", "--service", str(first.pk), "--clear")
    assert list(CustomerRate.objects.values_list("service_id", flat=True)) == [second.pk]
    out = _set_price("reseller", "--clear")
    assert out.splitlines() == [
        "reseller: discount and 1 custom rates removed; catalog prices from now on.",
        "reseller: no discount",
    ]
    assert not CustomerRate.objects.exists() and not CustomerDiscount.objects.exists()
    assert _set_price("reseller", "--service", str(first.pk), "--clear").startswith(
        f"reseller had no custom rate for service {first.pk}."
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody", "--discount", "5"], "No customer named 'nobody'."),
        (["reseller", "--discount", "five"], "--discount must be an amount such as 25.50, not 'five'."),
        (["reseller", "--discount", "-5"], "--discount cannot be negative."),
        (["reseller", "--discount", "101"], "--discount is a percent from 0 to 100, not '101'."),
        (["reseller", "--discount", "2.125"], "--discount has at most two decimals (such as 2.5), not '2.125'."),
        (["reseller", "--rate", "0.9"], "--rate needs --service ID: which service the rate is for."),
        (["reseller", "--service", "1"], "--service needs --rate AMOUNT (set it) or --clear (remove it)."),
        (["reseller", "--service", "x", "--rate", "1"], "--service must be a service id (a whole number), not 'x'."),
        (["reseller", "--service", "999999", "--rate", "1"], "There is no service 999999."),
        (["reseller", "--service", "1", "--rate", "1", "--clear"], "Give either --rate or --clear, not both."),
        (["reseller", "--service", "1", "--rate", "-1"], "--rate cannot be negative."),
        (["reseller", "--service", "1", "--rate", "NaN"], "--rate must be an amount such as 25.50, not 'NaN'."),
        (
            ["reseller", "--clear", "--discount", "5"],
            "--clear without --service removes every price of the customer; drop --discount.",
        ),
    ],
)
def test_set_price_refuses_bad_input_with_a_clear_error_and_changes_nothing(args, message):
    UserFactory(username="reseller")
    with pytest.raises(CommandError) as refused:
        _set_price(*args)
    assert str(refused.value) == message
    assert not CustomerRate.objects.exists() and not CustomerDiscount.objects.exists()


# Everywhere a customer meets a price: the website, /api/v2, mass orders and the charge.


@pytest.fixture
def reseller():
    """A customer with 10% off everything and their own rate of 0.90 for one service; both services cost 1.20."""
    customer = UserFactory(username="reseller", balance="100")
    discounted = ServiceFactory(name="Discounted", rate=Decimal("1.20"), cost=Decimal("0.50"), min=10)
    custom = ServiceFactory(name="Custom", rate=Decimal("1.20"), cost=Decimal("0.50"), min=10)
    customer_discount_set(user_id=customer.pk, percent=Decimal("10"))
    customer_rate_set(user_id=customer.pk, service_id=custom.pk, rate=Decimal("0.90"))
    customer.key = api_key_rotate(user=customer)
    return {"customer": customer, "discounted": discounted, "custom": custom}


def _balance(customer) -> Decimal:
    customer.refresh_from_db()
    return customer.balance


def test_the_services_page_shows_each_customer_their_own_rates(client, reseller):
    client.force_login(reseller["customer"])
    page = client.get(reverse("services"))
    shown = {service.pk: service.price_shown for service in page.context["services"]}
    assert shown == {reseller["discounted"].pk: "1.08", reseller["custom"].pk: "0.90"}
    client.force_login(UserFactory())
    shown = {service.pk: service.price_shown for service in client.get(reverse("services")).context["services"]}
    assert set(shown.values()) == {"1.20"}


def test_the_new_order_form_prices_with_the_customers_rate_and_charges_it(client, reseller):
    customer, custom = reseller["customer"], reseller["custom"]
    client.force_login(customer)
    page = client.get(reverse("new_order"), {"service": custom.pk})
    assert page.context["selected_rate"] == "0.90"
    assert {data["id"]: data["rate"] for data in page.context["services_data"]} == {
        reseller["discounted"].pk: "1.08",
        custom.pk: "0.90",
    }
    assert '<span id="service-rate" data-testid="service-rate">0.90</span>' in page.text
    client.post(
        reverse("new_order"),
        {"category": custom.category_id, "service": custom.pk, "link": "https://x.test/1", "quantity": "1500"},
    )
    order = Order.objects.get()
    assert (order.rate, order.charge, order.cost) == (Decimal("0.9"), Decimal("1.35"), Decimal("0.75"))
    assert _balance(customer) == Decimal("98.65")


def test_the_api_lists_the_customers_rates_and_add_charges_them_exactly(client, reseller):
    customer, discounted, custom = reseller["customer"], reseller["discounted"], reseller["custom"]
    services = client.post("/api/v2", {"key": customer.key, "action": "services"}).json()
    assert {row["service"]: row["rate"] for row in services} == {discounted.pk: "1.08", custom.pk: "0.90"}

    first = client.post(
        "/api/v2",
        {"key": customer.key, "action": "add", "service": discounted.pk, "link": "https://x.test/a", "quantity": 1234},
    ).json()
    second = client.post(
        "/api/v2",
        {"key": customer.key, "action": "add", "service": custom.pk, "link": "https://x.test/b", "quantity": 777},
    ).json()

    # 1.08 × 1234 / 1000 = 1.33272; 0.90 × 777 / 1000 = 0.6993.
    assert Order.objects.get(pk=first["order"]).charge == Decimal("1.33272")
    assert Order.objects.get(pk=second["order"]).charge == Decimal("0.6993")
    assert _balance(customer) == Decimal("100") - Decimal("1.33272") - Decimal("0.6993")
    status = client.post("/api/v2", {"key": customer.key, "action": "status", "order": second["order"]}).json()
    assert status["charge"] == "0.6993"


def test_a_mass_order_charges_each_line_at_the_customers_rate(client, reseller):
    customer, discounted, custom = reseller["customer"], reseller["discounted"], reseller["custom"]
    client.force_login(customer)
    lines = f"{discounted.pk}|https://x.test/a|1000\n{custom.pk}|https://x.test/b|2000"
    client.post(reverse("mass_order"), {"orders": lines})
    charges = dict(Order.objects.values_list("service_id", "charge"))
    assert charges == {discounted.pk: Decimal("1.08"), custom.pk: Decimal("1.8")}
    assert _balance(customer) == Decimal("97.12")


def test_a_price_change_never_touches_an_order_already_taken(client, reseller):
    customer, discounted, custom = reseller["customer"], reseller["discounted"], reseller["custom"]
    taken = [
        order_create(
            user=customer, service_id=service.pk, data={"link": f"https://x.test/{service.pk}", "quantity": 1000}
        )
        for service in (discounted, custom)
    ]
    before = list(Order.objects.order_by("pk").values_list("rate", "charge", "cost", "refunded"))
    ledger = list(LedgerEntry.objects.order_by("pk").values_list("amount", "balance_after"))

    customer_discount_set(user_id=customer.pk, percent=Decimal("50"))
    customer_rate_set(user_id=customer.pk, service_id=custom.pk, rate=Decimal("0.10"))
    Service.objects.filter(pk=discounted.pk).update(rate=Decimal("9.99"), rate_override=Decimal("5"))
    customer_prices_clear(user_id=customer.pk)

    assert list(Order.objects.order_by("pk").values_list("rate", "charge", "cost", "refunded")) == before
    assert before == [
        (Decimal("1.08"), Decimal("1.08"), Decimal("0.5"), Decimal("0")),
        (Decimal("0.9"), Decimal("0.9"), Decimal("0.5"), Decimal("0")),
    ]
    assert list(LedgerEntry.objects.order_by("pk").values_list("amount", "balance_after")) == ledger
    # A cancel refunds what was charged, not today's price.
    order_transition(
        order_id=taken[1].pk, from_status=Order.Status.AWAITING, status=Order.Status.CANCELED, actor="test"
    )
    assert _balance(customer) == Decimal("100") - Decimal("1.08")


# Every order type's rule multiplies the customer's rate, never the catalog's.


def test_a_package_costs_the_customers_rate_times_its_size_everywhere_it_is_shown(client, reseller):
    customer = reseller["customer"]
    package = ServiceFactory(provider_service__type="Package", min=250, max=250, rate=Decimal("2"))
    # 10% off: 1.80 per 1,000, so the package of 250 is 0.45 (the catalog's is 0.50).
    client.force_login(customer)
    services = {s.pk: s for s in client.get(reverse("services")).context["services"]}
    assert services[package.pk].package_price_shown == "0.45"
    data = {row["id"]: row for row in client.get(reverse("new_order")).context["services_data"]}
    assert (data[package.pk]["rate"], data[package.pk]["package_price"]) == ("1.80", "0.45")
    order = order_create(user=customer, service_id=package.pk, data={"link": "https://x.test/p"})
    assert (order.quantity, order.rate, order.charge) == (250, Decimal("1.8"), Decimal("0.45"))
    customer_rate_set(user_id=customer.pk, service_id=package.pk, rate=Decimal("1.00"))
    assert order_create(user=customer, service_id=package.pk, data={"link": "https://x.test/q"}).charge == Decimal(
        "0.25"
    )


@pytest.mark.parametrize("by_provider", [True, False], ids=["provider-drip-feed", "panel-drip-feed"])
def test_a_drip_feed_charges_every_run_at_the_customers_rate(reseller, by_provider):
    customer = reseller["customer"]
    service = ServiceFactory(dripfeed=by_provider, rate=Decimal("2"), min=10)
    customer_rate_set(user_id=customer.pk, service_id=service.pk, rate=Decimal("1.50"))
    data = {"link": "https://x.test/d", "quantity": 100, "runs": 3, "interval": 30}
    order = order_create(user=customer, service_id=service.pk, data=data)
    # 1.50 × 100 × 3 / 1000, not 2 × 100 × 3 / 1000 = 0.6.
    assert (order.rate, order.charge, order.dripfeed_by_panel) == (Decimal("1.5"), Decimal("0.45"), not by_provider)
    assert _balance(customer) == Decimal("99.55")


def test_a_subscription_and_its_hold_are_charged_at_the_customers_rate(reseller):
    customer = reseller["customer"]
    service = ServiceFactory(provider_service__type="Subscriptions", min=10, max=500, rate=Decimal("1"))
    base = {"username": "someone", "min": "50", "max": "100", "delay": "30"}
    limited = order_create(user=customer, service_id=service.pk, data=base | {"posts": "4"})
    unlimited = order_create(user=customer, service_id=service.pk, data=base)
    # 10% off 1.00: 0.90 × 400 / 1000, and the hold of 10 posts of 100: 0.90 × 1000 / 1000.
    assert (limited.charge, unlimited.charge) == (Decimal("0.36"), Decimal("0.9"))
    assert unlimited.cost == Decimal("0.9")  # what the hold settles against: our cost, not the customer's price


def test_products_are_listed_and_charged_at_the_customers_rate_per_unit(client, reseller):
    customer = reseller["customer"]
    product = ServiceFactory(kind=Service.Kind.PRODUCT, provider_service__type="Product", rate=Decimal("2.50"), min=1)
    customer_rate_set(user_id=customer.pk, service_id=product.pk, rate=Decimal("2.00"))
    listed = client.post("/api/v2", {"key": customer.key, "action": "products"}).json()
    assert [(row["product"], row["rate"]) for row in listed] == [(product.pk, "2.00")]
    answer = client.post(
        "/api/v2", {"key": customer.key, "action": "add_product_order", "product": product.pk, "quantity": 3}
    ).json()
    assert Order.objects.get(pk=answer["order"]).charge == Decimal("6")
    client.force_login(customer)
    assert [p.price_shown for p in client.get(reverse("products")).context["products"]] == ["2.00"]


def test_the_updates_page_tells_a_rate_change_in_the_customers_own_prices(client, reseller):
    customer, discounted, custom = reseller["customer"], reseller["discounted"], reseller["custom"]
    for service in (discounted, custom):
        ServiceChange.objects.create(service=service, kind="rate", old_value="1.20000", new_value="1.50000")
    client.force_login(customer)
    rows = {row.service_id: row for row in client.get(reverse("updates")).context["change_rows"]}
    # 10% off: 1.08 → 1.35; the custom rate is not repriced by the catalog's change.
    assert (rows[discounted.pk].old_shown, rows[discounted.pk].new_shown) == ("1.08", "1.35")
    assert rows[custom.pk].own_rate == "0.90"
    page = client.get(reverse("updates")).text
    assert 'data-testid="with-discount">(with your 10% discount)</small>' in page
    assert "your own rate stays 0.90" in page
    client.force_login(UserFactory())
    rows = {row.service_id: row for row in client.get(reverse("updates")).context["change_rows"]}
    assert (rows[discounted.pk].new_shown, rows[custom.pk].new_shown, rows[custom.pk].own_rate) == ("1.50", "1.50", "")


def test_a_discount_deeper_than_a_services_margin_is_flagged_on_the_dashboard_in_the_admin_and_by_set_price(client):
    thin = ServiceFactory(rate=Decimal("1.00"), cost=Decimal("0.90"))  # a 10% margin
    ServiceFactory(rate=Decimal("2.00"), cost=Decimal("0.50"))  # 75%
    deep, shallow, covered = (
        UserFactory(username="deep"),
        UserFactory(username="shallow"),
        UserFactory(username="covered"),
    )
    customer_discount_set(user_id=deep.pk, percent=Decimal("20"))
    customer_discount_set(user_id=shallow.pk, percent=Decimal("10"))  # 0.90: at cost, not below
    customer_discount_set(user_id=covered.pk, percent=Decimal("20"))
    customer_rate_set(user_id=covered.pk, service_id=thin.pk, rate=Decimal("0.95"))  # their own rate covers it
    operator = UserFactory(is_staff=True)
    operator.user_permissions.set(
        Permission.objects.filter(codename__in=["view_dashboard", "view_customerdiscount", "view_customerrate"])
    )
    client.force_login(operator)

    page = client.get(reverse("staff_dashboard")).text
    assert page.count('data-testid="discount-below-cost-row"') == 1 and ">deep</a>" in page
    assert 'id="staff-below-cost"' not in page  # no custom rate is below cost
    listing = client.get(reverse("admin:orders_customerdiscount_changelist")).text
    assert listing.count('data-testid="below-cost">1</strong>') == 1
    assert _set_price("deep").splitlines()[1] == "deep: at this discount 1 services on sale are BELOW COST"
    assert len(_set_price("covered").splitlines()) == 2  # the discount line and the custom rate, no warning
