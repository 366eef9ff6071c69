"""The operators' admin for money: the ledger (read only), payment methods with their gateway
credentials, bonus tiers, deposits (approve, reject, ask the gateway, reverse), the webhook log and
affiliates (accounts, their ledger, payout requests).

Every action that can credit a customer needs `billing.approve_funds`; reversing a deposit
`billing.reverse_deposit`; deciding a payout request `billing.approve_affiliate_payout`; testing a
method's credentials its change permission (core/staff.py; tests/panel/test_admin_permissions.py walks
them). Actions call `billing.services` and report each row's outcome.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin, TabularInline

from billing.errors import GatewayError
from billing.gateways import gateway_choices, gateway_classes, gateway_for
from billing.models import (
    AffiliateAccount,
    AffiliateEntry,
    AffiliatePayout,
    DepositBonusTier,
    FundsRequest,
    LedgerEntry,
    PaymentMethod,
    WebhookLog,
)
from billing.services import (
    affiliate_payout_approve,
    affiliate_payout_reject,
    deposit_check,
    deposit_reverse,
    funds_request_approve,
    funds_request_reject,
)
from core.admin import BigListMixin, Exact, Number, Related
from core.errors import PanelError
from core.staff import admin_permission_view


def act_on_each(model_admin, request, queryset, label: str, work, done: str) -> None:
    """Run `work` on each selected row in pk order and tell the operator what happened to each one:
    `done` (formatted with the work's `result`) or the refusal's own words."""
    for row in queryset.order_by("pk"):
        try:
            result = work(row)
        except PanelError as error:
            model_admin.message_user(request, f"{label} {row.pk}: {error.message}", messages.WARNING)
        else:
            model_admin.message_user(request, f"{label} {row.pk}: {done.format(result=result)}")


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


def _credential_field_name(gateway_code: str, name: str) -> str:
    return f"cred__{gateway_code}__{name}"


class PaymentMethodForm(forms.ModelForm):
    """The method, and one group of credential fields per gateway; only the chosen gateway's are kept.

    Secrets are never shown back: an empty secret field keeps the saved value.
    """

    gateway = forms.ChoiceField(required=False)

    class Meta:
        model = PaymentMethod
        fields = [
            "name",
            "instructions",
            "gateway",
            "min_amount",
            "max_amount",
            "fee_percent",
            "bonus_percent",
            "underpayment",
            "lifetime_minutes",
            "is_active",
            "sort_order",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = gateway_choices()
        if self.instance.gateway and self.instance.gateway not in dict(choices):
            choices.append((self.instance.gateway, f"{self.instance.gateway} (not available)"))
        self.fields["gateway"].choices = choices
        saved = self._saved_credentials()
        for cls in gateway_classes():
            if cls.code != self.instance.gateway:
                continue
            for spec in cls.credential_fields:
                field = self.fields[_credential_field_name(cls.code, spec.name)]
                if not spec.secret:
                    field.initial = saved.get(spec.name, "")
                elif saved.get(spec.name):
                    field.help_text = f"{spec.help_text} Saved; leave empty to keep it.".strip()

    def _saved_credentials(self) -> dict[str, str]:
        try:
            return self.instance.credentials
        except (ImproperlyConfigured, ValueError):
            return {}

    def clean(self):
        cleaned = super().clean()
        code = cleaned.get("gateway", "")
        low, high = cleaned.get("min_amount"), cleaned.get("max_amount")
        if low is not None and high is not None and high < low:
            self.add_error("max_amount", "The maximum must not be below the minimum.")
        gateway = gateway_for(code)
        if code and gateway is None:
            self.add_error("gateway", "This gateway is not available here.")
            return cleaned
        if gateway is None:
            self.instance.credentials = {}
            return cleaned
        saved = self._saved_credentials() if self.instance.gateway == code else {}
        credentials: dict[str, str] = {}
        for spec in gateway.credential_fields:
            field_name = _credential_field_name(code, spec.name)
            value = cleaned.get(field_name, "") or (saved.get(spec.name, "") if spec.secret else "")
            if spec.required and not value:
                self.add_error(field_name, f"{gateway.name} needs its {spec.label.lower()}.")
            if value:
                credentials[spec.name] = value
        self.instance.credentials = credentials
        return cleaned


def _credential_form_field(spec) -> forms.CharField:
    widget = forms.PasswordInput(render_value=False) if spec.secret else forms.TextInput()
    return forms.CharField(
        label=spec.label, required=False, strip=True, max_length=500, widget=widget, help_text=spec.help_text
    )


# Declared on the class (not in __init__) so that the admin's fieldsets may name them.
for _cls in gateway_classes():
    for _spec in _cls.credential_fields:
        _field = _credential_form_field(_spec)
        PaymentMethodForm.base_fields[_credential_field_name(_cls.code, _spec.name)] = _field
        PaymentMethodForm.declared_fields[_credential_field_name(_cls.code, _spec.name)] = _field


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ModelAdmin):
    form = PaymentMethodForm
    list_display = ("name", "gateway", "min_amount", "max_amount", "fee_percent", "bonus_percent", "is_active")
    list_editable = ("is_active",)
    readonly_fields = ("webhook_url", "credentials_test_link")
    actions = ["test_credentials"]

    def get_fieldsets(self, request, obj=None):
        main = (
            None,
            {
                "fields": [
                    "name",
                    "instructions",
                    "gateway",
                    "webhook_url",
                    "credentials_test_link",
                    ("min_amount", "max_amount"),
                    ("fee_percent", "bonus_percent"),
                    "underpayment",
                    "lifetime_minutes",
                    ("is_active", "sort_order"),
                ]
            },
        )
        groups = [
            (
                f"{gateway.name}: credentials",
                {
                    "fields": [_credential_field_name(gateway.code, spec.name) for spec in gateway.credential_fields],
                    "description": "Stored encrypted. Used only when this method's gateway is "
                    f"{gateway.name}. Webhook URL to give {gateway.name}: "
                    f"{reverse('payment_webhook', args=[gateway.code])} on this site's address.",
                },
            )
            for gateway in gateway_classes()
            if gateway.credential_fields
        ]
        return [main, *groups]

    @admin.display(description="Webhook URL")
    def webhook_url(self, obj):
        if not obj or not obj.gateway:
            return "-"
        return reverse("payment_webhook", args=[obj.gateway])

    @admin.display(description="Credentials")
    def credentials_test_link(self, obj):
        if not obj or not obj.pk or not obj.gateway:
            return "-"
        url = reverse("admin:billing_paymentmethod_test", args=[obj.pk])
        return format_html('<a class="button" href="{}">Test credentials…</a>', url)

    def get_urls(self):
        return [
            path(
                "<int:method_id>/test-credentials/",
                admin_permission_view(self, self.credentials_test_view, "billing.change_paymentmethod"),
                name="billing_paymentmethod_test",
            ),
        ] + super().get_urls()

    def _test(self, request, method: PaymentMethod) -> None:
        gateway = gateway_for(method.gateway)
        if gateway is None:
            self.message_user(request, f"{method}: manual, or its gateway is not available.", messages.WARNING)
            return
        try:
            text = gateway.credentials_test(credentials=method.credentials)
        except GatewayError as error:
            detail = f" ({error.detail})" if error.detail else ""
            self.message_user(request, f"{method}: {error.message}{detail}", messages.ERROR)
        except ImproperlyConfigured as error:
            self.message_user(request, f"{method}: {error}", messages.ERROR)
        else:
            self.message_user(request, f"{method}: {text}", messages.SUCCESS)

    @admin.action(description="Test credentials with the gateway", permissions=["change"])
    def test_credentials(self, request, queryset):
        for method in queryset:
            self._test(request, method)

    def credentials_test_view(self, request, method_id: int):
        method = get_object_or_404(PaymentMethod, pk=method_id)
        if request.method == "POST":
            self._test(request, method)
            return redirect("admin:billing_paymentmethod_change", method.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Test the credentials of {method}",
            "method": method,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/billing/paymentmethod/test_credentials.html", context)


@admin.register(DepositBonusTier)
class DepositBonusTierAdmin(ModelAdmin):
    list_display = ("min_amount", "percent")


class WebhookLogInline(TabularInline):
    model = WebhookLog
    fields = ("received_at", "gateway", "outcome", "http_status", "message")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(FundsRequest)
class FundsRequestAdmin(ModelAdmin):
    list_display = (
        "id",
        "created_at",
        "user",
        "method",
        "amount",
        "paid_amount",
        "credited_amount",
        "bonus_amount",
        "status",
        "gateway_reference",
        "reviewed_by",
    )
    list_filter = ("status", "method")
    search_fields = ("user__username", "note", "=id", "=reference", "=gateway_reference", "=gateway_payment_id")
    list_select_related = ("user", "method", "reviewed_by")
    actions = ["approve", "reject", "check_with_gateway", "reverse"]
    inlines = [WebhookLogInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in FundsRequest._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_approve_funds_permission(self, request) -> bool:
        return request.user.has_perm("billing.approve_funds")

    def has_reverse_deposit_permission(self, request) -> bool:
        return request.user.has_perm("billing.reverse_deposit")

    def _each(self, request, queryset, work, done: str) -> None:
        act_on_each(self, request, queryset, "Deposit", work, done)

    @admin.action(description="Approve and credit the customer", permissions=["approve_funds"])
    def approve(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda d: funds_request_approve(funds_request_id=d.pk, staff_id=request.user.pk),
            "credited {result.credited_amount} to {result.user}.",
        )

    @admin.action(description="Reject", permissions=["approve_funds"])
    def reject(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda d: funds_request_reject(funds_request_id=d.pk, staff_id=request.user.pk),
            "rejected.",
        )

    # A verified answer can credit the customer: a finance power, like approving.
    @admin.action(description="Ask the gateway about the payment now", permissions=["approve_funds"])
    def check_with_gateway(self, request, queryset):
        self._each(request, queryset, lambda d: deposit_check(deposit_id=d.pk), "{result.message}")

    @admin.action(
        description="Reverse: take back the credit, bonus and referrer's commission", permissions=["reverse_deposit"]
    )
    def reverse(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda d: deposit_reverse(deposit_id=d.pk, staff_id=request.user.pk),
            "reversed.",
        )


@admin.register(WebhookLog)
class WebhookLogAdmin(ModelAdmin):
    """Every notification received, accepted or refused: read only, for the operator's eyes."""

    list_display = ("received_at", "gateway", "outcome", "http_status", "deposit", "remote_addr", "message")
    list_filter = ("gateway", "outcome", "http_status")
    search_fields = ("message", "body", "=deposit__id", "=deposit__reference")
    list_select_related = ("deposit",)
    date_hierarchy = "received_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AffiliateAccount)
class AffiliateAccountAdmin(ModelAdmin):
    """Referral codes, who referred whom, affiliate balances. Only a referrer's own commission percent is edited."""

    list_display = ("user", "code", "referred_by", "commission_percent", "balance", "visits", "created_at")
    list_select_related = ("user", "referred_by__user")
    search_fields = ("user__username", "=code", "referred_by__user__username")
    fields = ("user", "code", "referred_by", "referred_at", "commission_percent", "balance", "visits", "created_at")
    readonly_fields = ("user", "code", "referred_by", "referred_at", "balance", "visits", "created_at")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AffiliateEntry)
class AffiliateEntryAdmin(ReadOnlyAdmin):
    """The affiliate balances' ledger, read only: it moves through the billing services."""

    list_display = ("id", "created_at", "account", "kind", "amount", "balance_after", "reference", "memo", "created_by")
    list_filter = ("kind", "created_at")
    search_fields = ("account__user__username", "reference", "memo")
    list_select_related = ("account", "created_by")
    date_hierarchy = "created_at"


@admin.register(AffiliatePayout)
class AffiliatePayoutAdmin(ReadOnlyAdmin):
    """Payout requests: approve once paid by hand (the amount was held at request), or reject (it returns)."""

    list_display = ("id", "created_at", "account", "amount", "details", "status", "reviewed_by", "reviewed_at")
    list_filter = ("status",)
    search_fields = ("account__user__username", "details", "=id")
    list_select_related = ("account__user", "reviewed_by")
    actions = ["approve", "reject"]

    def has_approve_affiliate_payout_permission(self, request) -> bool:
        return request.user.has_perm("billing.approve_affiliate_payout")

    def _each(self, request, queryset, work, done: str) -> None:
        act_on_each(self, request, queryset, "Payout", work, done)

    @admin.action(description="Approve: paid to the customer", permissions=["approve_affiliate_payout"])
    def approve(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda p: affiliate_payout_approve(payout_id=p.pk, staff_id=request.user.pk),
            "approved.",
        )

    @admin.action(description="Reject: return to the affiliate balance", permissions=["approve_affiliate_payout"])
    def reject(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda p: affiliate_payout_reject(payout_id=p.pk, staff_id=request.user.pk),
            "rejected, returned to the affiliate balance.",
        )
