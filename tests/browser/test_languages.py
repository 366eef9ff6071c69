"""Languages in Chromium: the switcher (a plain form, submitted by the static script under the CSP),
each language's pages at both widths, and a right-to-left layout that mirrors itself."""

import pytest

from panel.models import User
from tests.browser.conftest import DESKTOP
from tests.orders.factories import ServiceFactory
from tests.panel.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "password-for-tests"


def _log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#sidebar")


def test_choosing_a_language_in_the_footer_switches_the_page_and_the_account(live_server, chromium):
    UserFactory(username="lector", language="")
    page = chromium.new_page(viewport=DESKTOP)
    page.goto(f"{live_server.url}/login/")
    assert page.locator("h1").inner_text() == "Log in"
    # The select submits its form itself (panel.js): no button press.
    with page.expect_navigation():
        page.select_option("#language-select", "es")
    assert page.locator("h1").inner_text() == "Iniciar sesión"
    assert page.locator("html").get_attribute("lang") == "es"
    _log_in(page, live_server.url, "lector")
    assert page.locator('[data-testid="nav-orders"] .label').inner_text() == "Pedidos"
    with page.expect_navigation():
        page.select_option("#language-select", "zh-hant")
    assert page.locator('[data-testid="nav-orders"] .label').inner_text() == "訂單"
    assert User.objects.get(username="lector").language == "zh-hant"


@pytest.mark.parametrize("language", ["zh-hant", "ru", "es"])
def test_each_language_reads_well_at_both_widths(live_server, chromium, check_page, language):
    UserFactory(username="lector", language=language, balance="12.5")
    ServiceFactory(name="Instagram Followers [30 Days Refill]", refill=True, cancel=True)
    page = chromium.new_page(viewport=DESKTOP)
    _log_in(page, live_server.url, "lector")
    for path in ("/", "/orders/new/", "/services/", "/orders/", "/account/", "/api/"):
        page.goto(live_server.url + path)
        assert page.locator("html").get_attribute("lang") == language
        check_page(page, f"language-{language}-{path.strip('/').replace('/', '-') or 'dashboard'}")


def test_a_right_to_left_language_puts_the_sidebar_on_the_right(live_server, chromium, settings, screenshot):
    settings.LANGUAGES = [*settings.LANGUAGES, ("ar", "Arabic")]
    UserFactory(username="qari", language="ar")
    page = chromium.new_page(viewport=DESKTOP)
    _log_in(page, live_server.url, "qari")
    page.goto(f"{live_server.url}/orders/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    sidebar = page.locator("#sidebar").bounding_box()
    main = page.locator("#main").bounding_box()
    assert sidebar["x"] > main["x"] + main["width"] - 1, (sidebar, main)
    # The table's first column is on the right, as Arabic is read.
    table = page.locator("#orders-table").bounding_box()
    first = page.locator("#orders-table th").first.bounding_box()
    assert first["x"] > table["x"] + table["width"] / 2, (first, table)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    screenshot(page, "language-rtl-orders")
