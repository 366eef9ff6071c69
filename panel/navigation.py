"""The customer sidebar, declared once.

Each entry names its page by URL name; an entry whose URL does not exist in this install
(an app not installed yet, a feature turned off) is left out rather than breaking every
page. Another app adds its page by appending a `NavItem` here (or to `NAV` at import time).
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from support.selectors import can_handle_tickets, tickets_unread_count


@dataclass(frozen=True)
class NavItem:
    label: str | Promise  # translated when the page is drawn
    # URL names tried in order; the first that resolves is the link (e.g. a newer page, then the old one).
    url_names: tuple[str, ...]
    icon: str  # a <symbol> id in panel/static/panel/icons.svg, without the "i-" prefix
    testid: str
    # Other URL names (view names with their namespace) under which this entry reads as the current page.
    also_current: tuple[str, ...] = ()
    staff_only: bool = False
    # Dotted path to a callable(request) -> int, shown as a count beside the label (unread answers...).
    badge: str = ""
    # Dotted path to a callable(request) -> bool: shown only when it says so (a permission, a setting...).
    visible: str = ""


NAV: list[NavItem] = [
    NavItem(_("Dashboard"), ("dashboard",), "home", "nav-dashboard"),
    NavItem(_("New order"), ("new_order",), "cart", "nav-new-order"),
    NavItem(_("Mass order"), ("mass_order",), "layers", "nav-mass-order"),
    NavItem(_("Orders"), ("orders",), "list", "nav-orders"),
    NavItem(_("Drip-feed"), ("orders_dripfeed",), "drip", "nav-dripfeed"),
    NavItem(_("Subscriptions"), ("orders_subscriptions",), "repeat", "nav-subscriptions"),
    NavItem(_("Refills"), ("refills",), "refresh", "nav-refills"),
    NavItem(_("Services"), ("services",), "grid", "nav-services"),
    NavItem(_("Products"), ("products",), "box", "nav-products", also_current=("product_order",)),
    NavItem(_("Add funds"), ("add_funds",), "wallet", "nav-add-funds", also_current=("deposits", "deposit_detail")),
    NavItem(_("Transactions"), ("transactions",), "receipt", "nav-transactions"),
    NavItem(
        _("Tickets"),
        ("support:tickets", "tickets"),
        "chat",
        "nav-tickets",
        also_current=("support:ticket", "support:ticket_new", "ticket", "ticket_new"),
        badge="panel.navigation.tickets_unread",
    ),
    NavItem(
        _("Support queue"),
        ("support:staff_queue",),
        "inbox",
        "nav-support-queue",
        also_current=("support:staff_ticket",),
        visible="panel.navigation.handles_tickets",
    ),
    NavItem(_("Affiliates"), ("affiliates", "affiliates:index"), "users", "nav-affiliates"),
    NavItem(_("News"), ("support:news", "updates"), "bell", "nav-news", also_current=("updates",)),
    NavItem(_("API"), ("api_docs",), "code", "nav-api"),
    NavItem(_("Account"), ("account",), "user", "nav-account", also_current=("api_key_new", "password_change")),
    NavItem(_("Admin"), ("admin:index",), "shield", "nav-admin", staff_only=True),
]


def tickets_unread(request) -> int:
    """Tickets with an answer the customer has not read yet."""
    return tickets_unread_count(user=request.user)


def handles_tickets(request) -> bool:
    return can_handle_tickets(request.user)
