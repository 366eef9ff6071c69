"""The admin site: django-unfold's, with two-factor sign-in for staff, a sidebar of what operators use and the
dashboard as its home.

A staff member who turned two-factor sign-in on (Account → Two-factor sign-in) must give a
code from their authenticator app when signing in to the admin; with `STAFF_REQUIRE_2FA=1`
every staff member must, and one without an authenticator is refused until they add one.

The sidebar lists each page only to staff who may open it; the badges count what waits for a person (orders in
review, add-funds requests). The home page is the dashboard for staff holding `orders.view_dashboard`.
"""

from functools import wraps

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse_lazy
from unfold.sites import UnfoldAdminSite

from core.admin import theme_csp
from orders.models import Order
from orders.selectors import funds_waiting_for_staff, staff_dashboard_figures
from orders.staff_views import staff_dashboard_extras
from panel.forms import StaffLoginForm
from panel.services import staff_totp_device


def staff_two_factor_satisfied(request: HttpRequest) -> bool:
    user = request.user
    is_verified = getattr(user, "is_verified", None)
    if is_verified is not None and is_verified():
        return True
    if settings.STAFF_REQUIRE_2FA:
        return False
    return staff_totp_device(user=user) is None


class PanelAdminSite(UnfoldAdminSite):
    index_title = "Dashboard"
    login_form = StaffLoginForm
    login_template = "admin/staff_login.html"

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and staff_two_factor_satisfied(request)

    def admin_view(self, view, cacheable=False):
        guarded = super().admin_view(view, cacheable)

        @wraps(guarded)
        def themed(request, *args, **kwargs):
            return theme_csp(guarded(request, *args, **kwargs))

        return themed

    # The sign-in pages are the theme's too, outside admin_view.
    def login(self, request, extra_context=None):
        return theme_csp(super().login(request, extra_context))

    def logout(self, request, extra_context=None):
        return theme_csp(super().logout(request, extra_context))


def _may(*permissions: str):
    return lambda request: request.user.has_perms(permissions)


def _waiting(request) -> dict[str, int]:
    """What waits for a person, counted once per request (the sidebar asks twice: to show a badge, to fill it)."""
    if not hasattr(request, "_staff_waiting"):
        request._staff_waiting = {
            "review": Order.objects.filter(status=Order.Status.NEEDS_REVIEW).count(),
            "funds": funds_waiting_for_staff().count(),
        }
    return request._staff_waiting


def review_badge(request) -> str:
    return str(_waiting(request)["review"] or "")


def funds_badge(request) -> str:
    return str(_waiting(request)["funds"] or "")


def _item(title: str, icon: str, url: str, *permissions: str, **extra) -> dict:
    return {"title": title, "icon": icon, "link": reverse_lazy(url), "permission": _may(*permissions), **extra}


def admin_sidebar(request) -> list[dict]:
    review = reverse_lazy("admin:orders_order_changelist")
    # A badge only when something waits: unfold draws an empty one for a zero.
    waiting_review = {"badge": "panel.admin_site.review_badge"} if review_badge(request) else {}
    waiting_funds = {"badge": "panel.admin_site.funds_badge"} if funds_badge(request) else {}
    return [
        {
            "title": "Overview",
            "items": [_item("Dashboard", "monitoring", "admin:index")],
        },
        {
            "title": "Orders",
            "items": [
                _item("Orders", "shopping_cart", "admin:orders_order_changelist", "orders.view_order"),
                {
                    "title": "Needs review",
                    "icon": "pending_actions",
                    "link": f"{review}?status__exact={Order.Status.NEEDS_REVIEW}",
                    "permission": _may("orders.view_order"),
                    **waiting_review,
                },
                _item("Refills", "autorenew", "admin:orders_refill_changelist", "orders.view_refill"),
                _item("Order history", "history", "admin:orders_orderevent_changelist", "orders.view_orderevent"),
            ],
        },
        {
            "title": "Catalog",
            "items": [
                _item("Services", "inventory_2", "admin:orders_service_changelist", "orders.view_service"),
                _item("Categories", "category", "admin:orders_category_changelist", "orders.view_category"),
                _item(
                    "Catalog changes", "update", "admin:orders_servicechange_changelist", "orders.view_servicechange"
                ),
                _item("Providers", "dns", "admin:providers_provider_changelist", "providers.view_provider"),
                _item(
                    "Provider services",
                    "list_alt",
                    "admin:providers_providerservice_changelist",
                    "providers.view_providerservice",
                ),
            ],
        },
        {
            "title": "Customers and money",
            "items": [
                _item("Customers", "group", "admin:panel_user_changelist", "panel.view_user"),
                _item("Ledger", "receipt_long", "admin:billing_ledgerentry_changelist", "billing.view_ledgerentry"),
                _item(
                    "Add-funds requests",
                    "account_balance_wallet",
                    "admin:billing_fundsrequest_changelist",
                    "billing.view_fundsrequest",
                    **waiting_funds,
                ),
                _item(
                    "Payment methods",
                    "payments",
                    "admin:billing_paymentmethod_changelist",
                    "billing.view_paymentmethod",
                ),
            ],
        },
        {
            "title": "Staff",
            "items": [_item("Groups", "admin_panel_settings", "admin:auth_group_changelist", "auth.view_group")],
        },
    ]


def admin_home(request, context: dict) -> dict:
    """The admin's home: the dashboard for who may see the business's figures, the list of models for others."""
    if request.user.has_perm("orders.view_dashboard"):
        context.update(staff_dashboard_figures())
        context.update(staff_dashboard_extras(request))
        context["dashboard"] = True
    return context
