from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db.models import Count, OuterRef, Subquery, Sum
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from unfold.admin import ModelAdmin, TabularInline
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from billing.models import LedgerEntry
from billing.selectors import referrer_of
from billing.services import balance_adjust
from core.admin import BigListMixin, Exact, Number, Prefix
from core.errors import PanelError
from core.money import money_form_field, money_sum_field
from core.staff import admin_permission_view
from orders.customer_prices import CustomerDiscount
from orders.models import NET_CHARGE, Order
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


class CustomerInline(TabularInline):
    """A customer's rows on their page, 10 at a time (a customer may have 50,000 orders); written by services."""

    extra = 0
    can_delete = False
    per_page = 10
    show_change_link = True

    def get_fields(self, request, obj=None):
        return self.readonly_fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CustomerOrdersInline(CustomerInline):
    model = Order
    verbose_name_plural = "orders (newest first)"
    readonly_fields = ("created_at", "service", "link", "quantity", "charge", "refunded", "status", "upstream_order_id")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(parent__isnull=True).select_related("service")


class CustomerLedgerInline(CustomerInline):
    model = LedgerEntry
    fk_name = "user"
    verbose_name_plural = "ledger (newest first)"
    readonly_fields = ("created_at", "kind", "amount", "balance_after", "reference", "memo")


@admin.register(User)
class UserAdmin(BigListMixin, DjangoUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    search_rules = (
        Number("id", "customer id"),
        Prefix("username", "username"),
        Exact("email", "e-mail", when=lambda term: "@" in term),
    )
    search_help_text = "The start of a username (case matters), an exact e-mail or a customer id."
    list_display = (
        "username",
        "email",
        "balance",
        "spent",
        "orders_count",
        "discount",
        "last_login",
        "is_active",
        "is_staff",
    )
    list_filter = ("is_active", "is_staff")
    inlines = [CustomerOrdersInline, CustomerLedgerInline]
    readonly_fields = ("balance", "api_key_prefix", "api_key_created_at", "balance_actions", "referrer")
    fieldsets = DjangoUserAdmin.fieldsets + (
        ("Money and API", {"fields": ("balance", "balance_actions", "api_key_prefix", "api_key_created_at")}),
        ("Affiliate", {"fields": ("referrer",)}),
    )

    def get_queryset(self, request):
        """The list shows each customer's orders and spending: per listed row, through the (user, id) index of
        their orders only (the change page does not need them)."""
        queryset = super().get_queryset(request)
        match = getattr(request, "resolver_match", None)
        if match is None or match.url_name != "panel_user_changelist":
            return queryset
        # A customer's own orders: a drip-feed's runs are the panel's (orders.selectors.customer_orders).
        orders = Order.objects.filter(user=OuterRef("pk"), parent__isnull=True).order_by().values("user")
        money = money_sum_field()
        return queryset.annotate(
            discount_percent=Subquery(CustomerDiscount.objects.filter(user=OuterRef("pk")).values("percent")[:1]),
            orders_total=Subquery(orders.annotate(total=Count("pk")).values("total")),
            spent_total=Subquery(
                orders.annotate(total=Sum(NET_CHARGE, output_field=money)).values("total"),
                output_field=money,
            ),
        )

    @admin.display(description="Referred by")
    def referrer(self, obj):
        referrer = referrer_of(user_id=obj.pk) if obj.pk else None
        if referrer is None:
            return "-"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:panel_user_change", args=[referrer.pk]), referrer.user.username
        )

    @admin.display(description="Discount")
    def discount(self, obj):
        if obj.discount_percent is None:
            return "-"
        return format_html(
            '<a href="{}">{}%</a>',
            reverse("admin:orders_customerdiscount_changelist") + f"?q={obj.username}",
            obj.discount_percent,
        )

    @admin.display(description="Spent")
    def spent(self, obj):
        return obj.spent_total if obj.spent_total is not None else "0"

    @admin.display(description="Orders")
    def orders_count(self, obj):
        if not obj.orders_total:
            return 0
        url = reverse("admin:orders_order_changelist") + f"?user__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, obj.orders_total)

    def get_urls(self):
        return [
            path(
                "<int:user_id>/balance/",
                admin_permission_view(self, self.balance_adjust_view, "billing.adjust_balance"),
                name="panel_user_balance",
            ),
        ] + super().get_urls()

    def get_fieldsets(self, request, obj=None):
        """A customer's page leaves out groups and permissions (they are for staff): the long permission lists
        are most of the page's weight. A superuser makes someone staff first, then grants them."""
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None:
            return fieldsets
        # Money right after the name: it is what an operator opens a customer's page for.
        money = [fieldset for fieldset in fieldsets if fieldset[0] == "Money and API"]
        others = [fieldset for fieldset in fieldsets if fieldset[0] != "Money and API"]
        fieldsets = others[:1] + money + others[1:]
        if obj.is_staff:
            return fieldsets
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f not in ("groups", "user_permissions")]})
            for name, options in fieldsets
        ]

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
class GroupAdmin(DjangoGroupAdmin, ModelAdmin):
    """Staff with `view_group` see what Support and Finance may do; only superusers change that."""

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return self.has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return self.has_add_permission(request)


@admin.register(DisplayCurrency)
class DisplayCurrencyAdmin(ModelAdmin):
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
