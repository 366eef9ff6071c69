"""The operators' admin for providers, the catalog and orders.

The Provider admin lives here rather than in `providers/` because its actions (sync now)
reach the catalog, and `providers/` never imports `orders/`. Every action calls a service and
declares the permission it needs (see core/staff.py); the Support group holds the order ones.
"""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.errors import PanelError
from core.staff import admin_permission_view
from orders.customer_prices import CustomerDiscount, CustomerRate
from orders.models import Alert, Category, Order, OrderEvent, Refill, Service, ServiceAlternative, ServiceChange
from orders.services.catalog import (
    catalog_reprice,
    service_operator_edit,
    services_set_enabled,
    services_sync,
    sync_progress,
)
from orders.services.customer_prices import discount_services_below_cost
from orders.services.failover import service_alternative_check
from orders.services.ordering import order_cancel_refund, order_review_attach, order_review_resend
from orders.services.transitions import FINAL
from providers.errors import ProviderError
from providers.models import Provider, ProviderService
from providers.services import provider_balance_check, provider_create, provider_update

# What provider_create and provider_update take.
PROVIDER_SETTINGS = [
    "name",
    "api_url",
    "api_key",
    "dialect",
    "exchange_rate",
    "is_active",
    "markup_percent",
    "markup_fixed",
    "hold_new_services",
    "low_balance_alert",
]


class ProviderForm(forms.ModelForm):
    api_url = forms.URLField(max_length=500, assume_scheme="https", help_text="e.g. https://example.com/api/v2")
    api_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Our key at the provider. Stored encrypted; leave empty to keep the current one.",
    )

    class Meta:
        model = Provider
        fields = PROVIDER_SETTINGS

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk and not cleaned.get("api_key", "").strip():
            self.add_error("api_key", "The provider's API key is required.")
        return cleaned

    def _post_clean(self):
        """Once the fields are valid, the one service saves the provider: it checks the settings and the
        connection, and nothing is saved if it refuses (the admin then shows its reason)."""
        super()._post_clean()
        if self.errors:
            return
        fields = {name: self.cleaned_data[name] for name in PROVIDER_SETTINGS if name != "api_key"}
        key = self.cleaned_data.get("api_key", "")
        try:
            if self.instance.pk:
                self.instance = provider_update(provider_id=self.instance.pk, api_key=key, **fields)
            else:
                self.instance = provider_create(api_key=key, **fields)
        except ProviderError as error:
            self.add_error(None, f"Connection check failed: {error.message}")
        except PanelError as error:
            self.add_error(None, error.message)


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    list_display = (
        "name",
        "api_url",
        "dialect",
        "balance_display",
        "markup_percent",
        "markup_fixed",
        "is_active",
        "hold_new_services",
        "last_sync_at",
        "sync_state",
    )
    list_filter = ("is_active", "dialect", "last_sync_ok")
    search_fields = ("name", "api_url")
    readonly_fields = ("currency", "balance", "balance_checked_at", "last_sync_at", "last_sync_ok", "last_sync_message")
    actions = ["test_connection", "sync_now", "reprice"]

    def save_model(self, request, obj, form, change):
        """Saved already, by provider_create or provider_update (ProviderForm)."""

    @admin.display(description="Sync")
    def sync_state(self, obj):
        progress = sync_progress(provider_id=obj.pk)
        if progress is not None:
            done, total = progress
            return f"syncing: {done} / {total or '?'} services"
        if obj.last_sync_ok is None:
            return "never synced"
        if not obj.last_sync_ok:
            return format_html('<strong style="color:#b00">failed: {}</strong>', obj.last_sync_message[:200])
        return obj.last_sync_message

    @admin.display(description="Balance")
    def balance_display(self, obj):
        if obj.balance is None:
            return "-"
        text = f"{obj.balance} {obj.currency}"
        if obj.balance < obj.low_balance_alert:
            return format_html('<strong style="color:#b00">{} (low)</strong>', text)
        return text

    def has_sync_catalog_permission(self, request) -> bool:
        """Syncing and re-pricing rewrite the catalog's services and their sale prices, not only the provider."""
        return request.user.has_perms(["providers.change_provider", "orders.change_service"])

    @admin.action(description="Test connection (balance)", permissions=["change"])
    def test_connection(self, request, queryset):
        for provider in queryset:
            try:
                provider_balance_check(provider=provider)
            except ProviderError as error:
                self.message_user(request, f"{provider}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"{provider}: OK, balance {provider.balance} {provider.currency}")

    @admin.action(description="Sync services now", permissions=["sync_catalog"])
    def sync_now(self, request, queryset):
        from orders.tasks import services_sync_task

        for provider in queryset:
            try:
                services_sync_task.delay(provider.pk)
            except Exception:
                report = services_sync(provider_id=provider.pk)
                self.message_user(request, f"{provider}: {report}")
            else:
                self.message_user(request, f"{provider}: sync started in the background; see its last sync.")

    @admin.action(description="Re-price services from the current markup", permissions=["sync_catalog"])
    def reprice(self, request, queryset):
        for provider in queryset:
            report = catalog_reprice(provider_id=provider.pk)
            self.message_user(request, f"{provider}: {report.updated} services re-priced")


@admin.register(ProviderService)
class ProviderServiceAdmin(admin.ModelAdmin):
    list_display = ("service_id", "provider", "name", "type", "category", "rate", "min", "max", "is_available")
    list_filter = ("provider", "is_available", "type")
    search_fields = ("name", "service_id", "category")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "sort_order", "is_enabled")
    list_editable = ("sort_order", "is_enabled")
    search_fields = ("name",)


class ServiceAlternativeForm(forms.ModelForm):
    class Meta:
        model = ServiceAlternative
        fields = ["position", "provider_service"]

    def clean(self):
        cleaned = super().clean()
        provider_service = cleaned.get("provider_service")
        if provider_service is not None and self.instance.service_id is not None:
            try:
                service_alternative_check(service=self.instance.service, provider_service=provider_service)
            except PanelError as error:
                self.add_error("provider_service", error.message)
        return cleaned


class ServiceAlternativeInline(admin.TabularInline):
    """Failover: where an order goes when the providers before it refuse it. Editing it takes the
    ServiceAlternative permissions (add, change, delete) on top of change_service."""

    model = ServiceAlternative
    form = ServiceAlternativeForm
    fk_name = "service"
    extra = 0
    autocomplete_fields = ("provider_service",)
    verbose_name = "alternative provider service (failover)"
    verbose_name_plural = "alternative provider services (failover, tried in order of position)"


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "name",
        "provider",
        "category",
        "type",
        "cost",
        "rate",
        "rate_override",
        "min",
        "max",
        "refill",
        "cancel",
        "is_enabled",
        "disabled_by",
    )
    list_filter = ("provider", "category", "is_enabled", "disabled_by", "type")
    search_fields = ("name", "provider_service__service_id")
    list_select_related = ("provider", "category")
    readonly_fields = (
        "provider",
        "provider_service",
        "type",
        "min",
        "max",
        "refill",
        "cancel",
        "cost",
        "rate",
        "average_completion",
        "disabled_by",
    )
    # What an operator may edit (sync keeps it), then what comes from the provider.
    fields = (
        "name",
        "category",
        "description",
        "rate_override",
        "is_enabled",
        "refuse_active_link",
        "dripfeed",
        "refill_days",
        *readonly_fields,
    )
    actions = ["enable", "disable"]
    inlines = [ServiceAlternativeInline]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        service_operator_edit(service=obj, changed=set(form.changed_data))

    @admin.action(description="Enable (put on sale)", permissions=["change"])
    def enable(self, request, queryset):
        count = services_set_enabled(service_ids=list(queryset.values_list("pk", flat=True)), enabled=True)
        self.message_user(request, f"{count} services enabled.")

    @admin.action(description="Disable (take off sale)", permissions=["change"])
    def disable(self, request, queryset):
        count = services_set_enabled(service_ids=list(queryset.values_list("pk", flat=True)), enabled=False)
        self.message_user(request, f"{count} services disabled.")


@admin.register(ServiceChange)
class ServiceChangeAdmin(admin.ModelAdmin):
    list_display = ("created_at", "service", "kind", "old_value", "new_value")
    list_filter = ("kind",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    """History shown on the order page; it is written only by the services."""

    extra = 0
    can_delete = False

    def get_fields(self, request, obj=None):
        return self.readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    readonly_fields = ("created_at", "from_status", "to_status", "actor", "reason")


class RefillInline(ReadOnlyInline):
    model = Refill
    readonly_fields = ("created_at", "status", "upstream_refill_id", "upstream_status", "error")


class AttachUpstreamForm(forms.Form):
    upstream_order_id = forms.CharField(max_length=64, label="The provider's order id")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "created_at",
        "user",
        "service",
        "link",
        "quantity",
        "charge",
        "refunded",
        "status",
        "upstream_order_id",
        "remains",
        "error",
    )
    list_filter = ("status", "provider", "created_at")
    search_fields = ("=id", "link", "user__username", "=upstream_order_id")
    list_select_related = ("user", "service")
    date_hierarchy = "created_at"
    inlines = [OrderEventInline, RefillInline]
    actions = ["resend", "cancel_and_refund"]

    def get_readonly_fields(self, request, obj=None):
        fields = [f.name for f in Order._meta.fields]
        if request.user.has_perm("orders.attach_upstream_id"):
            fields.append("review_actions")
        return fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "<int:order_id>/attach/",
                admin_permission_view(self, self.attach_view, "orders.attach_upstream_id"),
                name="orders_order_attach",
            ),
        ] + super().get_urls()

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm("orders.resend_order")

    def has_cancel_refund_permission(self, request) -> bool:
        return request.user.has_perm("orders.cancel_refund_order")

    @admin.display(description="Review")
    def review_actions(self, obj):
        if obj.status != Order.Status.NEEDS_REVIEW:
            return "-"
        return format_html(
            '<a class="button" href="{}">Attach the provider\'s order id</a>',
            reverse("admin:orders_order_attach", args=[obj.pk]),
        )

    def _each(self, request, queryset, service, verb):
        done = 0
        for order in queryset:
            try:
                service(order_id=order.pk, staff_id=request.user.pk)
            except PanelError as error:
                self.message_user(request, f"Order {order.pk}: {error.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, f"{done} orders {verb}.")

    @admin.action(description="Resend to the provider (needs review only)", permissions=["resend"])
    def resend(self, request, queryset):
        self._each(request, queryset.filter(status=Order.Status.NEEDS_REVIEW), order_review_resend, "queued again")

    @admin.action(
        description="Cancel and refund in full (awaiting placement or review only)", permissions=["cancel_refund"]
    )
    def cancel_and_refund(self, request, queryset):
        self._each(request, queryset.exclude(status__in=FINAL), order_cancel_refund, "cancelled and refunded")

    def attach_view(self, request, order_id):
        order = get_object_or_404(Order, pk=order_id)
        form = AttachUpstreamForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                order_review_attach(
                    order_id=order.pk,
                    upstream_order_id=form.cleaned_data["upstream_order_id"],
                    staff_id=request.user.pk,
                )
            except PanelError as error:
                form.add_error("upstream_order_id", error.message)
            else:
                self.message_user(request, f"Order {order.pk} attached; polling takes over.")
                return redirect("admin:orders_order_change", order.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Attach the provider's order id to order {order.pk}",
            "form": form,
            "order": order,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/orders/order/attach.html", context)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Alerts are raised and resolved by the periodic check (orders/services/alerts.py): read only."""

    list_display = ("first_seen_at", "kind", "message", "last_seen_at", "resolved_at", "notified_at")
    list_filter = ("kind", ("resolved_at", admin.EmptyFieldListFilter))
    search_fields = ("message", "=subject")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class BelowCostFilter(admin.SimpleListFilter):
    """Custom rates under the service's current cost: a sync may have raised the cost under them."""

    title = "below cost"
    parameter_name = "below_cost"

    def lookups(self, request, model_admin):
        return [("yes", "Below cost"), ("no", "At or above cost")]

    def queryset(self, request, queryset):
        below = CustomerRate.objects.below_cost().values("pk")
        if self.value() == "yes":
            return queryset.filter(pk__in=below)
        if self.value() == "no":
            return queryset.exclude(pk__in=below)
        return queryset


@admin.register(CustomerDiscount)
class CustomerDiscountAdmin(admin.ModelAdmin):
    """A customer's percent off every catalog price (`manage.py set_price CUSTOMER --discount 5` does the same)."""

    list_display = ("user", "percent", "services_below_cost", "note", "updated_at")
    search_fields = ("user__username", "user__email", "note")
    autocomplete_fields = ("user",)
    list_select_related = ("user",)
    fields = ("user", "percent", "note", "updated_at")
    readonly_fields = ("updated_at",)

    @admin.display(description="Services on sale below our cost")
    def services_below_cost(self, obj):
        below = discount_services_below_cost(user_id=obj.user_id, percent=obj.percent)
        return format_html('<strong class="staff-bad" data-testid="below-cost">{}</strong>', below) if below else 0


@admin.register(CustomerRate)
class CustomerRateAdmin(admin.ModelAdmin):
    """A customer's own price for one service: absolute, a sync never changes it; the filter finds those at a loss."""

    list_display = ("user", "service", "rate", "catalog_price", "cost", "margin")
    list_filter = (BelowCostFilter, "service__provider")
    search_fields = ("user__username", "user__email", "service__name", "=service__id")
    autocomplete_fields = ("user", "service")
    list_select_related = ("user", "service")
    fields = ("user", "service", "rate", "note", "catalog_price", "cost", "updated_at")
    readonly_fields = ("catalog_price", "cost", "updated_at")

    @admin.display(description="Catalog price")
    def catalog_price(self, obj):
        return obj.service.price if obj.service_id else "-"

    @admin.display(description="Our cost")
    def cost(self, obj):
        return obj.service.cost if obj.service_id else "-"

    @admin.display(description="Margin")
    def margin(self, obj):
        margin = obj.rate - obj.service.cost
        if margin < 0:
            return format_html('<strong class="staff-bad" data-testid="below-cost">{} (below cost)</strong>', margin)
        return margin
