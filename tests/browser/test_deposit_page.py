"""The deposit page in headless Chromium: the test gateway pays, and the page shows the credit by itself."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.gateways.test import TestGateway
from billing.models import FundsRequest, PaymentMethod
from billing.services import deposit_notification_receive
from panel.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_deposit_page_follows_the_payment_live_without_inline_script(live_server, chromium, settings, screenshot):
    settings.PAYMENTS_TEST_GATEWAY = True
    base = live_server.url
    PaymentMethod.objects.create(name="Test card", gateway="test", min_amount=Decimal("1"))
    customer = User.objects.create_user("payer", "payer@example.com", "a-long-password-42")
    page = chromium.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "payer")
    page.fill("input[name=password]", "a-long-password-42")
    page.click("#login-submit")
    page.wait_for_selector("#balance")

    # The customer asks to pay 12.50: the deposit page sends them on to the (test) gateway by itself.
    page.goto(f"{base}/funds/")
    page.fill("input[name=amount]", "12.50")
    page.click("#add-funds-form button[type=submit]")
    page.wait_for_selector("#pay")
    deposit = FundsRequest.objects.get(user=customer)
    assert page.url.endswith(f"/funds/test-gateway/{deposit.pk}/")

    # Back on the deposit page, unpaid; the payment's notification then arrives from "the gateway".
    page.goto(f"{base}/funds/deposits/{deposit.pk}/")
    assert page.inner_text("#deposit-status-label") == "Waiting for payment"
    deposit_notification_receive(
        gateway_code="test",
        notification=TestGateway().notification_for(reference=deposit.reference, amount=Decimal("12.50")),
    )
    # A locator wait, not wait_for_function: the page's Content-Security-Policy forbids the eval that one uses.
    expect(page.locator("#deposit-status-label")).to_have_text("Credited", timeout=15000)
    assert page.inner_text("#deposit-credited-amount") == "12.50"
    assert page.inner_text("#nav-balance-amount") == "12.50"
    screenshot(page, "20-deposit-credited")
    page.goto(f"{base}/transactions/")
    assert page.locator("[data-testid=transaction-row]").count() == 1
    screenshot(page, "21-transactions")
    assert errors == []
