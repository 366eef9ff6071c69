"""What can go wrong talking to an upstream provider, with the two facts the order workers act on.

`permanent`: the upstream answered and refused; sending the same request again will not help
(the order is canceled and refunded). `request_sent`: False only when we know for sure the
request never reached the upstream (so an `add` may be sent again without risking a second
order); True whenever it may have arrived, which leaves a lost `add` for an operator to review.

The client builds every excerpt with the API key scrubbed out: nothing here ever sees the key.
"""

from typing import Any

from core.errors import PanelError

__all__ = ["EXCERPT_LIMIT", "ProviderBadResponse", "ProviderError", "ProviderRefused", "ProviderUnreachable"]

EXCERPT_LIMIT = 200


def _shorten(text: str, limit: int = EXCERPT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ProviderError(PanelError):
    default_message = "The provider did not give a usable answer."
    permanent: bool = False
    request_sent: bool = True

    def __init__(
        self,
        message: str | None = None,
        *,
        provider: str = "",
        action: str = "",
        excerpt: str = "",
        permanent: bool | None = None,
        request_sent: bool | None = None,
    ) -> None:
        self.provider = provider
        self.action = action
        self.excerpt = _shorten(excerpt)
        if permanent is not None:
            self.permanent = permanent
        if request_sent is not None:
            self.request_sent = request_sent
        super().__init__(self._compose(message or self.default_message))

    def _compose(self, detail: str) -> str:
        text = detail
        if self.provider or self.action:
            text = f"Provider {self.provider or '?'}, action {self.action or '?'}: {detail}"
        if self.excerpt:
            text += f" (answer: {self.excerpt})"
        return text


class ProviderRefused(ProviderError):
    """The upstream answered with an error of its own ("Not enough funds", "Incorrect link").

    `message` is the upstream's own text, which is what the customer and operator need to read;
    `str()` adds the provider and action for logs.
    """

    default_message = "The provider refused the request."
    permanent = True
    request_sent = True

    def _compose(self, detail: str) -> str:
        return _shorten(detail)

    def __str__(self) -> str:
        return f"Provider {self.provider or '?'} refused {self.action or '?'}: {self.message}"


class ProviderUnreachable(ProviderError):
    """The transport failed: no connection, a timeout, a connection dropped mid-answer."""

    default_message = "The provider could not be reached."


class ProviderBadResponse(ProviderError):
    """An answer we cannot use: a 5xx or 3xx, an HTML page, a body that is not JSON, a wrong shape."""

    default_message = "The provider's answer could not be read."

    def __init__(self, message: str | None = None, *, http_status: int | None = None, **kwargs: Any) -> None:
        self.http_status = http_status
        super().__init__(message, **kwargs)
