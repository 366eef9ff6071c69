"""The security apps' admin pages, trimmed to what staff need (imported by panel/admin.py).

- Failed sign-ins and lockouts (django-axes): deleting a row lifts its lockout. Axes removes
  expired rows itself at each failure, so its clean-up action (which asks for no permission)
  is dropped; Django's delete asks for `axes.delete_accessattempt`.
- Staff authenticators (django-otp): who has two-factor sign-in on, and deleting one resets a
  lost phone. django-otp's own pages show each secret and its QR code to any staff member
  allowed to view devices, and whoever sees a secret can make the codes: they are not served.
"""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django_otp.plugins.otp_totp.models import TOTPDevice

admin.site.unregister(AccessAttempt)
admin.site.unregister(TOTPDevice)


@admin.register(AccessAttempt)
class LockoutAdmin(AccessAttemptAdmin):
    actions = ()


@admin.register(TOTPDevice)
class StaffAuthenticatorAdmin(admin.ModelAdmin):
    list_display = ("user", "name", "confirmed", "created_at", "last_used_at")
    list_filter = ("confirmed",)
    search_fields = ("user__username",)
    fields = ("user", "name", "confirmed", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
