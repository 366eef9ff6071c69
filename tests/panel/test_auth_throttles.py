"""Password reset (mailed by a Celery task, the same answer for any address) and the limits on
password reset and signup requests."""

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from panel.models import User
from panel.tasks import password_reset_mail_task
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase"


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def queued(monkeypatch):
    jobs = []
    monkeypatch.setattr("panel.tasks.password_reset_mail_task.delay", lambda **kwargs: jobs.append(kwargs))
    return jobs


def _reset(client, email: str, ip: str = "203.0.113.1"):
    return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=ip)


def test_a_reset_sends_no_mail_in_the_request_and_the_task_sends_it(client, queued, django_capture_on_commit_callbacks):
    UserFactory(email="alice@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = _reset(client, "alice@example.com")
    assert response.url == reverse("password_reset_done")
    assert mail.outbox == []
    assert queued == [{"email": "alice@example.com", "domain": "testserver", "use_https": False, "language": "en"}]
    password_reset_mail_task(**queued[0])
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert "http://testserver/password/reset/" in message.body


def test_known_and_unknown_addresses_get_the_same_answer_and_the_same_queued_work(
    client, queued, django_capture_on_commit_callbacks
):
    UserFactory(email="known@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        known = _reset(client, "known@example.com")
        unknown = _reset(client, "nobody@example.com")
    assert (known.status_code, known.url) == (unknown.status_code, unknown.url)
    assert [sorted(job) for job in queued] == [["domain", "email", "language", "use_https"]] * 2
    assert mail.outbox == []
    for job in queued:
        password_reset_mail_task(**job)
    assert [message.to for message in mail.outbox] == [["known@example.com"]]


def test_the_task_mails_nobody_for_an_unknown_or_inactive_address():
    UserFactory(email="gone@example.com", is_active=False)
    password_reset_mail_task(email="gone@example.com", domain="panel.example.com", use_https=True)
    password_reset_mail_task(email="nobody@example.com", domain="panel.example.com", use_https=True)
    assert mail.outbox == []


def test_resets_from_one_address_are_limited(client, settings, queued):
    settings.PASSWORD_RESET_RATE = "3/hour"
    codes = [_reset(client, f"someone{n}@example.com").status_code for n in range(4)]
    assert codes == [302, 302, 302, 429]
    response = _reset(client, "another@example.com")
    assert response.status_code == 429
    assert "Too many password reset requests from your address: try again in" in response.content.decode()
    assert _reset(client, "another@example.com", ip="203.0.113.2").status_code == 302


def test_resets_for_one_address_are_limited_whatever_the_client_address(client, settings, queued):
    settings.PASSWORD_RESET_RATE = "3/hour"
    codes = [_reset(client, "victim@example.com", ip=f"198.51.100.{n}").status_code for n in range(4)]
    assert codes == [302, 302, 302, 429]
    assert (
        "Too many password reset requests for this e-mail"
        in _reset(client, "VICTIM@example.com", ip="198.51.100.99").content.decode()
    )


def test_signups_from_one_address_are_limited(client, settings):
    settings.SIGNUP_RATE = "2/hour"

    def signup(n: int, ip: str = "203.0.113.3"):
        data = {"username": f"new{n}", "email": f"new{n}@example.com", "password1": PASSWORD, "password2": PASSWORD}
        response = client.post(reverse("signup"), data, REMOTE_ADDR=ip)
        client.logout()
        return response

    assert [signup(n).status_code for n in range(3)] == [302, 302, 429]
    response = signup(3)
    assert "Too many sign-ups from your address: try again in" in response.content.decode()
    assert not User.objects.filter(username__in=["new2", "new3"]).exists()
    assert signup(4, ip="203.0.113.4").status_code == 302
