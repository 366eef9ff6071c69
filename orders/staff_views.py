from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render

from orders.selectors import staff_dashboard_figures


@staff_member_required
def staff_dashboard(request):
    context = {**admin.site.each_context(request), "title": "Dashboard", **staff_dashboard_figures()}
    return render(request, "staff/dashboard.html", context)
