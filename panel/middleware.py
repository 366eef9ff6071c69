"""Request checks that apply to every page, so that no view has to remember them."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext, gettext_noop

UNSTORABLE_MESSAGE = gettext_noop(
    "The request holds a character that cannot be stored (a NUL byte or broken Unicode) in its address or "
    "headers: remove it and try again."
)


def text_is_storable(text: str) -> bool:
    """False for text PostgreSQL refuses (NUL) or that is not Unicode at all (lone surrogates)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class UnstorableQueryMiddleware:
    """Refuse, as the client's mistake (400), a path, query string or header no column can hold.

    Form fields refuse such text on their own (every `forms.CharField` carries Django's
    `ProhibitNullCharactersValidator`); query strings are read by views and the admin's search
    and filters directly, where a NUL byte reached the database and answered 500, and the
    login lockout stores the User-Agent header.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        texts = [request.path]
        texts.extend(value for key, value in request.META.items() if key.startswith("HTTP_") and isinstance(value, str))
        for key, values in request.GET.lists():
            texts.append(key)
            texts.extend(values)
        if all(text_is_storable(text) for text in texts):
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse({"error": f"Incorrect request: {UNSTORABLE_MESSAGE}"}, status=400)
        html = render_to_string("errors/bad_input.html", {"message": gettext(UNSTORABLE_MESSAGE)}, request=request)
        return HttpResponse(html, status=400)
