"""The customer picks the currency they also read prices and balances in (Account page)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from core.errors import PanelError
from panel.currency import display_currency_choose


@login_required
@require_POST
def display_currency_set(request: HttpRequest) -> HttpResponse:
    try:
        currency = display_currency_choose(user=request.user, code=request.POST.get("currency", ""))
    except PanelError as error:
        messages.error(request, error.message)
    else:
        if currency is None:
            messages.success(request, gettext("Prices and balances are shown in the panel's currency only."))
        else:
            messages.success(
                request,
                gettext("Prices and balances are also shown in %(code)s, approximately; you pay in %(currency)s.")
                % {"code": currency.code, "currency": settings.PANEL_CURRENCY},
            )
    return redirect("account")
