"""The one HTTP helper for the staff's Telegram chat: a bounded wait, and errors that never show the bot token."""

import requests
from django.conf import settings

from core.errors import PanelError

TELEGRAM_API = "https://api.telegram.org"
# (connect, read) seconds: an alert waits on Telegram at most this long.
TIMEOUT = (5, 10)
MAX_TEXT = 4096  # Telegram's limit for one message


class TelegramError(PanelError):
    default_message = "Telegram did not take the message."


def telegram_configured() -> bool:
    return bool(settings.TELEGRAM_BOT_TOKEN and settings.TELEGRAM_CHAT_ID)


def telegram_send(*, text: str) -> None:
    """Post `text` to the configured chat, or raise TelegramError.

    Not retried: an alert that fails is logged by the caller, and a blind retry after a
    lost answer would post it twice.
    """
    if not telegram_configured():
        raise TelegramError("Telegram is not configured (TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID).")
    url = f"{TELEGRAM_API}/bot{settings.TELEGRAM_BOT_TOKEN}/sendMessage"
    payload = {"chat_id": settings.TELEGRAM_CHAT_ID, "text": text[:MAX_TEXT], "disable_web_page_preview": True}
    try:
        response = requests.post(url, json=payload, timeout=TIMEOUT)
    except requests.RequestException as error:
        # The exception's text holds the URL, hence the token: only its kind is reported.
        raise TelegramError(f"Telegram could not be reached ({type(error).__name__}).") from None
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code != 200 or not isinstance(answer, dict) or not answer.get("ok"):
        description = str(answer.get("description", "")) if isinstance(answer, dict) else ""
        raise TelegramError(f"Telegram refused the message: HTTP {response.status_code} {description[:200]}".strip())
