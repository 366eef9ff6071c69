from django.contrib import admin, messages
from django.db.models import Q
from unfold.admin import ModelAdmin

from billing.models import FundsRequest, LedgerEntry, PaymentMethod
from billing.services import funds_request_approve, funds_request_reject
from core.admin import BigListMixin, Exact, Number, Related
from core.errors import PanelError


@admin.register(LedgerEntry)
class LedgerEntryAdmin(BigListMixin, ModelAdmin):
    """Read only: money moves through the billing services (see the user's Credit / debit)."""

    list_display = ("id", "created_at", "user", "kind", "amount", "balance_after", "reference", "memo", "created_by")
    list_filter = ("kind", "created_at")
    search_rules = (
        Number("id", "entry id"),
        Related("user", "username", "customer"),
        # The unique (kind, reference) index serves a reference once every kind is named in front of it.
        Exact("reference", "reference", also=Q(kind__in=LedgerEntry.Kind.values)),
    )
    search_help_text = "A customer's username, an exact reference (order:42) or an entry id."
    list_select_related = ("user", "created_by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ModelAdmin):
    list_display = ("name", "gateway", "min_amount", "is_active", "sort_order")
    list_editable = ("is_active", "sort_order")


@admin.register(FundsRequest)
class FundsRequestAdmin(ModelAdmin):
    list_display = ("id", "created_at", "user", "method", "amount", "note", "status", "reviewed_by", "reviewed_at")
    list_filter = ("status", "method")
    search_fields = ("user__username", "note", "=id")
    list_select_related = ("user", "method", "reviewed_by")
    actions = ["approve", "reject"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in FundsRequest._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_approve_funds_permission(self, request) -> bool:
        return request.user.has_perm("billing.approve_funds")

    @admin.action(description="Approve and credit the customer", permissions=["approve_funds"])
    def approve(self, request, queryset):
        for funds in queryset.filter(status=FundsRequest.Status.PENDING):
            funds_request_approve(funds_request_id=funds.pk, staff_id=request.user.pk)
            self.message_user(request, f"Request {funds.pk}: {funds.amount} credited to {funds.user}.")

    @admin.action(description="Reject", permissions=["approve_funds"])
    def reject(self, request, queryset):
        for funds in queryset.filter(status=FundsRequest.Status.PENDING):
            try:
                funds_request_reject(funds_request_id=funds.pk, staff_id=request.user.pk)
            except PanelError as error:
                self.message_user(request, error.message, messages.ERROR)
