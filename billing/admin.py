from django.contrib import admin

from billing.models import LedgerEntry


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """Read only: money moves through the billing services (see the user's Credit / debit)."""

    list_display = ("id", "created_at", "user", "kind", "amount", "balance_after", "reference", "memo", "created_by")
    list_filter = ("kind", "created_at")
    search_fields = ("user__username", "reference", "memo")
    list_select_related = ("user", "created_by")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
