from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render

from core.staff import staff_permission_required
from orders.selectors import staff_dashboard_figures
from orders.services.alerts import alerts_open
from orders.services.customer_prices import custom_rates_below_cost, discounts_below_cost


@staff_member_required
@staff_permission_required("orders.view_dashboard")
def staff_dashboard(request):
    """Revenue, cost and profit are the business's figures: a permission of their own (the Finance group's)."""
    context = {**admin.site.each_context(request), "title": "Dashboard", **staff_dashboard_figures()}
    # Alerts are shown to whoever may view them (templates/staff/_alerts.html).
    context["alerts"] = alerts_open() if request.user.has_perm("orders.view_alert") else None
    if request.user.has_perm("orders.view_customerrate"):
        context["below_cost"] = custom_rates_below_cost()
    if request.user.has_perm("orders.view_customerdiscount"):
        context["discounts_below_cost"] = discounts_below_cost()
    return render(request, "staff/dashboard.html", context)
