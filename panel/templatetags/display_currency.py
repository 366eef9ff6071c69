"""The Account page's display currency card (the filter that converts lives beside `money`)."""

from django import template
from django.conf import settings

from panel.currency import display_currencies_enabled

register = template.Library()


@register.inclusion_tag("panel/_display_currency_card.html", takes_context=True)
def display_currency_card(context) -> dict:
    user = context["request"].user
    return {
        "currencies": display_currencies_enabled(),
        "chosen": user.display_currency_id,
        "PANEL_CURRENCY": settings.PANEL_CURRENCY,
        "csrf_token": context.get("csrf_token"),
    }
