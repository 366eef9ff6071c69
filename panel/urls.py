from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from orders.staff_views import staff_dashboard
from panel.api import ApiV2View
from panel.languages import language_switch


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    # Through the admin site's own gate, so the dashboard asks for the same sign-in (and two-factor code).
    path(f"{settings.ADMIN_URL}dashboard/", admin.site.admin_view(staff_dashboard), name="staff_dashboard"),
    path(settings.ADMIN_URL, admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("i18n/language/", language_switch, name="set_language"),
    re_path(r"^api/v2/?$", csrf_exempt(ApiV2View.as_view()), name="api_v2"),
    path("", include("billing.urls")),
    path("", include("support.urls")),
    path("", include("panel.web_urls")),
]
