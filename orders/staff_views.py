from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render

from core.admin import theme_csp
from core.staff import staff_permission_required
from orders.selectors import staff_dashboard_figures
from orders.services.alerts import alerts_open


def staff_alerts(request) -> list | None:
    """Alerts are shown to whoever may view them (templates/staff/_alerts.html)."""
    return alerts_open() if request.user.has_perm("orders.view_alert") else None


@staff_member_required
@staff_permission_required("orders.view_dashboard")
def staff_dashboard(request):
    """Revenue, cost and profit are the business's figures: a permission of their own (the Finance group's)."""
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        **staff_dashboard_figures(),
        "alerts": staff_alerts(request),
    }
    return theme_csp(render(request, "staff/dashboard.html", context))
