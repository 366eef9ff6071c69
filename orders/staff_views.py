from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render

from core.admin import theme_csp
from core.staff import staff_permission_required
from orders.selectors import staff_dashboard_figures


@staff_member_required
@staff_permission_required("orders.view_dashboard")
def staff_dashboard(request):
    """Revenue, cost and profit are the business's figures: a permission of their own (the Finance group's)."""
    context = {**admin.site.each_context(request), "title": "Dashboard", **staff_dashboard_figures()}
    return theme_csp(render(request, "staff/dashboard.html", context))
