"""Under the Content-Security-Policy, Chromium blocks nothing on our pages: every script and
style comes from our own static files, and the pages' scripts still run."""

import pytest
from playwright.sync_api import expect

from tests.orders.factories import OrderFactory, ServiceFactory
from tests.panel.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CUSTOMER_PAGES = ["/", "/orders/new/", "/orders/mass/", "/orders/", "/refills/", "/services/", "/api/", "/account/"]
CUSTOMER_PAGES += ["/updates/", "/funds/", "/password/change/"]
ANONYMOUS_PAGES = ["/login/", "/signup/", "/password/reset/"]
STAFF_PAGES = [
    "/account/two-factor/",
    "/admin/",
    "/admin/dashboard/",
    "/admin/orders/order/",
    "/admin/orders/service/",
    "/admin/panel/user/",
    "/admin/providers/provider/add/",
    "/admin/axes/accessattempt/",
]


def _watch(page) -> list[str]:
    """Every policy violation the page reports, from the console and from the DOM event."""
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.expose_function("reportViolation", lambda text: violations.append(text))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation',"
        " e => window.reportViolation(e.violatedDirective + ' ' + e.blockedURI));"
    )
    return violations


def _login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#login-submit")
    page.wait_for_url(f"{base}/")


def test_no_page_breaks_the_policy_and_the_order_page_script_still_runs(live_server, chromium, screenshot):
    base = live_server.url
    customer = UserFactory(username="shopper", password="shopper-password-1", balance="20")
    UserFactory(username="boss", password="boss-password-1", is_staff=True, is_superuser=True)
    first = ServiceFactory(name="First service")
    second = ServiceFactory(name="Second service", category=first.category, description="Only the script shows this.")
    OrderFactory(user=customer, service=first)

    page = chromium.new_page()
    violations = _watch(page)
    for path in ANONYMOUS_PAGES:
        page.goto(f"{base}{path}")
    _login(page, base, "shopper", "shopper-password-1")
    for path in CUSTOMER_PAGES:
        page.goto(f"{base}{path}")
        assert page.locator("h1").count() == 1, path
    # order.js runs: choosing another service shows its description without a reload.
    page.goto(f"{base}/orders/new/")
    page.select_option("#id_service", str(second.pk))
    expect(page.locator("#service-description")).to_have_text("Only the script shows this.", timeout=5000)

    staff_page = chromium.new_page()
    violations += _watch(staff_page)
    _login(staff_page, base, "boss", "boss-password-1")
    for path in STAFF_PAGES:
        response = staff_page.goto(f"{base}{path}")
        assert response.status == 200, path
    staff_page.goto(f"{base}/account/two-factor/")
    assert staff_page.locator("#two-factor-qr svg").count() == 1
    screenshot(staff_page, "16-two-factor-enrolment")
    assert violations == []
