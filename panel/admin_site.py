"""The admin site: Django's, plus two-factor sign-in for staff.

A staff member who turned two-factor sign-in on (Account → Two-factor sign-in) must give a
code from their authenticator app when signing in to the admin; with `STAFF_REQUIRE_2FA=1`
every staff member must, and one without an authenticator is refused until they add one.
"""

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest

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


class PanelAdminSite(admin.AdminSite):
    login_form = StaffLoginForm
    login_template = "admin/staff_login.html"

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and staff_two_factor_satisfied(request)
