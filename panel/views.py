"""The customer website: thin views that read the customer's own rows, call one service, and
render its result or its `PanelError` message."""

from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qs, urlencode, urlsplit

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from billing.views import referral_signup
from core.client_ip import client_ip
from core.errors import PanelError
from core.ids import id_parse
from core.money import RATE_UNIT, money_str
from orders.models import Category, Order, Refill, Service, ServiceChange
from orders.order_fields import DRIPFEED_FIELDS
from orders.order_types import SUBSCRIPTION_HOLD_POSTS, order_type_for
from orders.pricing import PriceList, discounted_rate, price_list_for, service_package_price
from orders.rules import (
    RefillWait,
    order_can_cancel,
    order_can_refill,
    order_cancel_pending,
    order_refill_refusal,
    refill_wait,
)
from orders.selectors import (
    customer_order_totals,
    customer_orders,
    order_status_counts,
    orders_last_refill,
    services_for_sale,
)
from orders.services.dripfeed import customer_order_cancel
from orders.services.ordering import order_create, refill_request
from orders.statuses import PROTOCOL_STATUS, REFILL_STATUS
from panel.api_docs import PHP_EXAMPLE, PYTHON_EXAMPLE, api_sections
from panel.formatting import duration_words, refill_words
from panel.forms import (
    ORDER_FIELDS,
    MassOrderForm,
    NewOrderForm,
    PasswordResetRequestForm,
    ProductOrderForm,
    SignupForm,
    TwoFactorCodeForm,
    mass_order_error_words,
    mass_order_line_parse,
    service_for_js,
    service_order_fields,
    service_price_by,
    service_rate_unit,
    service_required_fields,
    service_takes_dripfeed,
)
from panel.selectors import favourite_service_ids
from panel.services import (
    TwoFactorError,
    api_key_rotate,
    customer_create,
    favourite_set,
    staff_totp_device,
    staff_totp_disable,
    staff_totp_enrolment_confirm,
    staff_totp_enrolment_start,
)
from panel.throttling import rate_limit_hit, wait_in_words

ORDERS_PER_PAGE = 25
REFILLS_PER_PAGE = 25
UPDATES_PER_PAGE = 50
RECENT_ORDERS = 10
MASS_RESULTS_SESSION_KEY = "mass_order_results"
SEARCH_MAX_LENGTH = 200

S = Order.Status
# The tabs of the orders page, in the words customers (and /api/v2) use: the panel's own
# steps before an order reaches the provider all read "Pending".
STATUS_TABS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pending": (gettext_lazy("Pending"), (S.AWAITING, S.PLACING, S.NEEDS_REVIEW, S.PENDING)),
    "in_progress": (gettext_lazy("In progress"), (S.IN_PROGRESS,)),
    "processing": (gettext_lazy("Processing"), (S.PROCESSING,)),
    "completed": (gettext_lazy("Completed"), (S.COMPLETED,)),
    "partial": (gettext_lazy("Partial"), (S.PARTIAL,)),
    "canceled": (gettext_lazy("Canceled"), (S.CANCELED,)),
}
TAB_OF_STATUS = {status: tab for tab, (_, statuses) in STATUS_TABS.items() for status in statuses}
# The protocol's status words (panel.api), as the website shows them in the customer's language.
STATUS_WORDS = {
    "Pending": gettext_lazy("Pending"),
    "In progress": gettext_lazy("In progress"),
    "Processing": gettext_lazy("Processing"),
    "Completed": gettext_lazy("Completed"),
    "Partial": gettext_lazy("Partial"),
    "Canceled": gettext_lazy("Canceled"),
    "Rejected": gettext_lazy("Rejected"),
}
# The orders page's kinds (each its own address and sidebar entry, with the status tabs within).
ORDER_KINDS: dict[str, tuple[str, Q]] = {
    "dripfeed": (gettext_lazy("Drip-feed"), Q(runs__isnull=False)),
    "subscriptions": (gettext_lazy("Subscriptions"), Q(service__type__iexact="subscriptions")),
}


def _refill_wait_words(wait: RefillWait | None) -> str:
    """Why the refill button is missing, for an order whose refill only waits (orders.rules.refill_wait)."""
    if wait is None:
        return ""
    if wait.open:
        return gettext("Refill in progress")
    return gettext("Refill again after %(time)s") % {"time": f"{timezone.localtime(wait.until):%Y-%m-%d %H:%M}"}


def _order_rows(orders) -> list[Order]:
    """Orders with what the page shows of them: the customer's status words and the actions orders.rules allows."""
    rows = list(orders)
    now = timezone.now()
    refillable = {o.pk for o in rows if order_refill_refusal(order=o, now=now) is None}
    last = orders_last_refill(orders=[o for o in rows if o.pk in refillable])
    for order in rows:
        # What the customer paid in the end: the charge net of refunds (the refund shown beside it).
        order.charge_shown = money_str(order.net_charge)
        order.refunded_shown = money_str(order.refunded) if order.refunded else ""
        order.status_label = STATUS_WORDS[PROTOCOL_STATUS[order.status]]
        order.status_tab = TAB_OF_STATUS[order.status]
        # Only an order whose refill would otherwise be taken says why it waits.
        order.refill_wait = _refill_wait_words(refill_wait(last_refill=last.get(order.pk), now=now))
        order.can_refill = order_can_refill(order=order, last_refill=last.get(order.pk), now=now)
        order.can_cancel = order_can_cancel(order=order)
        order.cancel_pending = order_cancel_pending(order=order)
    return rows


def _priced(services, *, prices: PriceList) -> list:
    """Services with this customer's price per 1000 (orders.pricing) as they read it ("1.20", not "1.20000")."""
    rows = list(services)
    for service in rows:
        service.customer_rate = prices.rate(service)
        service.price_shown = money_str(service.customer_rate)
        service.per_unit = service_rate_unit(service) != RATE_UNIT
        service.price_unit = gettext("each") if service.per_unit else gettext("per 1000")
        service.average_shown = duration_words(service.average_completion)
        service.refill_shown = refill_words(service)
        service.package_price_shown = (
            money_str(service_package_price(service=service, prices=prices))
            if order_type_for(service.type).is_package
            else ""
        )
    return rows


# The new-order page script's words (panel/static/panel/order.js), the same messages as the template's.
ORDER_PAGE_WORDS = {
    "per1000": gettext_lazy("per 1000"),
    "each": gettext_lazy("each"),
    "noMatch": gettext_lazy("No service matches"),
    "noFavourites": gettext_lazy("No favourites yet: star a service"),
    "yes": gettext_lazy("Yes"),
    "no": gettext_lazy("No"),
    "limits": gettext_lazy("Min %(min)s – Max %(max)s"),
    "package": gettext_lazy("%(size)s for %(price)s %(PANEL_CURRENCY)s"),
    "postsHold": gettext_lazy("Empty: unlimited, charged as %(hold_posts)s posts up front."),
    "favourites": gettext_lazy("★ Favourites (%(count)s)"),
}


def _order_received(order: Order) -> str:
    words = {"order": order.pk, "amount": money_str(order.charge), "currency": settings.PANEL_CURRENCY}
    return gettext("Order %(order)s received: %(amount)s %(currency)s charged.") % words


def _search_query(request: HttpRequest) -> str:
    """The search box's text, trimmed to what a search needs (NUL bytes never get here: see panel.middleware)."""
    return request.GET.get("q", "").strip()[:SEARCH_MAX_LENGTH]


def _id_param(value: str | None) -> int:
    """An id from a query string or a hidden field, or 0 for anything that is not one."""
    return id_parse(value or "") or 0


def _back(request: HttpRequest, default: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(default)


# Auth


def login_locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """What django-axes answers a locked-out sign-in, on /login/ and the admin's login alike."""
    context = {"cooloff": wait_in_words(settings.LOGIN_COOLOFF_MINUTES * 60)}
    return render(request, "registration/locked_out.html", context, status=429)


def _too_many(form, message: str, wait: int) -> None:
    form.add_error(
        None, gettext("%(problem)s: try again in %(wait)s.") % {"problem": message, "wait": wait_in_words(wait)}
    )


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        wait = rate_limit_hit(scope="signup", ident=client_ip(request), rate=settings.SIGNUP_RATE)
        if wait:
            _too_many(form, gettext("Too many sign-ups from your address"), wait)
            return render(request, "registration/signup.html", {"form": form}, status=429)
    if request.method == "POST" and form.is_valid():
        try:
            user, _key = customer_create(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except PanelError as error:
            form.add_error("username", error.message)
        else:
            referral_signup(request, user)
            # The API key made with the account is not shown: keys are shown once, on the
            # Account page, where the customer makes one when they want it.
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request, gettext("Welcome, %(name)s! Add funds, then place your first order.") % {"name": user.username}
            )
            return redirect("dashboard")
    return render(request, "registration/signup.html", {"form": form})


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset page; the mail leaves from a Celery task, and requests are counted per
    address and per e-mail (the same answer whether or not an account has that e-mail)."""

    form_class = PasswordResetRequestForm

    def form_valid(self, form):
        checks = [
            ("ip", client_ip(self.request), gettext("Too many password reset requests from your address")),
            ("email", form.cleaned_data["email"].lower(), gettext("Too many password reset requests for this e-mail")),
        ]
        for scope, ident, message in checks:
            wait = rate_limit_hit(scope=f"password-reset-{scope}", ident=ident, rate=settings.PASSWORD_RESET_RATE)
            if wait:
                _too_many(form, message, wait)
                response = self.form_invalid(form)
                response.status_code = 429
                return response
        return super().form_valid(form)


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Staff turn two-factor sign-in (TOTP) on or off; customers have no use for it yet."""
    if not request.user.is_staff:
        raise Http404("Two-factor sign-in is for staff accounts.")
    device = staff_totp_device(user=request.user)
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            if device is None:
                device = staff_totp_enrolment_confirm(user=request.user, token=form.cleaned_data["token"])
                # This session has just shown a right code: the admin needs no second one.
                otp_login(request, device)
                messages.success(request, "Two-factor sign-in is on: the admin will ask for a code from your app.")
            else:
                staff_totp_disable(user=request.user, token=form.cleaned_data["token"])
                messages.success(request, "Two-factor sign-in is off.")
        except TwoFactorError as error:
            form.add_error("token", error.message)
        else:
            return redirect("two_factor")
    context = {"form": form, "device": device, "required": settings.STAFF_REQUIRE_2FA}
    if device is None:
        enrolment = staff_totp_enrolment_start(user=request.user)
        url = enrolment.config_url
        context["secret"] = parse_qs(urlsplit(url).query)["secret"][0]
        # An inline <svg> (no script, no data: URL): allowed by our Content-Security-Policy.
        context["qr_svg"] = mark_safe(segno.make(url, error="m").svg_inline(scale=4, omitsize=False))  # noqa: S308
    response = render(request, "panel/two_factor.html", context)
    add_never_cache_headers(response)
    return response


# Pages


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    mine = customer_orders(user=request.user)
    totals = customer_order_totals(user=request.user)
    context = {
        "balance": money_str(request.user.balance),
        "spent": money_str(totals["spent"]),
        "order_count": totals["count"],
        "active_count": totals["active"],
        "order_rows": _order_rows(mine.select_related("service")[:RECENT_ORDERS]),
    }
    return render(request, "panel/dashboard.html", context)


@login_required
def new_order(request: HttpRequest) -> HttpResponse:
    prices = price_list_for(user=request.user)
    catalog = _priced(services_for_sale(), prices=prices)
    by_id = {service.pk: service for service in catalog}
    favourites = favourite_service_ids(user=request.user)
    form = NewOrderForm(request.POST or None, services=services_for_sale())
    if request.method == "POST" and form.is_valid():
        try:
            order = order_create(user=request.user, service_id=form.cleaned_data["service"].pk, data=form.order_data())
        except PanelError as error:
            form.add_order_error(error)
        else:
            messages.success(request, _order_received(order))
            return redirect("orders")

    chosen_id = _id_param(request.POST.get("service") or request.GET.get("service"))
    categories = list({service.category_id: service.category for service in catalog}.values())
    selected = by_id.get(chosen_id)
    if selected is None:
        category_id = _id_param(request.GET.get("category"))
        selected = next((s for s in catalog if s.category_id == category_id), catalog[0] if catalog else None)

    shown = set(service_order_fields(selected)) if selected else set()
    required = set(service_required_fields(selected)) if selected else set()
    dripfeed_on = bool(selected and service_takes_dripfeed(selected) and request.POST.get("dripfeed"))
    order_fields = [
        {"name": name, "field": form[name], "shown": name in shown, "required": name in required}
        for name in ORDER_FIELDS
    ] + [{"name": name, "field": form[name], "shown": dripfeed_on, "dripfeed": True} for name in DRIPFEED_FIELDS]
    context = {
        "form": form,
        "balance": money_str(request.user.balance),
        # The selected service comes from the priced catalog (this customer's prices): its words are there already.
        "selected_rate": selected.price_shown if selected else "",
        "selected_unit": selected.price_unit if selected else "",
        "selected_price_by": service_price_by(selected) if selected else "",
        "selected_refill": selected.refill_shown if selected else "",
        "selected_average": selected.average_shown if selected else "",
        "selected_package_price": selected.package_price_shown if selected else "",
        "hold_posts": SUBSCRIPTION_HOLD_POSTS,
        "categories": categories,
        "catalog": catalog,
        "selected": selected,
        "selected_takes_dripfeed": bool(selected and service_takes_dripfeed(selected)),
        "order_fields": order_fields,
        "services_data": [{**service_for_js(s, prices=prices), "favourite": s.pk in favourites} for s in catalog],
        "order_words": ORDER_PAGE_WORDS,
        "favourites": [service for service in catalog if service.pk in favourites],
    }
    return render(request, "panel/new_order.html", context)


@login_required
def mass_order(request: HttpRequest) -> HttpResponse:
    form = MassOrderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        results = []
        for number, line in enumerate(form.cleaned_data["orders"], start=1):
            # Each line is its own order_create call, hence its own transaction: a refused
            # line leaves the others placed.
            try:
                service_id, link, quantity = mass_order_line_parse(line)
                order = order_create(
                    user=request.user, service_id=service_id, data={"link": link, "quantity": quantity}
                )
            except ValueError as error:
                results.append({"line": number, "text": line, "order": None, "error": str(error)})
            except PanelError as error:
                results.append({"line": number, "text": line, "order": None, "error": mass_order_error_words(error)})
            else:
                results.append({"line": number, "text": line, "order": order.pk, "charge": money_str(order.charge)})
        placed = sum(1 for result in results if result["order"])
        level = messages.SUCCESS if placed == len(results) else messages.WARNING
        words = ngettext(
            "%(placed)s of %(count)s order placed.", "%(placed)s of %(count)s orders placed.", len(results)
        )
        messages.add_message(request, level, words % {"placed": placed, "count": len(results)})
        # Shown after a redirect, so that reloading the page never places the orders twice.
        request.session[MASS_RESULTS_SESSION_KEY] = results
        return redirect("mass_order")
    results = request.session.pop(MASS_RESULTS_SESSION_KEY, None) if request.method == "GET" else None
    refused = [result["text"] for result in results or () if not result["order"]]
    if refused:
        # The refused lines wait in the box, to be fixed and sent again.
        form = MassOrderForm(initial={"orders": "\n".join(refused)})
    return render(request, "panel/mass_order.html", {"form": form, "results": results, "refused": len(refused)})


@login_required
def orders(request: HttpRequest, kind: str = "") -> HttpResponse:
    mine = customer_orders(user=request.user)
    if kind:
        mine = mine.filter(ORDER_KINDS[kind][1])
    tab = request.GET.get("status", "")
    if tab not in STATUS_TABS:
        tab = ""
    query = _search_query(request)
    counts = order_status_counts(orders=mine)
    tabs = [{"key": "", "label": gettext("All"), "count": sum(counts.values())}] + [
        {"key": key, "label": label, "count": sum(counts.get(s, 0) for s in statuses)}
        for key, (label, statuses) in STATUS_TABS.items()
    ]
    listed = mine.select_related("service")
    if tab:
        listed = listed.filter(status__in=STATUS_TABS[tab][1])
    if query:
        match = Q(link__icontains=query)
        if (number := id_parse(query)) is not None:
            match |= Q(pk=number)
        listed = listed.filter(match)
    page = Paginator(listed, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "order_rows": _order_rows(page.object_list),
        "tabs": tabs,
        "tab": tab,
        "query": query,
        "page_params": urlencode({k: v for k, v in (("status", tab), ("q", query)) if v}),
        "kind": kind,
        "kind_label": ORDER_KINDS[kind][0] if kind else "",
    }
    return render(request, "panel/orders.html", context)


def _own_order_or_404(request: HttpRequest, order_id: int) -> None:
    if not Order.objects.filter(pk=order_id, user=request.user).exists():
        raise Http404("No such order.")


@login_required
@require_POST
def order_refill(request: HttpRequest, order_id: int) -> HttpResponse:
    _own_order_or_404(request, order_id)
    try:
        refill = refill_request(user=request.user, order_id=order_id)
    except PanelError as error:
        messages.error(request, gettext("Order %(order)s: %(error)s") % {"order": order_id, "error": error.message})
    else:
        messages.success(
            request,
            gettext("Refill %(refill)s requested for order %(order)s.") % {"refill": refill.pk, "order": order_id},
        )
    return _back(request, "orders")


@login_required
@require_POST
def order_cancel(request: HttpRequest, order_id: int) -> HttpResponse:
    _own_order_or_404(request, order_id)
    try:
        order = customer_order_cancel(user=request.user, order_id=order_id)
    except PanelError as error:
        messages.error(request, gettext("Order %(order)s: %(error)s") % {"order": order_id, "error": error.message})
    else:
        words = {"order": order_id, "amount": money_str(order.refunded)}
        if order.status == S.CANCELED:
            messages.success(request, gettext("Order %(order)s cancelled and %(amount)s refunded.") % words)
        elif order.dripfeed_by_panel:
            messages.success(
                request,
                gettext(
                    "Order %(order)s: the runs not yet placed are stopped and %(amount)s refunded; "
                    "the runs under way are cancelled at the provider where it allows."
                )
                % words,
            )
        else:
            messages.success(request, gettext("Cancellation of order %(order)s requested from the provider.") % words)
    return _back(request, "orders")


@login_required
def refills(request: HttpRequest) -> HttpResponse:
    mine = Refill.objects.filter(user=request.user).select_related("order__service")
    page = Paginator(mine, REFILLS_PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    for refill in rows:
        refill.status_label = STATUS_WORDS[REFILL_STATUS[refill.status]]
    return render(request, "panel/refills.html", {"page": page, "refill_rows": rows})


@login_required
def services(request: HttpRequest) -> HttpResponse:
    listed = services_for_sale()
    categories = Category.objects.filter(pk__in=listed.values("category_id")).order_by("sort_order", "name")
    category_id = _id_param(request.GET.get("category"))
    query = _search_query(request)
    if category_id:
        listed = listed.filter(category_id=category_id)
    if query:
        match = Q(name__icontains=query)
        if (number := id_parse(query)) is not None:
            match |= Q(pk=number)
        listed = listed.filter(match)
    context = {
        "services": _priced(listed, prices=price_list_for(user=request.user)),
        "categories": categories,
        "category_id": category_id,
        "query": query,
        "favourites": favourite_service_ids(user=request.user),
    }
    return render(request, "panel/services.html", context)


@login_required
def products(request: HttpRequest) -> HttpResponse:
    """Seed 003's products: sold per unit, with their stock as the provider last reported it."""
    listed = _priced(services_for_sale(kind=Service.Kind.PRODUCT), prices=price_list_for(user=request.user))
    return render(request, "panel/products.html", {"products": listed})


@login_required
def product_order(request: HttpRequest, product_id: int) -> HttpResponse:
    product = services_for_sale(kind=Service.Kind.PRODUCT).filter(pk=product_id).first()
    if product is None:
        raise Http404("No such product.")
    form = ProductOrderForm(request.POST or None, product=product)
    if request.method == "POST" and form.is_valid():
        try:
            order = order_create(
                user=request.user, service_id=product.pk, data=form.order_data(), kind=Service.Kind.PRODUCT
            )
        except PanelError as error:
            form.add_order_error(error)
        else:
            messages.success(request, _order_received(order))
            return redirect("orders")
    prices = price_list_for(user=request.user, service_ids=[product.pk])
    context = {
        "form": form,
        "product": _priced([product], prices=prices)[0],
        "balance": money_str(request.user.balance),
    }
    return render(request, "panel/product_order.html", context)


@login_required
@require_POST
def service_favourite(request: HttpRequest, service_id: int) -> HttpResponse:
    """Star or unstar a service: JSON for the page's script, a redirect back for a plain form."""
    wants_json = request.headers.get("Accept", "").startswith("application/json")
    try:
        favourite = favourite_set(
            user=request.user, service_id=service_id, favourite=request.POST.get("favourite") == "1"
        )
    except PanelError as error:
        if wants_json:
            return JsonResponse({"error": error.message}, status=404)
        messages.error(
            request, gettext("Service %(service)s: %(error)s") % {"service": service_id, "error": error.message}
        )
        return _back(request, "services")
    if wants_json:
        return JsonResponse({"service": service_id, "favourite": favourite})
    return _back(request, "services")


@login_required
def account(request: HttpRequest) -> HttpResponse:
    return render(request, "panel/account.html", {"balance": money_str(request.user.balance)})


@login_required
@require_POST
def api_key_new(request: HttpRequest) -> HttpResponse:
    key = api_key_rotate(user=request.user)
    # Rendered, not redirected: the key exists in full only in this response.
    response = render(request, "panel/api_key_new.html", {"api_key": key})
    add_never_cache_headers(response)
    return response


def _updates_value(kind: str, value: str, *, discount: Decimal = Decimal(0)) -> str:
    if kind == ServiceChange.Kind.RATE and value:
        try:
            return money_str(discounted_rate(price=Decimal(value), percent=discount))
        except InvalidOperation:
            return value
    return value


@login_required
def updates(request: HttpRequest) -> HttpResponse:
    # A change is news only about a service customers can buy, or one that just went away.
    on_sale = services_for_sale().values("pk")
    changes = ServiceChange.objects.filter(Q(service__in=on_sale) | Q(kind=ServiceChange.Kind.REMOVED)).select_related(
        "service"
    )
    page = Paginator(changes, UPDATES_PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    # A rate change is told in the customer's own prices: less their discount, or their own rate, which no
    # catalog change reprices (orders.pricing).
    prices = price_list_for(user=request.user, service_ids={c.service_id for c in rows})
    for change in rows:
        change.own_rate = money_str(prices.custom_rates[change.service_id]) if prices.is_custom(change.service) else ""
        discount = prices.discount_percent if not change.own_rate else Decimal(0)
        change.old_shown = _updates_value(change.kind, change.old_value, discount=discount)
        change.new_shown = _updates_value(change.kind, change.new_value, discount=discount)
    context = {"page": page, "change_rows": rows, "discount": f"{prices.discount_percent.normalize():f}"}
    return render(request, "panel/updates.html", context)


# The API documentation page


@login_required
def api_docs(request: HttpRequest) -> HttpResponse:
    url = request.build_absolute_uri(reverse("api_v2"))
    context = {
        "api_url": url,
        "sections": api_sections(currency=settings.PANEL_CURRENCY),
        "python_example": PYTHON_EXAMPLE.format(url=url),
        "php_example": PHP_EXAMPLE.format(url=url),
    }
    return render(request, "panel/api_docs.html", context)
