from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from billing.selectors import referrer_of
from billing.services import balance_adjust
from core.errors import PanelError
from core.money import money_form_field
from core.staff import admin_permission_view
from panel import admin_security  # noqa: F401  (the lockout and two-factor admin pages)
from panel.currency import display_rates_fetch
from panel.models import DisplayCurrency, User


class BalanceAdjustForm(forms.Form):
    amount = money_form_field(help_text="Positive credits the customer, negative debits.")
    memo = forms.CharField(max_length=255, help_text="Why: shown in the ledger.")

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError("The amount must not be zero.")
        return amount


# Who may hand out powers is itself a power: with `change_user` or `change_group` a staff member could otherwise
# grant themselves any permission (or reset a superuser's password and sign in as them). Only superusers edit
# staff accounts, staff status, groups and permissions; `change_user` is for customers' accounts.
POWER_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "balance", "api_key_prefix", "is_active", "is_staff", "date_joined")
    readonly_fields = ("balance", "api_key_prefix", "api_key_created_at", "balance_actions", "referrer")
    fieldsets = DjangoUserAdmin.fieldsets + (
        ("Money and API", {"fields": ("balance", "balance_actions", "api_key_prefix", "api_key_created_at")}),
        ("Affiliate", {"fields": ("referrer",)}),
    )

    def get_urls(self):
        return [
            path(
                "<int:user_id>/balance/",
                admin_permission_view(self, self.balance_adjust_view, "billing.adjust_balance"),
                name="panel_user_balance",
            ),
        ] + super().get_urls()

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if not request.user.is_superuser:
            fields = (*fields, *POWER_FIELDS)
        return fields

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_staff and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_staff and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description="Credit or debit")
    def balance_actions(self, obj):
        if not obj.pk:
            return "-"
        ledger = reverse("admin:billing_ledgerentry_changelist") + f"?user__id__exact={obj.pk}"
        return format_html(
            '<a class="button" href="{}">Credit / debit</a> <a href="{}">Ledger</a>',
            reverse("admin:panel_user_balance", args=[obj.pk]),
            ledger,
        )

    @admin.display(description="Referred by")
    def referrer(self, obj):
        referrer = referrer_of(user_id=obj.pk) if obj.pk else None
        if referrer is None:
            return "-"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:panel_user_change", args=[referrer.pk]), referrer.user.username
        )

    def balance_adjust_view(self, request, user_id):
        user = get_object_or_404(User, pk=user_id)
        form = BalanceAdjustForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                entry = balance_adjust(
                    user_id=user.pk,
                    amount=form.cleaned_data["amount"],
                    memo=form.cleaned_data["memo"],
                    created_by_id=request.user.pk,
                )
            except PanelError as error:
                form.add_error("amount", error.message)
            else:
                self.message_user(
                    request, f"{user}: {entry.amount:+} → balance {entry.balance_after}", messages.SUCCESS
                )
                return redirect("admin:panel_user_change", user.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Credit or debit {user}",
            "form": form,
            "customer": user,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/panel/user/balance_adjust.html", context)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin):
    """Staff with `view_group` see what Support and Finance may do; only superusers change that."""

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return self.has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return self.has_add_permission(request)


@admin.register(DisplayCurrency)
class DisplayCurrencyAdmin(admin.ModelAdmin):
    """Currencies customers may also read prices in (approximately); money itself stays in PANEL_CURRENCY."""

    list_display = ("code", "rate", "is_enabled", "auto_update", "rate_updated_at")
    list_editable = ("is_enabled",)
    search_fields = ("code",)
    readonly_fields = ("rate_updated_at",)
    actions = ["fetch_rates"]

    def save_model(self, request, obj, form, change):
        if "rate" in form.changed_data or not change:
            obj.rate_updated_at = timezone.now()
        super().save_model(request, obj, form, change)

    @admin.action(description="Fetch today's rates now (DISPLAY_CURRENCY_RATES_URL)", permissions=["change"])
    def fetch_rates(self, request, queryset):
        report = display_rates_fetch()
        self.message_user(request, str(report), messages.ERROR if report.error else messages.SUCCESS)
