"""The layout every customer page shares: the sidebar built from panel.navigation.NAV, the
balance and currency at the top, the panel's name and logo, and the phone menu button."""

import re

import pytest
from django.urls import reverse

from panel import navigation
from panel.navigation import NavItem
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db


def _sidebar(html: str) -> str:
    return html[html.index('<aside class="sidebar"') : html.index("</aside>")]


def test_the_sidebar_links_every_page_this_install_has_in_order(customer_client):
    sidebar = _sidebar(customer_client.get(reverse("orders")).content.decode())
    testids = re.findall(r'data-testid="(nav-[a-z-]+)"', sidebar)
    expected = [
        f"nav-{name}"
        for name in (
            "dashboard",
            "new-order",
            "mass-order",
            "orders",
            "dripfeed",
            "subscriptions",
            "refills",
            "services",
            "products",
            "add-funds",
            "transactions",
        )
    ]
    assert testids[: len(expected)] == expected
    assert {"nav-news", "nav-api", "nav-account", "nav-logout"} <= set(testids)
    for label in ("New order", "Mass order", "Orders", "Drip-feed", "Subscriptions", "Refills", "Services", "API"):
        assert f'<span class="label">{label}</span>' in sidebar
    assert sidebar.count('<svg class="icon" aria-hidden="true"') >= len(expected)


def test_a_page_that_does_not_exist_here_is_left_out_instead_of_breaking_the_page(customer_client, monkeypatch):
    monkeypatch.setattr(
        navigation,
        "NAV",
        [NavItem("Orders", ("orders",), "list", "nav-orders"), NavItem("Later", ("no_such_page",), "box", "nav-later")],
    )
    response = customer_client.get(reverse("orders"))
    assert response.status_code == 200
    sidebar = _sidebar(response.content.decode())
    assert 'data-testid="nav-orders"' in sidebar and "nav-later" not in sidebar


def test_the_first_url_name_that_resolves_is_the_link(customer_client, monkeypatch):
    nav = [NavItem("News", ("not_installed:news", "updates"), "bell", "nav-news")]
    monkeypatch.setattr(navigation, "NAV", nav)
    sidebar = _sidebar(customer_client.get(reverse("orders")).content.decode())
    assert f'href="{reverse("updates")}"' in sidebar


def test_the_current_page_is_marked_for_screen_readers(customer_client):
    sidebar = _sidebar(customer_client.get(reverse("services")).content.decode())
    assert re.findall(r'data-testid="(nav-[a-z-]+)" aria-current="page"', sidebar) == ["nav-services"]


def test_the_admin_link_is_for_staff_only(client):
    client.force_login(UserFactory())
    assert 'data-testid="nav-admin"' not in client.get("/").content.decode()
    client.force_login(UserFactory(is_staff=True))
    assert 'data-testid="nav-admin"' in _sidebar(client.get("/").content.decode())


def test_the_top_bar_shows_the_balance_at_the_display_precision_and_the_currency(client, settings):
    settings.PANEL_CURRENCY = "EUR"
    client.force_login(UserFactory(balance="99.80745"))
    html = client.get("/").content.decode()
    assert '<span class="balance-amount" id="nav-balance-amount" data-testid="nav-balance-amount">99.80</span>' in html
    assert '<span class="currency" data-testid="nav-currency">EUR</span>' in html


def test_the_panel_name_and_its_default_logo_or_the_operators(customer_client, settings):
    settings.PANEL_NAME = "Boost Hub"
    html = customer_client.get("/").content.decode()
    assert '<span class="brand-name">Boost Hub</span>' in html
    assert re.search(r'<img class="brand-logo" src="/static/panel/logo[^"]*\.svg"', html)
    settings.PANEL_LOGO_URL = "/media/brand/logo.png"
    assert '<img class="brand-logo" src="/media/brand/logo.png"' in customer_client.get("/").content.decode()


def test_the_menu_button_controls_the_sidebar_and_starts_folded(customer_client):
    html = customer_client.get("/").content.decode()
    button = re.search(r"<button[^>]*id=\"menu-button\"[^>]*>", html).group(0)
    assert 'aria-controls="sidebar"' in button and 'aria-expanded="false"' in button
    # Shown by panel.js: without script the sidebar is simply laid out above the page.
    assert " hidden" in button


def test_visitors_see_log_in_and_sign_up_and_no_sidebar(client):
    html = client.get(reverse("login")).content.decode()
    assert 'data-testid="nav-login"' in html and 'data-testid="nav-signup"' in html
    assert 'id="sidebar"' not in html and 'id="menu-button"' not in html


def unread_three(request) -> int:
    return 3


def only_for_staff_named_boss(request) -> bool:
    return request.user.username == "boss"


def test_an_entry_can_carry_a_count_and_show_only_when_its_check_says_so(client, monkeypatch):
    here = __name__
    nav = [
        NavItem("Orders", ("orders",), "list", "nav-orders", badge=f"{here}.unread_three"),
        NavItem("Queue", ("refills",), "list", "nav-queue", visible=f"{here}.only_for_staff_named_boss"),
    ]
    monkeypatch.setattr(navigation, "NAV", nav)
    client.force_login(UserFactory(username="someone"))
    sidebar = _sidebar(client.get("/").content.decode())
    assert '<span class="nav-count" data-testid="nav-orders-count">3</span>' in sidebar
    assert "nav-queue" not in sidebar
    client.force_login(UserFactory(username="boss"))
    assert 'data-testid="nav-queue"' in _sidebar(client.get("/").content.decode())
