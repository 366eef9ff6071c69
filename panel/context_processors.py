from django.conf import settings
from django.http import HttpRequest


def panel(request: HttpRequest) -> dict:
    return {
        "PANEL_NAME": settings.PANEL_NAME,
        "PANEL_CURRENCY": settings.PANEL_CURRENCY,
        "PANEL_LOGO_URL": settings.PANEL_LOGO_URL,
        "PANEL_MONEY_DISPLAY_PLACES": settings.PANEL_MONEY_DISPLAY_PLACES,
    }
