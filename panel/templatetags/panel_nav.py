"""The sidebar's links (panel.navigation.NAV) and a `{% url %}` that tolerates a missing page."""

from django import template
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string

from panel import navigation
from panel.navigation import NavItem

register = template.Library()


def url_or_empty(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


@register.simple_tag
def url_if_exists(name: str) -> str:
    """`{% url_if_exists 'transactions' as url %}{% if url %}...`: the page's address, or "" without it."""
    return url_or_empty(name)


def _badge(item: NavItem, request: HttpRequest) -> int:
    if not item.badge:
        return 0
    return import_string(item.badge)(request) or 0


@register.simple_tag(takes_context=True)
def sidebar_links(context) -> list[dict]:
    """The entries of NAV this install has, with their address and whether they are the current page."""
    request = context.get("request")
    user = getattr(request, "user", None)
    match = getattr(request, "resolver_match", None)
    here = {match.view_name, match.url_name} if match else set()
    links = []
    for item in navigation.NAV:
        if item.staff_only and not (user and user.is_staff):
            continue
        if item.visible and not import_string(item.visible)(request):
            continue
        href = ""
        for name in item.url_names:
            href = url_or_empty(name)
            if href:
                break
        if not href:
            continue
        current = bool(here & {*item.url_names, *item.also_current})
        links.append({"item": item, "href": href, "current": current, "badge": _badge(item, request)})
    return links
