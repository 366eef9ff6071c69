"""A reseller with a discount, reading prices also in EUR: the order form prices live at their own rate, converted
and marked approximate; the pages stay accessible and fit a phone with the converted balance in the top bar."""

from decimal import Decimal

import pytest

from orders.services.customer_prices import customer_discount_set
from panel.models import DisplayCurrency
from tests.orders.factories import ServiceFactory
from tests.panel.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_order_form_prices_at_the_customers_rate_and_converts_it_approximately(live_server, chromium, check_page):
    eur = DisplayCurrency.objects.create(code="EUR", rate=Decimal("0.92"))
    customer = UserFactory(username="reseller", balance="250.80745", display_currency=eur)
    service = ServiceFactory(name="Followers", rate=Decimal("1.20"), min=10, max=100000)
    customer_discount_set(user_id=customer.pk, percent=Decimal("10"))  # 1.08 per 1,000
    base = live_server.url
    page = chromium.new_page()
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "reseller")
    page.fill("input[name=password]", "password-for-tests")
    page.click("#login-submit")
    page.wait_for_selector("#sidebar")
    assert page.inner_text("[data-testid=nav-balance-approx]") == "≈ 230.74 EUR"  # 250.80745 × 0.92 = 230.742854

    page.goto(f"{base}/orders/new/?service={service.pk}")
    page.fill("input[name=quantity]", "2500")
    assert page.inner_text("#order-charge") == "2.70"  # 1.08 × 2.5
    assert page.inner_text("#order-charge-approx") == "≈ 2.48 EUR"  # 2.484
    assert page.inner_text("#service-rate") == "1.08"
    assert page.inner_text("#service-rate-approx") == "≈ 0.99 EUR"
    check_page(page, "customer-prices-new-order")
    page.goto(f"{base}/account/")
    check_page(page, "customer-prices-account")
