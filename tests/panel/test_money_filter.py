"""One rule for money on the website (panel/templatetags/money.py): balances and totals at the
display precision, cut and never shown as zero when they are not; charges, ledger rows and
prices exact."""

import re
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.urls import reverse

from core.money import money_display
from orders.services.ordering import order_create
from panel.templatetags.money import money
from tests.orders.factories import ServiceFactory
from tests.panel.factories import UserFactory


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("99.80745", "99.80"),
        ("99.7582", "99.75"),
        ("99.76", "99.76"),
        ("7", "7.00"),
        ("0", "0.00"),
        ("1234567.891", "1,234,567.89"),
        ("-3.456", "-3.45"),
        ("0.00745", "0.00745"),
        ("0.001", "0.001"),
    ],
)
def test_a_balance_is_cut_to_the_display_places_and_never_reads_zero_when_it_is_not(amount, shown):
    assert money_display(Decimal(amount)) == shown


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("15.2013", "15.2013"),
        ("0.27819", "0.27819"),
        ("2", "2.00"),
        ("0.9", "0.90"),
        ("0.00125", "0.00125"),
        ("12345.6", "12,345.60"),
        ("0", "0.00"),
    ],
)
def test_a_charge_or_a_price_is_exact_with_at_least_the_display_places(amount, shown):
    assert money_display(Decimal(amount), exact=True) == shown


def test_the_display_places_are_a_setting(settings):
    settings.PANEL_MONEY_DISPLAY_PLACES = 4
    assert money_display(Decimal("99.80745")) == "99.8074"
    assert money_display(Decimal("2"), exact=True) == "2.0000"
    assert money_display(Decimal("15.2013"), exact=True) == "15.2013"
    settings.PANEL_MONEY_DISPLAY_PLACES = 0
    assert money_display(Decimal("99.80745")) == "99"
    assert money_display(Decimal("0.4")) == "0.4"
    assert money_display(Decimal("3"), exact=True) == "3"


def test_the_filter_takes_decimals_or_their_text_and_shows_a_dash_for_nothing():
    assert money(Decimal("1.5")) == "1.50"
    assert money("0.27819", "exact") == "0.27819"
    assert money("1,234.5") == "1,234.50"
    assert money(None) == "—" and money("") == "—"
    assert money("n/a") == "n/a"


def test_templates_load_it_by_name():
    rendered = Template('{% load money %}{{ a|money }} {{ a|money:"exact" }}').render(
        Context({"a": Decimal("9.87654")})
    )
    assert rendered == "9.87 9.87654"


@pytest.mark.django_db
def test_the_nav_the_dashboard_the_account_and_add_funds_show_the_same_balance(client):
    user = UserFactory(balance="99.80745")
    client.force_login(user)
    for name in ("dashboard", "account", "add_funds", "new_order"):
        html = client.get(reverse(name)).content.decode()
        assert 'data-testid="nav-balance-amount">99.80</span>' in html, name
        text = " ".join(re.findall(r">([^<]*)<", html))
        assert "99.80745" not in text and "99.81" not in text, name
        # The exact balance is one hover away.
        assert 'title="Your balance: 99.80745 USD' in html


@pytest.mark.django_db
def test_an_orders_charge_is_shown_exactly(client):
    user = UserFactory(balance="50")
    service = ServiceFactory(rate=Decimal("15.2013"))
    order_create(user=user, service_id=service.pk, data={"link": "https://x.test/1", "quantity": "1000"})
    client.force_login(user)
    html = client.get(reverse("orders")).content.decode()
    assert 'data-testid="order-charge">15.2013<' in html
    assert 'data-testid="nav-balance-amount">34.79</span>' in html
