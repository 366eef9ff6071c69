"""Staff alerts: e-mail, and the Telegram chat through the one HTTP helper (mocked at the HTTP boundary)."""

import json

import pytest
import requests
import responses
from django.core import mail

from support.services import staff_notify
from support.telegram import TIMEOUT, TelegramError, telegram_send
from tests.panel.factories import UserFactory

TOKEN = "123456:SECRET-TOKEN"
URL = f"https://api.telegram.org/bot{TOKEN}/sendMessage"


@pytest.fixture
def telegram(settings):
    settings.TELEGRAM_BOT_TOKEN = TOKEN
    settings.TELEGRAM_CHAT_ID = "-1001"


@responses.activate
def test_a_message_is_posted_to_the_chat_with_a_bounded_wait(telegram, monkeypatch):
    responses.post(URL, json={"ok": True, "result": {"message_id": 5}})
    seen = {}
    real_post = requests.post

    def spy(*args, **kwargs):
        seen["timeout"] = kwargs["timeout"]
        return real_post(*args, **kwargs)

    monkeypatch.setattr("support.telegram.requests.post", spy)
    telegram_send(text="Provider X balance low")
    body = json.loads(responses.calls[0].request.body)
    assert body == {"chat_id": "-1001", "text": "Provider X balance low", "disable_web_page_preview": True}
    assert seen["timeout"] == TIMEOUT


@responses.activate
def test_a_refusal_is_reported_with_telegrams_words(telegram):
    responses.post(URL, status=400, json={"ok": False, "description": "Bad Request: chat not found"})
    with pytest.raises(TelegramError, match="HTTP 400 Bad Request: chat not found"):
        telegram_send(text="hi")


@responses.activate
def test_a_network_failure_never_shows_the_bot_token(telegram):
    responses.post(URL, body=requests.ConnectTimeout(f"timed out connecting to {URL}"))
    with pytest.raises(TelegramError) as caught:
        telegram_send(text="hi")
    assert "SECRET-TOKEN" not in caught.value.message and "ConnectTimeout" in caught.value.message


@pytest.mark.django_db
@responses.activate
def test_staff_notify_e_mails_staff_and_posts_to_telegram(telegram, settings):
    settings.STAFF_ALERT_EMAILS = ["ops@example.com", "boss@example.com"]
    responses.post(URL, json={"ok": True})
    assert staff_notify("Provider down", "sim 2 refuses connections") == {"email": True, "telegram": True}
    (message,) = mail.outbox
    assert (message.to, message.subject) == (["ops@example.com", "boss@example.com"], "[SMM Panel] Provider down")
    assert json.loads(responses.calls[0].request.body)["text"] == "Provider down\n\nsim 2 refuses connections"


@pytest.mark.django_db
@responses.activate
def test_staff_notify_falls_back_to_staff_who_view_alerts_and_skips_telegram_when_not_configured(settings):
    settings.STAFF_ALERT_EMAILS = []
    settings.TELEGRAM_BOT_TOKEN = ""
    UserFactory(is_superuser=True, is_staff=True, email="root@example.com")
    UserFactory(is_staff=True, email="clerk@example.com")
    assert staff_notify("Hello", "text") == {"email": True}
    assert mail.outbox[0].to == ["root@example.com"]
    assert len(responses.calls) == 0


@pytest.mark.django_db
@responses.activate
def test_a_dead_telegram_does_not_stop_the_e_mail(telegram, settings):
    settings.STAFF_ALERT_EMAILS = ["ops@example.com"]
    responses.post(URL, status=502, body="Bad Gateway")
    assert staff_notify("Alert", "text") == {"email": True, "telegram": False}
    assert len(mail.outbox) == 1


def _alert(subject: str, **fields):
    from django.utils import timezone

    from orders.models import Alert

    now = timezone.now()
    return Alert.objects.create(
        kind=Alert.Kind.LOW_BALANCE,
        subject=subject,
        message=f"{subject} is low",
        first_seen_at=now,
        last_seen_at=now,
        **fields,
    )


@pytest.mark.django_db
@responses.activate
def test_each_open_operator_alert_is_posted_to_telegram_once(telegram):
    from django.utils import timezone

    from support.services import alerts_relay_to_telegram

    responses.post(URL, json={"ok": True})
    _alert("provider:1")
    _alert("provider:2")
    _alert("provider:3", resolved_at=timezone.now())
    assert alerts_relay_to_telegram() == 2
    assert alerts_relay_to_telegram() == 0
    texts = sorted(json.loads(call.request.body)["text"] for call in responses.calls)
    assert len(texts) == 2 and "provider:1 is low" in texts[0] and "provider:2 is low" in texts[1]


@pytest.mark.django_db
@responses.activate
def test_an_alert_telegram_refused_is_posted_again_on_the_next_run(telegram):
    from support.services import alerts_relay_to_telegram

    responses.post(URL, status=502, body="bad gateway")
    _alert("provider:9")
    assert alerts_relay_to_telegram() == 0
    responses.replace(responses.POST, URL, json={"ok": True})
    assert alerts_relay_to_telegram() == 1
    assert alerts_relay_to_telegram() == 0


@pytest.mark.django_db
def test_without_a_telegram_chat_alerts_are_left_to_the_e_mail(settings):
    from support.models import AlertRelay
    from support.services import alerts_relay_to_telegram

    settings.TELEGRAM_BOT_TOKEN = ""
    _alert("provider:4")
    assert alerts_relay_to_telegram() == 0
    assert not AlertRelay.objects.exists()
