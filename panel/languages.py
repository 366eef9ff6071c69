"""The customer's language: chosen with the switcher, kept on the account, applied to their pages.

Django's LocaleMiddleware picks a visitor's language from the switcher's cookie, else the
browser's Accept-Language. Once signed in, the language kept on the account wins (on any
browser), and the cookie follows it so that the pages stay in it after logging out. An
account gets the language of the pages it signed up or first logged in with, so that its
e-mails (support.notifications) are in the language its owner reads.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from panel.models import User


def language_supported(code: str) -> str:
    """The code of LANGUAGES that serves `code` ("zh-tw" -> "zh-hant"), or "" when none does."""
    if not code:
        return ""
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return ""


def account_language_set(*, user: User, language: str) -> str:
    """Keeps `language` (a code of LANGUAGES, or its variant) on the account; returns what was kept."""
    code = language_supported(language)
    if code and code != user.language:
        User.objects.filter(pk=user.pk).update(language=code)
        user.language = code
    return user.language


def _signed_in(request: HttpRequest) -> User | None:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


class AccountLanguageMiddleware:
    """Serves a signed-in customer in their account's language; records one at their first sign-in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = _signed_in(request)
        before = user.pk if user else None
        if user:
            self._activate(request, user)
        response = self.get_response(request)
        user = _signed_in(request)
        if user is None:
            return response
        if user.pk != before and not language_supported(user.language):
            # Signed in by this request (login, signup) with no language of its own: the
            # account keeps the one its owner was reading.
            account_language_set(user=user, language=translation.get_language() or settings.LANGUAGE_CODE)
        code = language_supported(user.language)
        if code and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != code:
            _set_language_cookie(response, code)
        return response

    @staticmethod
    def _activate(request: HttpRequest, user: User) -> None:
        code = language_supported(user.language)
        if code:
            translation.activate(code)
            request.LANGUAGE_CODE = translation.get_language()


def _set_language_cookie(response: HttpResponse, code: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """Django's set_language (cookie, redirect back to `next`), and the choice kept on the account."""
    response = set_language(request)
    user = _signed_in(request)
    code = language_supported(request.POST.get("language", ""))
    if user and code:
        account_language_set(user=user, language=code)
    return response
