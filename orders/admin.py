"""The operators' admin for providers, the catalog and orders.

The Provider admin lives here rather than in `providers/` because its actions (sync now)
reach the catalog, and `providers/` never imports `orders/`. Every action calls a service and
declares the permission it needs (see core/staff.py); the Support group holds the order ones.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.text import Truncator
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.filters.admin import (
    AutocompleteSelectFilter,
    ChoicesDropdownFilter,
    RangeDateFilter,
    RelatedDropdownFilter,
)

from core.admin import (
    BigListMixin,
    Contains,
    Exact,
    Number,
    Related,
    RememberingChangeList,
    action_confirmation,
    action_confirmed,
    action_report,
    action_too_many,
)
from core.errors import PanelError
from core.money import money_form_field
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
from orders.services.markup import services_markup_apply, services_markup_preview
from orders.services.ordering import (
    STAFF_CANCELLABLE,
    order_cancel_refund,
    order_review_attach,
    order_review_resend,
)
from orders.services.outcomes import (
    BY_HAND,
    CANCEL_BY_HAND,
    order_cancel_by_hand,
    order_mark_completed,
    order_mark_partial,
)
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
class ProviderAdmin(ModelAdmin):
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
class ProviderServiceAdmin(ModelAdmin):
    list_display = ("service_id", "provider", "name", "type", "category", "rate", "min", "max", "is_available")
    list_filter = ("provider", "is_available", "type")
    search_fields = ("name", "service_id", "category")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Category)
class CategoryAdmin(ModelAdmin):
    list_display = ("name", "sort_order", "is_enabled")
    list_editable = ("sort_order", "is_enabled")
    search_fields = ("name",)


class MarkupForm(forms.Form):
    scope = forms.ChoiceField(
        choices=[("category", "Every service of a category"), ("provider", "Every service of a provider")],
        widget=forms.RadioSelect,
        initial="category",
    )
    category = forms.ModelChoiceField(Category.objects.all(), required=False)
    provider = forms.ModelChoiceField(Provider.objects.order_by("name"), required=False)
    percent = forms.DecimalField(
        max_digits=7, decimal_places=2, label="Markup %", help_text="Price = cost × (1 + markup / 100) + fixed."
    )
    fixed = money_form_field(required=False, initial=0, label="Fixed markup per 1,000")

    def clean(self):
        cleaned = super().clean()
        scope = cleaned.get("scope")
        if scope and not cleaned.get(scope):
            self.add_error(scope, f"Choose the {scope}.")
        cleaned["fixed"] = cleaned.get("fixed") or Decimal("0")
        return cleaned

    def scope_kwargs(self) -> dict:
        scope = self.cleaned_data["scope"]
        return {f"{scope}_id": self.cleaned_data[scope].pk}


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


class ServiceAlternativeInline(TabularInline):
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
class ServiceAdmin(ModelAdmin):
    list_display = (
        "id",
        "name_short",
        "provider",
        "category",
        "cost",
        "price_display",
        "rate_override",
        "margin",
        "min",
        "max",
        "refill",
        "cancel",
        "is_enabled",
    )
    list_display_links = ("id", "name_short")
    list_editable = ("rate_override", "is_enabled")
    list_filter = (
        ("provider", RelatedDropdownFilter),
        ("category", RelatedDropdownFilter),
        "is_enabled",
        "disabled_by",
        "refill",
        "cancel",
    )
    list_filter_submit = True
    list_per_page = 50
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

    class Media:
        css = {"all": ("orders/console.css",)}

    def get_urls(self):
        return [
            path(
                "markup/",
                admin_permission_view(self, self.markup_view, "orders.change_service"),
                name="orders_service_markup",
            ),
        ] + super().get_urls()

    def get_changelist(self, request, **kwargs):
        return RememberingChangeList

    def changelist_view(self, request, extra_context=None):
        markup = reverse("admin:orders_service_markup") if request.user.has_perm("orders.change_service") else None
        return super().changelist_view(request, {**(extra_context or {}), "markup_url": markup})

    @admin.display(description="Name", ordering="name")
    def name_short(self, obj):
        return format_html('<span title="{}">{}</span>', obj.name, Truncator(obj.name).chars(40))

    @admin.display(description="Price")
    def price_display(self, obj):
        return obj.price

    @admin.display(description="Margin")
    def margin(self, obj):
        """What we keep of the price, in percent (of the price customers pay)."""
        if not obj.price:
            return "-"
        margin = (obj.price - obj.cost) / obj.price * 100
        css = "console-down" if margin < 0 else "console-up"
        return format_html('<span class="{}">{}%</span>', css, f"{margin:.1f}")

    def markup_view(self, request):
        """Bulk markup of a category or a provider: a preview of every price first, then the change."""
        form = MarkupForm(request.POST or None)
        preview = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            arguments = {"percent": data["percent"], "fixed": data["fixed"], **form.scope_kwargs()}
            try:
                if "apply" in request.POST:
                    changed = services_markup_apply(**arguments)
                    self.message_user(
                        request,
                        f"{len(changed)} prices changed: {data[data['scope']]}, markup {data['percent']}% "
                        f"+ {data['fixed']}.",
                        messages.SUCCESS,
                    )
                    return redirect("admin:orders_service_changelist")
                preview = services_markup_preview(**arguments)
            except PanelError as error:
                form.add_error(None, error.message)
        context = {
            **self.admin_site.each_context(request),
            "title": "Bulk markup",
            "form": form,
            "preview": preview[:MARKUP_PREVIEW_ROWS] if preview is not None else None,
            "preview_total": len(preview) if preview is not None else 0,
            "preview_changed": sum(1 for change in preview if change.changed) if preview is not None else 0,
            "preview_rows": MARKUP_PREVIEW_ROWS,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/orders/service/markup.html", context)

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
class ServiceChangeAdmin(ModelAdmin):
    list_display = ("created_at", "service", "kind", "old_value", "new_value")
    list_filter = ("kind",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyInline(TabularInline):
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


class DayRangeFilter(RangeDateFilter):
    """Orders created from one day to another, inclusive, in the panel's time zone: `created_at >= start of the
    first day AND < start of the day after the last`, which the index on created_at serves."""

    def queryset(self, request, queryset):
        bounds = {}
        for suffix, lookup, shift in (("_from", "gte", 0), ("_to", "lt", 1)):
            value = self.used_parameters.get(f"{self.parameter_name}{suffix}")
            if value in (None, ""):
                continue
            try:
                day = date.fromisoformat(str(value))
            except ValueError:
                return queryset.none()
            start = datetime.combine(day + timedelta(days=shift), time.min)
            bounds[f"{self.parameter_name}__{lookup}"] = timezone.make_aware(start)
        return queryset.filter(**bounds)


class ProviderFilter(RelatedDropdownFilter):
    """By provider, through the partial index `order_provider_recent`: its condition (id > 0) is stated here."""

    def queryset(self, request, queryset):
        filtered = super().queryset(request, queryset)
        if self.value() not in (None, "", []):
            return filtered.filter(id__gt=0)
        return filtered


class OutcomeForm(forms.Form):
    seen_status = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(max_length=400, help_text="Kept in the order's history, with your name.")


class PartialForm(OutcomeForm):
    remains = forms.IntegerField(min_value=1, max_value=2**63 - 1, help_text="How many units were NOT delivered.")


class CancelForm(OutcomeForm):
    refund = money_form_field(
        required=False, min_value=0, help_text="Empty: everything not yet refunded. Less for a partial refund."
    )


MARKUP_PREVIEW_ROWS = 500

# url name: (permission, label, form, the statuses it applies to)
OUTCOMES = {
    "mark_completed": ("orders.mark_completed_order", "Mark completed", OutcomeForm, BY_HAND),
    "mark_partial": ("orders.mark_partial_order", "Mark partial", PartialForm, BY_HAND),
    "cancel_by_hand": ("orders.cancel_order_by_hand", "Cancel with a refund", CancelForm, CANCEL_BY_HAND),
}


@admin.register(Order)
class OrderAdmin(BigListMixin, ModelAdmin):
    list_display = (
        "id",
        "customer",
        "service_short",
        "link_short",
        "quantity",
        "charge",
        "cost_display",
        "status_badge",
        "provider_order",
        "created",
    )
    list_display_links = ("id",)
    list_filter = (
        ("status", ChoicesDropdownFilter),
        ("provider", ProviderFilter),
        ("service", AutocompleteSelectFilter),
        ("created_at", DayRangeFilter),
    )
    list_filter_submit = True
    list_per_page = 50
    list_before_template = "admin/orders/order/status_tabs.html"
    change_form_before_template = "admin/orders/order/operator_actions.html"
    search_rules = (
        Number("id", "order id"),
        Exact("upstream_order_id", "provider's order id"),
        Related("user", "username", "customer"),
        Contains("link", "link"),
    )
    search_help_text = "An order id, the provider's order id, a customer's username or 3+ characters of the link."
    list_select_related = ("user", "service")
    inlines = [OrderEventInline, RefillInline]
    actions = ["resend", "cancel_and_refund"]

    class Media:
        css = {"all": ("orders/console.css",)}

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Order._meta.fields]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = Order.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        buttons = self.operator_buttons(order, user=request.user) if order is not None else []
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "operator_buttons": buttons})

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        outcome_urls = [
            path(
                f"<int:order_id>/{name.replace('_', '-')}/",
                admin_permission_view(self, partial(self.outcome_view, outcome=name), permission),
                name=f"orders_order_{name}",
            )
            for name, (permission, *_) in OUTCOMES.items()
        ]
        return [
            path(
                "<int:order_id>/attach/",
                admin_permission_view(self, self.attach_view, "orders.attach_upstream_id"),
                name="orders_order_attach",
            ),
            *outcome_urls,
        ] + super().get_urls()

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm("orders.resend_order")

    def has_cancel_refund_permission(self, request) -> bool:
        return request.user.has_perm("orders.cancel_refund_order")

    def changelist_view(self, request, extra_context=None):
        current = request.GET.get("status__exact", "")
        others = request.GET.copy()
        for name in ("status__exact", "p"):
            others.pop(name, None)
        review = Order.objects.filter(status=Order.Status.NEEDS_REVIEW).count()
        tabs = [("All", "", None)] + [
            (label, value, review if value == Order.Status.NEEDS_REVIEW else None)
            for value, label in Order.Status.choices
        ]
        status_tabs = []
        for label, value, count in tabs:
            query = others.copy()
            if value:
                query["status__exact"] = value
            status_tabs.append(
                {"label": label, "value": value, "count": count, "active": value == current, "query": query.urlencode()}
            )
        return super().changelist_view(request, {**(extra_context or {}), "status_tabs": status_tabs})

    @admin.display(description="Customer", ordering="user__username")
    def customer(self, obj):
        return format_html('<span class="console-nowrap">{}</span>', obj.user.username)

    @admin.display(description="Service")
    def service_short(self, obj):
        return format_html(
            '<span class="console-nowrap" title="{}">{}</span>', obj.service.name, Truncator(obj.service.name).chars(18)
        )

    @admin.display(description="Link")
    def link_short(self, obj):
        return format_html('<span class="console-link-cell" title="{}">{}</span>', obj.link, obj.link)

    @admin.display(description="Cost")
    def cost_display(self, obj):
        """The provider's own figure once it reported one, else what we expected to pay."""
        return obj.upstream_charge if obj.upstream_charge is not None else obj.cost

    @admin.display(description="Upstream id")
    def provider_order(self, obj):
        return obj.upstream_order_id or "-"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        return format_html('<span class="console-badge {}">{}</span>', obj.status, obj.get_status_display())

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj):
        created = timezone.localtime(obj.created_at)
        return format_html(
            '<span class="console-nowrap" title="{}">{}</span>',
            date_format(created, "Y-m-d H:i:s"),
            date_format(created, "d M H:i"),
        )

    def operator_buttons(self, obj, *, user) -> list[tuple[str, str]]:
        """(url, label) of what this staff member may do to this order in its status."""
        buttons = []
        if obj.status == Order.Status.NEEDS_REVIEW and user.has_perm("orders.attach_upstream_id"):
            buttons.append((reverse("admin:orders_order_attach", args=[obj.pk]), "Attach the provider's order id"))
        for name, (permission, label, _, statuses) in OUTCOMES.items():
            if obj.status in statuses and user.has_perm(permission):
                buttons.append((reverse(f"admin:orders_order_{name}", args=[obj.pk]), label))
        return buttons

    def _run_each(self, request, queryset, *, qualifies, service, done: str, title: str, button: str):
        """Confirm first (each order and what will happen to it), then run the service on each and say what
        happened to every one of them."""
        if action_too_many(self, request, queryset):
            return None
        orders = list(queryset.select_related("service").order_by("pk"))
        if not action_confirmed(request):
            plan = []
            for order in orders:
                why_not = qualifies(order)
                plan.append((order, why_not or done, not why_not))
            return action_confirmation(self, request, title=title, plan=plan, button=button)
        outcomes = []
        for order in orders:
            why_not = qualifies(order)
            if why_not:
                outcomes.append((order, f"Left as it is: {why_not}", False))
                continue
            try:
                service(order_id=order.pk, staff_id=request.user.pk)
            except PanelError as error:
                outcomes.append((order, f"Not done: {error.message}", False))
            else:
                outcomes.append((order, done, True))
        action_report(self, request, outcomes)
        return None

    @admin.action(description="Resend to the provider (needs review only)", permissions=["resend"])
    def resend(self, request, queryset):
        def qualifies(order):
            if order.status != Order.Status.NEEDS_REVIEW:
                return f"{order.get_status_display()}, not in review"
            return ""

        return self._run_each(
            request,
            queryset,
            qualifies=qualifies,
            service=order_review_resend,
            done="Queued again for placement",
            title="Resend these orders to their provider?",
            button="Resend",
        )

    @admin.action(
        description="Cancel and refund in full (awaiting placement or review only)", permissions=["cancel_refund"]
    )
    def cancel_and_refund(self, request, queryset):
        def qualifies(order):
            if order.status not in STAFF_CANCELLABLE:
                return (
                    f"{order.get_status_display()}: only orders awaiting placement or review are cancelled here; "
                    "running orders are cancelled at the provider"
                )
            return ""

        return self._run_each(
            request,
            queryset,
            qualifies=qualifies,
            service=order_cancel_refund,
            done="Cancelled and refunded in full",
            title="Cancel these orders and refund them in full?",
            button="Cancel and refund",
        )

    def _order_page(self, request, order, *, title: str, form, template: str):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "order": order,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, template, context)

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
        return self._order_page(
            request,
            order,
            title=f"Attach the provider's order id to order {order.pk}",
            form=form,
            template="admin/orders/order/attach.html",
        )

    def outcome_view(self, request, order_id, *, outcome: str):
        """Mark completed, mark partial or cancel with a refund: one form each, through orders.services.outcomes."""
        order = get_object_or_404(Order.objects.select_related("service", "user", "provider"), pk=order_id)
        _, label, form_class, _ = OUTCOMES[outcome]
        form = form_class(request.POST or None, initial={"seen_status": order.status})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            common = {
                "order_id": order.pk,
                "seen_status": data["seen_status"],
                "staff_id": request.user.pk,
                "reason": data["reason"],
            }
            try:
                if outcome == "mark_completed":
                    done = order_mark_completed(**common)
                elif outcome == "mark_partial":
                    done = order_mark_partial(remains=data["remains"], **common)
                else:
                    done = order_cancel_by_hand(refund=data["refund"], **common)
            except PanelError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(
                    request,
                    f"Order {done.pk}: {done.get_status_display()}, refunded {done.refunded} of {done.charge} in all.",
                    messages.SUCCESS,
                )
                return redirect("admin:orders_order_change", done.pk)
        return self._order_page(
            request,
            order,
            title=f"{label}: order {order.pk}",
            form=form,
            template="admin/orders/order/outcome.html",
        )


class ReadOnlyAdmin(ModelAdmin):
    """Written only by the services: staff read it."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Refill)
class RefillAdmin(BigListMixin, ReadOnlyAdmin):
    list_display = ("id", "created_at", "order", "user", "status", "upstream_refill_id", "upstream_status", "error")
    list_filter = ("status",)
    list_select_related = ("user", "order")
    search_rules = (Number("id", "refill id"), Number("order_id", "order id"), Related("user", "username", "customer"))
    search_help_text = "A refill id, an order id or a customer's username."


@admin.register(OrderEvent)
class OrderEventAdmin(BigListMixin, ReadOnlyAdmin):
    list_display = ("id", "created_at", "order", "from_status", "to_status", "actor", "reason")
    list_filter = ("to_status",)
    list_select_related = ("order",)
    search_rules = (Number("order_id", "order id"),)
    search_help_text = "An order id: its whole history."


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    """Alerts are raised and resolved by the periodic check (orders/services/alerts.py): read only."""

    list_display = ("first_seen_at", "kind", "message", "last_seen_at", "resolved_at", "notified_at")
    list_filter = ("kind", ("resolved_at", admin.EmptyFieldListFilter))
    search_fields = ("message", "=subject")


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
class CustomerDiscountAdmin(ModelAdmin):
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
class CustomerRateAdmin(ModelAdmin):
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
