"""The customer's money pages (add funds, deposits, transactions, affiliates), referral links and the gateways'
webhooks.

Thin views: they parse input, call one `billing.services` function, and render its result or
its `PanelError` message. The page a customer comes back to from a gateway only shows the
deposit's state (polled as JSON by static JS); it never credits anything.
"""

import csv
import logging
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.gateways import Notification, gateway_for, gateways_available, test_gateway_enabled
from billing.gateways.test import TestGateway
from billing.models import AffiliateEntry, AffiliatePayout, DepositBonusTier, FundsRequest, LedgerEntry, PaymentMethod
from billing.selectors import affiliate_summary, ledger_entries_for, ledger_link
from billing.services import (
    BALANCE_LIMIT,
    affiliate_account_get,
    affiliate_commission_percent,
    affiliate_payout_request,
    affiliate_referrer_set,
    affiliate_transfer,
    affiliate_visit_record,
    deposit_amount_bounds,
    deposit_notification_receive,
    deposit_start,
    funds_request_create,
)
from core.client_ip import client_ip
from core.errors import PanelError
from core.money import money_display, money_form_field, money_str

DEPOSITS_PER_PAGE = 25
TRANSACTIONS_PER_PAGE = 50
RECENT_DEPOSITS = 10
STATUS_POLL_MS = 3000
# Headers kept in the webhook log: what tells a gateway's request apart, never cookies or auth.
LOGGED_HEADERS = {"content-type", "user-agent", "x-nowpayments-sig", "x-forwarded-for", "x-real-ip", "content-length"}
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# The referral cookie: the referrer's code, signed (a visitor cannot forge or edit one) and dated by the signature,
# so a signup more than AFFILIATE_COOKIE_DAYS after the visit is not attributed even if the browser kept it.
REFERRAL_COOKIE = "panel_ref"
REFERRAL_COOKIE_SALT = "billing.referral"
AFFILIATE_ROWS = 25
logger = logging.getLogger("billing.affiliates")


def _methods():
    """Active methods customers can use now: manual ones and those whose gateway is available here."""
    return PaymentMethod.objects.filter(is_active=True).filter(
        Q(gateway="") | Q(gateway__in=list(gateways_available()))
    )


class AddFundsForm(forms.Form):
    method = forms.ModelChoiceField(
        queryset=PaymentMethod.objects.none(), empty_label=None, label=gettext_lazy("Method")
    )
    amount = forms.CharField(
        label=gettext_lazy("Amount"),
        max_length=40,
        error_messages={
            "max_length": gettext_lazy("Enter an amount such as 25 or 25.50."),
            "required": gettext_lazy("Enter an amount."),
        },
    )
    note = forms.CharField(max_length=255, required=False, label=gettext_lazy("Payment reference (optional)"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["method"].queryset = _methods()

    def clean_amount(self) -> Decimal:
        text = self.cleaned_data["amount"].strip()
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise forms.ValidationError(gettext("Enter an amount such as 25 or 25.50.")) from None
        if not amount.is_finite():
            raise forms.ValidationError(gettext("Enter an amount such as 25 or 25.50."))
        if amount <= 0:
            raise forms.ValidationError(gettext("Enter an amount above zero."))
        if amount >= BALANCE_LIMIT:
            raise forms.ValidationError(gettext("That amount is far above what a deposit can be."))
        if -amount.as_tuple().exponent > settings.MONEY_DECIMAL_PLACES:
            raise forms.ValidationError(
                gettext("Enter at most %(places)s decimals.") % {"places": settings.MONEY_DECIMAL_PLACES}
            )
        return amount

    def clean(self):
        cleaned = super().clean()
        method, amount = cleaned.get("method"), cleaned.get("amount")
        if method is not None and amount is not None:
            low, high = deposit_amount_bounds(method=method)
            if not low <= amount <= high:
                self.add_error(
                    "amount",
                    gettext("%(method)s takes from %(low)s to %(high)s %(currency)s.")
                    % {
                        "method": method.name,
                        "low": money_display(low, exact=True),
                        "high": money_display(high, exact=True),
                        "currency": settings.PANEL_CURRENCY,
                    },
                )
        return cleaned


def _absolute(request: HttpRequest, path: str) -> str:
    base = settings.PANEL_BASE_URL
    return f"{base}{path}" if base else request.build_absolute_uri(path)


@login_required
def add_funds(request: HttpRequest) -> HttpResponse:
    form = AddFundsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        method = form.cleaned_data["method"]
        try:
            deposit = funds_request_create(
                user_id=request.user.pk,
                method_id=method.pk,
                amount=form.cleaned_data["amount"],
                note=form.cleaned_data["note"],
            )
        except PanelError as error:
            form.add_error("amount", error.message)
        else:
            if not deposit.method.gateway:
                messages.success(
                    request,
                    gettext("Request %(id)s sent: your balance is credited once we approve it.") % {"id": deposit.pk},
                )
                return redirect("add_funds")
            try:
                deposit_start(
                    deposit_id=deposit.pk,
                    notify_url=_absolute(request, reverse("payment_webhook", args=[method.gateway])),
                    back_url=_absolute(request, reverse("deposit_detail", args=[deposit.pk])),
                )
            except PanelError as error:
                messages.error(request, error.message)
                return redirect("deposit_detail", deposit.pk)
            # Our own page sends the customer on (a link, or Perfect Money's form) and is where they come back.
            return redirect(reverse("deposit_detail", args=[deposit.pk]) + "?pay=1")
    recent = list(FundsRequest.objects.filter(user=request.user).select_related("method")[:RECENT_DEPOSITS])
    for deposit in recent:
        deposit.status_label = _status_label(deposit)
    methods = list(_methods())
    for method in methods:
        method.low, method.high = deposit_amount_bounds(method=method)
    context = {
        "form": form,
        "methods": methods,
        "tiers": DepositBonusTier.objects.all(),
        "deposits": recent,
    }
    return render(request, "billing/add_funds.html", context)


def _own_deposit(request: HttpRequest, deposit_id: int) -> FundsRequest:
    return get_object_or_404(FundsRequest.objects.select_related("method"), pk=deposit_id, user=request.user)


def _status_label(deposit: FundsRequest) -> str:
    if deposit.status == FundsRequest.Status.PENDING and not deposit.method.gateway:
        return gettext("Waiting for approval")
    return deposit.get_status_display()


def _deposit_state(deposit: FundsRequest, user) -> dict:
    return {
        "id": deposit.pk,
        "status": deposit.status,
        "label": _status_label(deposit),
        "final": deposit.status != FundsRequest.Status.PENDING,
        "message": deposit.status_message,
        "credited": money_str(deposit.credited_amount) if deposit.credited_amount is not None else None,
        "bonus": money_str(deposit.bonus_amount) if deposit.bonus_amount else None,
        "balance": money_display(user.balance),  # as the nav shows it
    }


@login_required
def deposits(request: HttpRequest) -> HttpResponse:
    mine = FundsRequest.objects.filter(user=request.user).select_related("method")
    page = Paginator(mine, DEPOSITS_PER_PAGE).get_page(request.GET.get("page"))
    for deposit in page.object_list:
        deposit.status_label = _status_label(deposit)
    return render(request, "billing/deposits.html", {"page": page})


@login_required
@never_cache
def deposit_detail(request: HttpRequest, deposit_id: int) -> HttpResponse:
    deposit = _own_deposit(request, deposit_id)
    can_pay = (
        deposit.status == FundsRequest.Status.PENDING
        and bool(deposit.payment_url)
        and (deposit.expires_at is None or deposit.expires_at > timezone.now())
    )
    context = {
        "deposit": deposit,
        "state": _deposit_state(deposit, request.user),
        "can_pay": can_pay,
        "autostart": can_pay and request.GET.get("pay") == "1",
        "poll_ms": STATUS_POLL_MS,
    }
    return render(request, "billing/deposit_detail.html", context)


@login_required
@never_cache
def deposit_status(request: HttpRequest, deposit_id: int) -> JsonResponse:
    """The deposit's state for the page's poll: read only, it never asks the gateway or credits."""
    deposit = _own_deposit(request, deposit_id)
    request.user.refresh_from_db(fields=["balance"])
    return JsonResponse(_deposit_state(deposit, request.user))


@csrf_exempt
@require_POST
def payment_webhook(request: HttpRequest, gateway: str) -> HttpResponse:
    """A gateway's notification. Everything is decided and logged by the service; 4xx for anything refused."""
    is_form = request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
    notification = Notification(
        body=request.body,
        headers={k.lower(): v[:500] for k, v in request.headers.items() if k.lower() in LOGGED_HEADERS},
        form=request.POST.dict() if is_form else {},
    )
    log = deposit_notification_receive(gateway_code=gateway, notification=notification, remote_addr=client_ip(request))
    return HttpResponse(log.message or "OK", status=log.http_status, content_type="text/plain; charset=utf-8")


def _test_deposit(request: HttpRequest, deposit_id: int) -> FundsRequest:
    if not test_gateway_enabled():
        raise Http404("The test gateway is disabled.")
    deposit = _own_deposit(request, deposit_id)
    if deposit.method.gateway != TestGateway.code:
        raise Http404("Not a test-gateway deposit.")
    return deposit


@login_required
def test_gateway(request: HttpRequest, deposit_id: int) -> HttpResponse:
    """The test gateway's payment page: a button (and an amount, to try underpayments). No signature in it."""
    deposit = _test_deposit(request, deposit_id)
    return render(request, "billing/test_gateway.html", {"deposit": deposit, "amount": money_str(deposit.amount)})


@login_required
@require_POST
def test_gateway_confirm(request: HttpRequest, deposit_id: int) -> HttpResponse:
    deposit = _test_deposit(request, deposit_id)
    try:
        amount = Decimal(request.POST.get("amount", "").strip() or deposit.amount)
    except InvalidOperation:
        messages.error(request, gettext("Enter an amount such as 25 or 25.50."))
        return redirect("test_gateway", deposit.pk)
    gateway = gateway_for(TestGateway.code)
    log = deposit_notification_receive(
        gateway_code=TestGateway.code,
        notification=gateway.notification_for(reference=deposit.reference, amount=amount),
        remote_addr=client_ip(request),
    )
    if log.http_status >= 400:
        messages.error(request, gettext("The test payment was refused: %(reason)s") % {"reason": log.message})
    return redirect("deposit_detail", deposit.pk)


class TransactionFilterForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", gettext_lazy("All kinds")), *LedgerEntry.Kind.choices], required=False)
    date_from = forms.DateField(
        required=False, label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(required=False, label=gettext_lazy("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", gettext("The end date is before the start date."))
        return cleaned


@login_required
def transactions(request: HttpRequest) -> HttpResponse:
    form = TransactionFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    rows = ledger_entries_for(
        user_id=request.user.pk,
        kind=filters.get("kind", ""),
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
    )
    params = {k: v for k, v in request.GET.items() if k in form.fields and v}
    if request.GET.get("export") == "csv":
        return _transactions_csv(rows)
    page = Paginator(rows, TRANSACTIONS_PER_PAGE).get_page(request.GET.get("page"))
    for entry in page.object_list:
        entry.link = ledger_link(entry.reference)
    context = {
        "form": form,
        "page": page,
        "page_params": urlencode(params),
        "export_url": "?" + urlencode({**params, "export": "csv"}),
    }
    return render(request, "billing/transactions.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_text(value: str) -> str:
    # A memo starting with "=" would run as a formula in a spreadsheet: keep it text.
    return "'" + value if value.startswith(CSV_FORMULA_START) else value


def _transactions_csv(rows) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    zone = timezone.get_current_timezone()

    def lines():
        yield writer.writerow(["id", "date", "kind", "amount", "balance_after", "currency", "reference", "memo"])
        for entry in rows.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    entry.pk,
                    entry.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                    entry.kind,
                    f"{entry.amount:f}",
                    f"{entry.balance_after:f}",
                    settings.PANEL_CURRENCY,
                    _csv_text(entry.reference),
                    _csv_text(entry.memo),
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="transactions-{timezone.now():%Y%m%d}.csv"'
    return response


# Affiliates


def _referral_cookie_age() -> timedelta:
    return timedelta(days=settings.AFFILIATE_COOKIE_DAYS)


def _referral_cookie(request: HttpRequest) -> str:
    return request.get_signed_cookie(
        REFERRAL_COOKIE, default="", salt=REFERRAL_COOKIE_SALT, max_age=_referral_cookie_age()
    )


@never_cache
def referral_visit(request: HttpRequest, code: str) -> HttpResponse:
    """A referral link: count the visit and remember the code for AFFILIATE_COOKIE_DAYS, then on to sign up.

    A visitor already carrying this code is not counted again, and a signed-in customer (their own link, or a
    customer following a link) neither counted nor marked.
    """
    if request.user.is_authenticated:
        return redirect("dashboard")
    response = redirect("signup")
    if _referral_cookie(request) == code:
        return response
    if affiliate_visit_record(code=code):
        response.set_signed_cookie(
            REFERRAL_COOKIE,
            code,
            salt=REFERRAL_COOKIE_SALT,
            max_age=int(_referral_cookie_age().total_seconds()),
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
    return response


def referral_signup(request: HttpRequest, user) -> None:
    """Called by the signup view for a new customer: open their affiliate account, attributed to the referrer
    whose link they came through within AFFILIATE_COOKIE_DAYS. A refused referral never blocks a signup."""
    code = _referral_cookie(request)
    if not code:
        affiliate_account_get(user_id=user.pk)
        return
    try:
        affiliate_referrer_set(user_id=user.pk, code=code)
    except PanelError as error:
        logger.info("signup %s: referral %r not recorded: %s", user.pk, code, error.message)


class AffiliateTransferForm(forms.Form):
    amount = money_form_field(label=gettext_lazy("Amount"))


class AffiliatePayoutForm(forms.Form):
    amount = money_form_field(label=gettext_lazy("Amount"))
    details = forms.CharField(
        max_length=255,
        label=gettext_lazy("Pay to"),
        help_text=gettext_lazy("Your wallet address or account, and its network or bank."),
    )


def _affiliates_page(request: HttpRequest, *, transfer_form=None, payout_form=None) -> HttpResponse:
    account = affiliate_account_get(user_id=request.user.pk)
    summary = affiliate_summary(account=account, percent=affiliate_commission_percent(account=account))
    context = {
        "summary": summary,
        "link": _absolute(request, reverse("referral", args=[account.code])),
        "balance": money_str(account.balance),
        "min_payout": money_str(settings.AFFILIATE_MIN_PAYOUT),
        "cookie_days": settings.AFFILIATE_COOKIE_DAYS,
        "transfer_form": transfer_form or AffiliateTransferForm(initial={"amount": money_str(account.balance)}),
        "payout_form": payout_form or AffiliatePayoutForm(),
        "entries": AffiliateEntry.objects.filter(account=account)[:AFFILIATE_ROWS],
        "payouts": AffiliatePayout.objects.filter(account=account)[:AFFILIATE_ROWS],
    }
    return render(request, "billing/affiliates.html", context)


@login_required
def affiliates(request: HttpRequest) -> HttpResponse:
    return _affiliates_page(request)


@login_required
@require_POST
def affiliates_transfer(request: HttpRequest) -> HttpResponse:
    form = AffiliateTransferForm(request.POST)
    if form.is_valid():
        try:
            entry = affiliate_transfer(user_id=request.user.pk, amount=form.cleaned_data["amount"])
        except PanelError as error:
            form.add_error("amount", error.message)
        else:
            messages.success(
                request,
                gettext("%(amount)s %(currency)s moved to your balance.")
                % {"amount": money_str(entry.amount), "currency": settings.PANEL_CURRENCY},
            )
            return redirect("affiliates")
    return _affiliates_page(request, transfer_form=form)


@login_required
@require_POST
def affiliates_payout(request: HttpRequest) -> HttpResponse:
    form = AffiliatePayoutForm(request.POST)
    if form.is_valid():
        try:
            payout = affiliate_payout_request(
                user_id=request.user.pk, amount=form.cleaned_data["amount"], details=form.cleaned_data["details"]
            )
        except PanelError as error:
            form.add_error("amount", error.message)
        else:
            messages.success(
                request,
                gettext("Payout request %(id)s sent: %(amount)s %(currency)s are held until staff pay it.")
                % {"id": payout.pk, "amount": money_str(payout.amount), "currency": settings.PANEL_CURRENCY},
            )
            return redirect("affiliates")
    return _affiliates_page(request, payout_form=form)
