"""Support's pieces on other apps' pages: the nav's unread count, the dashboard's news, the Account form."""

from django import template
from django.utils.safestring import mark_safe

from support.forms import NotificationPreferenceForm
from support.notifications import notification_preferences
from support.rendering import markdown_render
from support.selectors import announcements_current, can_handle_tickets, tickets_unread_count

register = template.Library()

DASHBOARD_ANNOUNCEMENTS = 3


@register.filter
def markdown(text: str) -> str:
    """Staff's Markdown as sanitised HTML (see support.rendering)."""
    return mark_safe(markdown_render(text or ""))  # noqa: S308 - nh3 has removed everything but formatting and links


@register.simple_tag(takes_context=True)
def tickets_unread(context) -> int:
    user = context["request"].user
    return tickets_unread_count(user=user) if user.is_authenticated else 0


@register.simple_tag(takes_context=True)
def handles_tickets(context) -> bool:
    return can_handle_tickets(context["request"].user)


@register.inclusion_tag("support/_announcements.html")
def announcements_panel() -> dict:
    return {"announcements": list(announcements_current()[:DASHBOARD_ANNOUNCEMENTS])}


@register.inclusion_tag("support/_notification_form.html", takes_context=True)
def notification_settings_card(context) -> dict:
    user = context["request"].user
    return {
        "form": NotificationPreferenceForm(instance=notification_preferences(user_id=user.pk)),
        "csrf_token": context.get("csrf_token"),
        "PANEL_CURRENCY": context.get("PANEL_CURRENCY"),
    }
