from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from panel.currency import display_currency_of


def panel(request: HttpRequest) -> dict:
    return {
        "PANEL_NAME": settings.PANEL_NAME,
        "PANEL_CURRENCY": settings.PANEL_CURRENCY,
        "PANEL_LOGO_URL": settings.PANEL_LOGO_URL,
        "PANEL_MONEY_DISPLAY_PLACES": settings.PANEL_MONEY_DISPLAY_PLACES,
        # The customer's display currency (or None), read only by pages that show a converted figure.
        "DISPLAY_CURRENCY": SimpleLazyObject(lambda: display_currency_of(user=getattr(request, "user", None))),
    }
