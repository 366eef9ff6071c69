"""A customer's whole journey in headless Chromium against a live server, with an operator and a worker."""

from decimal import Decimal

import pytest

from billing.selectors import ledger_mismatches
from core.money import money_display
from orders.models import Order
from orders.services.cycle import orders_cycle
from panel.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#login-submit")


def test_sign_up_get_credited_order_follow_refill_and_cancel(live_server, chromium, upstream, screenshot):
    base = live_server.url
    User.objects.create_user("operator", "op@example.com", "op-password-1", is_staff=True, is_superuser=True)
    customer_page = chromium.new_page()
    operator_page = chromium.new_page()

    # A new customer signs up.
    customer_page.goto(f"{base}/signup/")
    screenshot(customer_page, "01-signup")
    customer_page.fill("input[name=username]", "newcomer")
    customer_page.fill("input[name=email]", "newcomer@example.com")
    customer_page.fill("input[name=password1]", "a-long-password-42")
    customer_page.fill("input[name=password2]", "a-long-password-42")
    customer_page.click("#signup-submit")
    customer_page.wait_for_selector("#balance")
    screenshot(customer_page, "02-dashboard-empty")
    customer = User.objects.get(username="newcomer")

    # An operator credits the balance in the admin.
    _login(operator_page, base, "operator", "op-password-1")
    operator_page.goto(f"{base}/admin/panel/user/{customer.pk}/balance/")
    operator_page.fill("input[name=amount]", "50")
    operator_page.fill("input[name=memo]", "bank transfer 1234")
    operator_page.click("input[type=submit]")
    operator_page.wait_for_url(f"**/admin/panel/user/{customer.pk}/change/")
    screenshot(operator_page, "03-admin-credited")
    customer.refresh_from_db()
    assert customer.balance == Decimal("50")

    # The customer places a normal order.
    service = upstream.service(1)  # Default, refill and cancel, 15.2013 per 1,000
    customer_page.goto(f"{base}/orders/new/")
    customer_page.select_option("#id_category", str(service.category_id))
    customer_page.select_option("#id_service", str(service.pk))
    customer_page.fill("input[name=link]", "https://instagram.com/p/first")
    customer_page.fill("input[name=quantity]", "1000")
    screenshot(customer_page, "04-new-order")
    customer_page.click("#new-order-submit")
    customer_page.wait_for_selector("[data-testid=order-row]")
    first = Order.objects.get(user=customer)
    assert first.charge == Decimal("15.2013")

    # And a mass order: one good line, one refused.
    customer_page.goto(f"{base}/orders/mass/")
    customer_page.fill(
        "textarea[name=orders]", f"{service.pk}|https://instagram.com/p/second|500\n{service.pk}|https://x.test/3|1\n"
    )
    customer_page.click("#mass-order-submit")
    customer_page.wait_for_selector("[data-testid=mass-result]")
    screenshot(customer_page, "05-mass-order")
    assert customer_page.locator("[data-testid=mass-result-order]").count() == 1
    assert "The minimum for this service is" in customer_page.inner_text("#mass-results")
    second = Order.objects.filter(user=customer).exclude(pk=first.pk).get()

    # A worker cycle places both; the first completes, the second keeps running.
    upstream.sim.force_next_fate("completed", count=2)
    orders_cycle(concurrency=1)
    upstream.clock.advance(1000)
    orders_cycle(concurrency=1)
    Order.objects.filter(pk=second.pk).update(status=Order.Status.IN_PROGRESS)
    customer_page.goto(f"{base}/orders/")
    screenshot(customer_page, "06-orders")
    rows = customer_page.locator("[data-testid=order-row]")
    statuses = {
        rows.nth(i).locator("[data-testid=order-id]").inner_text().strip().lstrip("#"): rows.nth(i)
        .locator("[data-testid=order-status]")
        .inner_text()
        .strip()
        for i in range(rows.count())
    }
    assert (statuses[str(first.pk)], statuses[str(second.pk)]) == ("Completed", "In progress")

    # Refill the completed order, cancel the running one.
    customer_page.locator(f"[data-testid=order-row]:has-text('{first.link}') [data-testid=refill-button]").click()
    customer_page.wait_for_selector("[data-testid=message]")
    assert first.refills.count() == 1
    customer_page.goto(f"{base}/orders/")
    customer_page.locator(f"[data-testid=order-row]:has-text('{second.link}') [data-testid=cancel-button]").click()
    customer_page.wait_for_selector("[data-testid=message]")
    second.refresh_from_db()
    assert second.cancel_requested_at is not None
    customer_page.goto(f"{base}/refills/")
    screenshot(customer_page, "07-refills")
    assert customer_page.locator("[data-testid=refill-row]").count() == 1

    # The balance shown is the ledger's.
    customer_page.goto(f"{base}/")
    customer.refresh_from_db()
    assert customer.balance == Decimal("50") - first.charge - second.charge
    # At the display precision, cut (core.money.money_display); the exact balance is in the tooltip.
    assert customer_page.inner_text("#balance").strip() == money_display(customer.balance)
    assert f"{money_display(customer.balance, exact=True)} " in customer_page.get_attribute("#nav-balance", "title")
    screenshot(customer_page, "08-dashboard")
    assert ledger_mismatches() == []

    # The other pages render for the customer and the operator.
    for name, path in (
        ("09-services", "/services/"),
        ("10-api", "/api/"),
        ("11-account", "/account/"),
        ("12-updates", "/updates/"),
        ("13-add-funds", "/funds/"),
    ):
        customer_page.goto(f"{base}{path}")
        assert customer_page.locator("h1").count() == 1
        screenshot(customer_page, name)
    operator_page.goto(f"{base}/admin/dashboard/")
    assert operator_page.locator("#staff-dashboard").count() == 1
    screenshot(operator_page, "14-staff-dashboard")
    customer_page.set_viewport_size({"width": 390, "height": 844})
    customer_page.goto(f"{base}/orders/")
    screenshot(customer_page, "15-orders-phone")
