from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render

from core.admin import theme_csp
from core.staff import staff_permission_required
from orders.selectors import staff_dashboard_figures
from orders.services.alerts import alerts_open
from orders.services.customer_prices import custom_rates_below_cost, discounts_below_cost


def staff_dashboard_extras(request) -> dict:
    """The dashboard's blocks each shown to whoever may view them: alerts (templates/staff/_alerts.html), customer
    prices and discounts below cost (templates/staff/_below_cost.html)."""
    user = request.user
    extras = {"alerts": alerts_open() if user.has_perm("orders.view_alert") else None}
    if user.has_perm("orders.view_customerrate"):
        extras["below_cost"] = custom_rates_below_cost()
    if user.has_perm("orders.view_customerdiscount"):
        extras["discounts_below_cost"] = discounts_below_cost()
    return extras


@staff_member_required
@staff_permission_required("orders.view_dashboard")
def staff_dashboard(request):
    """Revenue, cost and profit are the business's figures: a permission of their own (the Finance group's)."""
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        **staff_dashboard_figures(),
        **staff_dashboard_extras(request),
    }
    return theme_csp(render(request, "staff/dashboard.html", context))
