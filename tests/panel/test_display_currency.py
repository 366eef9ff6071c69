"""Display currency: a customer may also read prices and balances in another currency, always marked approximate;
money itself (the balance, the ledger, orders, /api/v2) stays in PANEL_CURRENCY."""

from decimal import Decimal

import pytest
import responses
from django.contrib.auth.models import Permission
from django.template import Context, Template
from django.urls import reverse

from billing.models import LedgerEntry
from core.money import money_display_approx
from panel.currency import CurrencyInvalid, display_currency_choose, display_rates_fetch
from panel.models import DisplayCurrency
from panel.tasks import display_rates_task
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db

RATES_URL = "https://rates.test/latest/{currency}"


@pytest.fixture
def eur():
    return DisplayCurrency.objects.create(code="EUR", rate=Decimal("0.92"))


# The conversion and its marker.


@pytest.mark.parametrize(
    ("amount", "rate", "shown"),
    [
        ("10", "0.92", "≈ 9.20 EUR"),
        ("10.00999", "0.92", "≈ 9.20 EUR"),  # 9.2091908: cut like a balance, never read as more
        ("1234.5", "150.25", "≈ 185,483.62 EUR"),
        ("0.001", "0.92", "≈ 0.00092 EUR"),  # not zero: shown exactly rather than as 0.00
        ("0", "0.92", "≈ 0.00 EUR"),
    ],
)
def test_a_converted_amount_follows_the_balance_rule_and_says_it_is_approximate(amount, rate, shown):
    assert money_display_approx(Decimal(amount), rate=Decimal(rate), code="EUR") == shown


@pytest.mark.parametrize(("rate", "shown"), [("0.92", "0.92"), ("100", "100"), ("0.0000153", "0.0000153")])
def test_a_rate_reads_without_trailing_zeros_or_an_exponent(rate, shown):
    assert DisplayCurrency(code="EUR", rate=Decimal(rate).quantize(Decimal("1E-10"))).rate_shown == shown


def test_the_approx_filter_is_empty_without_a_display_currency(eur):
    template = Template("{% load money %}[{{ amount|approx:currency }}]")
    assert template.render(Context({"amount": Decimal("10"), "currency": eur})) == "[≈ 9.20 EUR]"
    assert template.render(Context({"amount": Decimal("10"), "currency": None})) == "[]"
    assert template.render(Context({"amount": "garbage", "currency": eur})) == "[]"
    huge = DisplayCurrency(code="XXX", rate=Decimal("99999999999999"))
    assert template.render(Context({"amount": Decimal("999999999999999"), "currency": huge})) == "[]"


# Choosing it.


def test_a_customer_chooses_an_enabled_currency_and_sees_balance_converted_in_the_top_bar_and_account(client, eur):
    customer = UserFactory(balance="10")
    client.force_login(customer)
    account = client.get(reverse("account")).text
    assert 'data-testid="display-currency-select"' in account and "EUR (1 USD ≈ 0.92 EUR)" in account
    assert 'data-testid="nav-balance-approx"' not in account

    response = client.post(reverse("display_currency_set"), {"currency": "eur"})

    assert response.status_code == 302 and response["Location"] == reverse("account")
    page = client.get(reverse("account")).text
    assert '<span class="balance-approx" data-testid="nav-balance-approx"' in page
    assert ">≈ 9.20 EUR</span>" in page
    assert 'data-testid="balance-approx">≈ 9.20 EUR</span>' in page
    assert '<option value="EUR" selected>' in page
    # The money itself did not move or change currency.
    customer.refresh_from_db()
    assert customer.balance == Decimal("10") and LedgerEntry.objects.filter(user=customer).count() == 1


def test_the_panels_own_currency_or_nothing_turns_the_conversion_off(client, eur):
    customer = UserFactory(balance="10", display_currency=eur)
    client.force_login(customer)
    client.post(reverse("display_currency_set"), {"currency": ""})
    customer.refresh_from_db()
    assert customer.display_currency is None
    assert "nav-balance-approx" not in client.get(reverse("account")).text
    display_currency_choose(user=customer, code="EUR")
    display_currency_choose(user=customer, code="USD")
    customer.refresh_from_db()
    assert customer.display_currency is None


def test_an_unknown_or_disabled_currency_is_refused_with_a_message(client, eur):
    DisplayCurrency.objects.create(code="GBP", rate=Decimal("0.78"), is_enabled=False)
    customer = UserFactory()
    client.force_login(customer)
    for code in ("GBP", "XYZ", "<script>" * 10):
        response = client.post(reverse("display_currency_set"), {"currency": code}, follow=True)
        assert response.status_code == 200
        assert "is not a currency you can choose." in response.text
    customer.refresh_from_db()
    assert customer.display_currency is None
    with pytest.raises(CurrencyInvalid):
        display_currency_choose(user=customer, code="GBP")


def test_a_currency_the_operator_disables_stops_being_shown(client, eur):
    customer = UserFactory(balance="10", display_currency=eur)
    client.force_login(customer)
    assert "≈ 9.20 EUR" in client.get(reverse("account")).text
    DisplayCurrency.objects.filter(pk=eur.pk).update(is_enabled=False)
    assert "nav-balance-approx" not in client.get(reverse("account")).text


def test_choosing_needs_a_signed_in_customer_and_a_post(client, eur):
    assert client.post(reverse("display_currency_set"), {"currency": "EUR"}).status_code == 302
    client.force_login(UserFactory())
    assert client.get(reverse("display_currency_set")).status_code == 405


def test_the_account_page_offers_no_choice_while_the_operator_enabled_none(client):
    client.force_login(UserFactory())
    assert 'id="display-currency"' not in client.get(reverse("account")).text


def test_the_api_answers_in_the_panels_currency_whatever_the_display_currency(client, eur):
    from panel.services import api_key_rotate

    customer = UserFactory(balance="10", display_currency=eur)
    key = api_key_rotate(user=customer)
    assert client.post("/api/v2", {"key": key, "action": "balance"}).json() == {"balance": "10.00", "currency": "USD"}


# The daily fetch (never the network: `responses` answers).


def test_the_fetch_updates_the_currencies_marked_auto_update_from_the_configured_source(settings, eur):
    settings.DISPLAY_CURRENCY_RATES_URL = RATES_URL
    fixed = DisplayCurrency.objects.create(code="GBP", rate=Decimal("0.80"), auto_update=False)
    DisplayCurrency.objects.create(code="RUB", rate=Decimal("90"))
    answer = {"result": "success", "base_code": "USD", "rates": {"USD": 1, "EUR": 0.9123, "GBP": 0.7821, "JPY": 156.42}}
    with responses.RequestsMock() as mock:
        mock.get("https://rates.test/latest/USD", json=answer)
        report = display_rates_fetch()
    assert (report.updated, report.missing, report.error) == (["EUR"], ["RUB"], "")
    assert str(report) == "1 rates updated (EUR); not in the answer: RUB"
    eur.refresh_from_db()
    assert eur.rate == Decimal("0.9123") and eur.rate_updated_at is not None
    assert DisplayCurrency.objects.get(pk=fixed.pk).rate == Decimal("0.80")
    assert DisplayCurrency.objects.get(code="RUB").rate == Decimal("90")


def test_the_fetch_reads_frankfurters_shape_too(settings, eur):
    settings.DISPLAY_CURRENCY_RATES_URL = "https://rates.test/latest?from={currency}"
    with responses.RequestsMock() as mock:
        mock.get(
            "https://rates.test/latest?from=USD", json={"base": "USD", "date": "2026-12-01", "rates": {"EUR": 0.95}}
        )
        display_rates_task()
    eur.refresh_from_db()
    assert eur.rate == Decimal("0.95")


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"status": 500, "body": "down"}, "HTTP 500"),
        ({"status": 200, "body": "<html>"}, "not JSON"),
        ({"status": 200, "json": ["EUR", 0.9]}, "the answer has no rates object"),
        ({"status": 200, "json": {"base_code": "EUR", "rates": {"EUR": 1}}}, "the rates are for 'EUR', not USD"),
        ({"status": 302, "headers": {"Location": "https://elsewhere.test/"}}, "redirected"),
    ],
)
def test_an_unusable_answer_changes_no_rate_and_says_why(settings, eur, answer, error):
    settings.DISPLAY_CURRENCY_RATES_URL = RATES_URL
    with responses.RequestsMock() as mock:
        mock.get("https://rates.test/latest/USD", **answer)
        report = display_rates_fetch()
    assert error in report.error and report.updated == []
    eur.refresh_from_db()
    assert eur.rate == Decimal("0.92") and eur.rate_updated_at is None


def test_an_unreachable_source_changes_nothing(settings, eur):
    import requests

    settings.DISPLAY_CURRENCY_RATES_URL = RATES_URL
    with responses.RequestsMock() as mock:
        mock.get("https://rates.test/latest/USD", body=requests.ConnectionError("no route"))
        report = display_rates_fetch()
    assert "ConnectionError" in report.error
    eur.refresh_from_db()
    assert eur.rate == Decimal("0.92")


@pytest.mark.parametrize("value", [0, -1, "abc", None, True, "1e999", "NaN", {"x": 1}, "0.00000000001"])
def test_a_rate_that_is_not_a_positive_number_is_skipped(settings, eur, value):
    settings.DISPLAY_CURRENCY_RATES_URL = RATES_URL
    with responses.RequestsMock() as mock:
        mock.get("https://rates.test/latest/USD", json={"rates": {"EUR": value}})
        report = display_rates_fetch()
    assert report.missing == ["EUR"]
    eur.refresh_from_db()
    assert eur.rate == Decimal("0.92")


def test_without_a_source_nothing_is_fetched(settings, eur):
    settings.DISPLAY_CURRENCY_RATES_URL = ""
    with responses.RequestsMock():
        assert display_rates_fetch().error == "DISPLAY_CURRENCY_RATES_URL is not set"


def test_the_fetch_runs_daily_from_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["display-rates"]
    assert entry == {"task": "panel.tasks.display_rates_task", "schedule": settings.DISPLAY_CURRENCY_RATES_INTERVAL}
    assert settings.DISPLAY_CURRENCY_RATES_INTERVAL == 86400


# The operator's admin.


def test_an_operator_sets_a_rate_in_the_admin(client):
    operator = UserFactory(is_staff=True)
    operator.user_permissions.set(
        Permission.objects.filter(codename__in=["add_displaycurrency", "view_displaycurrency"])
    )
    client.force_login(operator)
    response = client.post(
        reverse("admin:panel_displaycurrency_add"),
        {"code": "EUR", "rate": "0.92", "is_enabled": "on", "auto_update": "on"},
    )
    assert response.status_code == 302
    currency = DisplayCurrency.objects.get()
    assert (currency.code, currency.rate) == ("EUR", Decimal("0.92")) and currency.rate_updated_at is not None
    page = client.post(reverse("admin:panel_displaycurrency_add"), {"code": "eu", "rate": "0"})
    assert "Three capital letters, such as EUR." in page.text
    assert "Ensure this value is greater than or equal to 1E-10." in page.text


def test_staff_without_the_permission_cannot_add_a_currency(client):
    operator = UserFactory(is_staff=True)
    operator.user_permissions.set(Permission.objects.filter(codename="view_displaycurrency"))
    client.force_login(operator)
    response = client.post(reverse("admin:panel_displaycurrency_add"), {"code": "EUR", "rate": "0.92"})
    assert response.status_code == 403 and not DisplayCurrency.objects.exists()


# Prices, converted beside the customer's own price.


def test_prices_show_converted_at_the_customers_own_rate_on_the_services_and_order_pages(client, eur):
    from orders.services.customer_prices import customer_discount_set
    from tests.orders.factories import ServiceFactory

    service = ServiceFactory(rate=Decimal("1.20"))
    product = ServiceFactory(kind="product", provider_service__type="Product", rate=Decimal("2.50"), min=1)
    customer = UserFactory(balance="10", display_currency=eur)
    customer_discount_set(user_id=customer.pk, percent=Decimal("10"))  # 1.08 and 2.25 for this customer
    client.force_login(customer)

    services = client.get(reverse("services")).text
    assert 'data-testid="service-rate-approx">≈ 0.99 EUR</small>' in services  # 1.08 × 0.92 = 0.9936
    new_order = client.get(reverse("new_order"), {"service": service.pk}).text
    assert 'data-display-rate="0.9200000000" data-display-code="EUR"' in new_order
    assert 'data-testid="service-rate-approx">≈ 0.99 EUR</span>' in new_order
    assert 'id="order-charge-approx"' in new_order
    assert 'data-testid="balance-approx">≈ 9.20 EUR</div>' in new_order
    products = client.get(reverse("products")).text
    assert 'data-testid="product-rate-approx">≈ 2.07 EUR</small>' in products  # 2.25 × 0.92
    assert (
        'data-testid="product-rate-approx">≈ 2.07 EUR</span>'
        in client.get(reverse("product_order", args=[product.pk])).text
    )
    assert 'data-testid="balance-approx">≈ 9.20 EUR</div>' in client.get(reverse("dashboard")).text


def test_without_a_display_currency_no_page_shows_a_converted_figure(client, eur):
    from tests.orders.factories import ServiceFactory

    service = ServiceFactory()
    client.force_login(UserFactory(balance="10"))
    for url in (reverse("services"), reverse("new_order") + f"?service={service.pk}", reverse("dashboard")):
        page = client.get(url).text
        assert "≈" not in page and "data-display-rate" not in page, url
