"""Every customer page in headless Chromium at 1366×900 and 390×844: a screenshot of each under
test-artifacts/screenshots/, axe-core finds no serious or critical violation, nothing scrolls
sideways; the sidebar at both widths; favourites."""

from decimal import Decimal

import pytest

from billing.models import PaymentMethod
from billing.services import funds_request_create
from core.money import money_display
from orders.models import Order
from orders.services.ordering import order_create, refill_request
from panel.models import Favourite
from tests.browser.conftest import DESKTOP, PHONE, horizontal_overflow
from tests.panel.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "password-for-tests"
LONG_LINK = "https://instagram.com/p/" + "abcdefghij" * 190  # 1,924 characters


def _log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#sidebar")


@pytest.fixture
def busy_customer(upstream):
    """A customer with orders in every status (one with a very long link), a refill, a favourite and a deposit."""
    customer = UserFactory(username="busy", balance="250.80745")
    service = upstream.service(1)  # refill and cancel
    statuses = [s for s, _ in Order.Status.choices]
    for number, status in enumerate(statuses):
        link = LONG_LINK if number == 0 else f"https://instagram.com/p/post{number}"
        order = order_create(user=customer, service_id=service.pk, data={"link": link, "quantity": "100"})
        Order.objects.filter(pk=order.pk).update(status=status)
    completed = Order.objects.get(user=customer, status=Order.Status.COMPLETED)
    refill_request(user=customer, order_id=completed.pk)
    Order.objects.filter(user=customer, status=Order.Status.IN_PROGRESS).update(runs=3, interval=30)
    Favourite.objects.create(user=customer, service=service)
    method = PaymentMethod.objects.create(name="Bank transfer", min_amount=Decimal("5"))
    funds_request_create(user_id=customer.pk, method_id=method.pk, amount=Decimal("25"))
    return customer


def test_every_customer_page_is_accessible_and_fits_a_phone(live_server, chromium, busy_customer, check_page):
    base = live_server.url
    page = chromium.new_page(viewport=DESKTOP)

    # Visitors' pages.
    for name, path in (("login", "/login/"), ("signup", "/signup/"), ("password-reset", "/password/reset/")):
        page.goto(base + path)
        check_page(page, f"visitor-{name}")

    # Every page of the sidebar, whichever this install has, then the pages reached from them.
    _log_in(page, base, "busy")
    links = page.eval_on_selector_all(
        "#sidebar .side-nav a", "links => links.map(a => [a.dataset.testid, a.getAttribute('href')])"
    )
    assert len(links) >= 10
    for testid, href in links:
        page.goto(base + href)
        assert page.locator("h1").count() == 1, href
        check_page(page, f"customer-{testid.removeprefix('nav-')}")
    deposit = busy_customer.funds_requests.get()
    for name, path in (
        ("orders-completed", "/orders/?status=completed"),
        ("password-change", "/password/change/"),
        ("deposit", f"/funds/deposits/{deposit.pk}/"),
    ):
        page.goto(base + path)
        check_page(page, f"customer-{name}")

    # The mass order page with its results and the refused line kept in the box.
    page.goto(f"{base}/orders/mass/")
    page.fill("textarea[name=orders]", "1|https://x.test/a|10\nnot a line")
    page.click("#mass-order-submit")
    page.wait_for_selector("[data-testid=mass-refused-kept]")
    check_page(page, "customer-mass-order-results")


def test_the_sidebar_at_both_widths(live_server, chromium, busy_customer, screenshot):
    base = live_server.url
    page = chromium.new_page(viewport=DESKTOP)
    _log_in(page, base, "busy")

    # A laptop: the sidebar is always there, with icons; each link opens its page and is marked current.
    assert page.is_visible("#sidebar") and not page.is_visible("#menu-button")
    for testid, heading in (("nav-services", "Services"), ("nav-orders", "Orders"), ("nav-new-order", "New order")):
        page.click(f"#sidebar [data-testid={testid}]")
        page.wait_for_selector(f"#sidebar [data-testid={testid}][aria-current=page]")
        assert page.inner_text("h1") == heading
        assert page.locator(f"#sidebar [data-testid={testid}] svg.icon").count() == 1
    busy_customer.refresh_from_db()
    assert page.inner_text("[data-testid=nav-balance-amount]") == money_display(busy_customer.balance)

    # A phone: the sidebar folds into the menu button.
    page.set_viewport_size(PHONE)
    page.goto(f"{base}/")
    button = page.locator("#menu-button")
    assert button.is_visible() and not page.is_visible("#sidebar")
    assert button.get_attribute("aria-expanded") == "false"
    assert horizontal_overflow(page) <= 0
    button.click()
    assert button.get_attribute("aria-expanded") == "true" and page.is_visible("#sidebar")
    screenshot(page, "sidebar-phone-open")
    page.click("#sidebar [data-testid=nav-refills]")
    page.wait_for_url(f"{base}/refills/")
    assert page.inner_text("h1") == "Refills" and not page.is_visible("#sidebar")

    # With the keyboard: Enter opens it and moves into it, Escape closes it and gives the focus back.
    page.focus("#menu-button")
    page.keyboard.press("Enter")
    assert page.get_attribute("#menu-button", "aria-expanded") == "true"
    assert page.evaluate("document.getElementById('sidebar').contains(document.activeElement)")
    page.keyboard.press("Escape")
    assert page.get_attribute("#menu-button", "aria-expanded") == "false" and not page.is_visible("#sidebar")
    assert page.evaluate("document.activeElement.id") == "menu-button"


def test_without_script_a_phone_shows_the_sidebar_above_the_page(live_server, chromium, busy_customer):
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    _log_in(page, live_server.url, "busy")
    assert page.is_visible("#sidebar") and not page.is_visible("#menu-button")
    assert horizontal_overflow(page) <= 0
    context.close()


def test_a_star_puts_a_service_in_the_favourites_at_the_top_of_the_picker(live_server, chromium, upstream, screenshot):
    base = live_server.url
    UserFactory(username="fan", balance="10")
    starred, other = upstream.service(3), upstream.service(5)
    page = chromium.new_page(viewport=DESKTOP)
    _log_in(page, base, "fan")

    # On the services page a star is set in the background: the page stays where it is.
    page.goto(f"{base}/services/")
    star = page.locator(f"[data-testid=favourite-button][data-service-id='{starred.pk}']")
    assert star.get_attribute("aria-pressed") == "false"
    star.click()
    page.wait_for_selector(f"[data-testid=favourite-button][data-service-id='{starred.pk}'][aria-pressed=true]")
    assert page.url == f"{base}/services/"
    assert Favourite.objects.filter(user__username="fan").count() == 1

    # The new-order picker opens with a Favourites category holding it.
    page.goto(f"{base}/orders/new/?service={other.pk}")
    first = page.locator("#id_category option").first
    assert first.get_attribute("value") == "favourites" and first.inner_text() == "★ Favourites (1)"
    page.select_option("#id_category", "favourites")
    options = page.eval_on_selector_all("#id_service option", "os => os.map(o => o.value)")
    assert options == [str(starred.pk)]
    assert page.inner_text("#service-name") == starred.name
    screenshot(page, "favourites-picker")

    # The star beside the chosen service takes it off again.
    page.click("#favourite-form button")
    page.wait_for_selector("#favourite-form button[aria-pressed=false]")
    assert page.locator("#id_category option").first.inner_text() == "★ Favourites (0)"
    assert not Favourite.objects.filter(user__username="fan").exists()


def test_the_orders_page_tabs_short_links_copy_and_refill_only_when_possible(
    live_server, chromium, busy_customer, screenshot
):
    base = live_server.url
    context = chromium.new_context(viewport=DESKTOP)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = context.new_page()
    _log_in(page, base, "busy")
    page.goto(f"{base}/orders/")

    # Status tabs.
    page.click("[data-testid=status-tab-completed]")
    page.wait_for_url("**/orders/?status=completed")
    assert page.get_attribute("[data-testid=status-tab-completed]", "aria-current") == "page"
    assert page.eval_on_selector_all("[data-testid=order-status]", "s => s.map(e => e.textContent)") == ["Completed"]
    page.click("[data-testid=status-tab-pending]")
    page.wait_for_url("**/orders/?status=pending")
    assert set(page.eval_on_selector_all("[data-testid=order-status]", "s => s.map(e => e.textContent)")) == {"Pending"}
    # Kinds: the drip-feed orders, with the status tabs within.
    page.click("[data-testid=kind-tab-dripfeed]")
    page.wait_for_url(f"{base}/orders/drip-feed/")
    assert page.inner_text("h1") == "Drip-feed" and page.locator("[data-testid=order-row]").count() == 1
    assert page.get_attribute("#sidebar [data-testid=nav-dripfeed]", "aria-current") == "page"
    screenshot(page, "orders-dripfeed")

    # A 1,924-character link: the row stays short, the whole link is on hover and copied in one click.
    page.goto(f"{base}/orders/")
    row = page.locator("[data-testid=order-row]").filter(has=page.locator(f"[title='{LONG_LINK}']"))
    other = page.locator("[data-testid=order-row]").last
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        assert row.locator("[data-testid=order-link-text]").bounding_box()["height"] < 80, size
        assert row.bounding_box()["height"] < other.bounding_box()["height"] + 60, size
    page.set_viewport_size(DESKTOP)
    row.locator("[data-testid=copy-link]").click()
    page.wait_for_selector("[data-testid=copy-link].copied")
    assert page.evaluate("navigator.clipboard.readText()") == LONG_LINK

    # Refill: offered on the partial order, not on the completed one whose refill is under way.
    partial = page.locator("[data-testid=order-row][data-status=partial]")
    completed = page.locator("[data-testid=order-row][data-status=completed]")
    assert partial.locator("[data-testid=refill-button]").count() == 1
    assert completed.locator("[data-testid=refill-button]").count() == 0
    assert completed.locator("[data-testid=refill-wait]").inner_text() == "Refill in progress"
    screenshot(page, "orders-long-link")
    context.close()
