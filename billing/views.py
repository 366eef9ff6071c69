from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from billing.gateways import TestGateway, gateway_for
from billing.models import FundsRequest, PaymentMethod
from billing.services import funds_request_approve, funds_request_create
from core.errors import PanelError


class AddFundsForm(forms.Form):
    method = forms.ModelChoiceField(queryset=PaymentMethod.objects.filter(is_active=True), empty_label=None)
    amount = forms.CharField(max_length=24)
    note = forms.CharField(max_length=255, required=False, label="Payment reference (optional)")

    def clean_amount(self):
        try:
            amount = Decimal(self.cleaned_data["amount"].strip())
        except InvalidOperation:
            raise forms.ValidationError("Enter an amount such as 25 or 25.50.") from None
        if not amount.is_finite() or amount <= 0:
            raise forms.ValidationError("Enter an amount above zero.")
        return amount


@login_required
def add_funds(request):
    form = AddFundsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        method = form.cleaned_data["method"]
        try:
            funds = funds_request_create(
                user_id=request.user.pk,
                method_id=method.pk,
                amount=form.cleaned_data["amount"],
                note=form.cleaned_data["note"],
            )
        except PanelError as error:
            form.add_error("amount", error.message)
        else:
            gateway = gateway_for(method.gateway) if method.gateway else None
            if gateway is not None:
                return redirect(gateway.start(funds_request=funds))
            messages.success(request, f"Request {funds.pk} sent: your balance is credited once we approve it.")
            return redirect("add_funds")
    context = {
        "form": form,
        "methods": PaymentMethod.objects.filter(is_active=True),
        "requests": FundsRequest.objects.filter(user=request.user).select_related("method")[:50],
    }
    return render(request, "billing/add_funds.html", context)


def _own_pending(request, funds_request_id: int) -> FundsRequest:
    funds = get_object_or_404(FundsRequest.objects.select_related("method"), pk=funds_request_id, user=request.user)
    if funds.method.gateway != TestGateway.code:
        raise PermissionDenied
    return funds


@login_required
def test_gateway(request, funds_request_id: int):
    """The test gateway's payment page: a button that pays, no network involved."""
    funds = _own_pending(request, funds_request_id)
    gateway = gateway_for(TestGateway.code)
    return render(request, "billing/test_gateway.html", {"funds": funds, "signature": gateway.signature(funds)})


@login_required
@require_POST
def test_gateway_confirm(request, funds_request_id: int):
    funds = _own_pending(request, funds_request_id)
    reference = gateway_for(TestGateway.code).confirm(funds_request=funds, data=request.POST)
    if reference is None:
        messages.error(request, "The payment could not be verified.")
        return redirect("add_funds")
    funds_request_approve(funds_request_id=funds.pk, gateway_reference=reference)
    messages.success(request, f"Payment received: {funds.amount} added to your balance.")
    return redirect("add_funds")
