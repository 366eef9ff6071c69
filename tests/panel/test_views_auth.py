import pytest
from django.core import mail
from django.urls import reverse

from panel.models import User
from panel.tasks import password_reset_mail_task
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase"


def test_signing_up_creates_a_customer_with_an_api_key_and_logs_them_in(client):
    response = client.post(
        reverse("signup"),
        {"username": "newbie", "email": "newbie@example.com", "password1": PASSWORD, "password2": PASSWORD},
        follow=True,
    )
    user = User.objects.get(username="newbie")
    assert response.redirect_chain == [(reverse("dashboard"), 302)]
    assert response.context["user"] == user
    assert user.check_password(PASSWORD) and user.api_key_hash and user.balance == 0
    assert "Welcome, newbie!" in response.content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"password2": "something-else-entirely"}, "password2", "The two passwords differ."),
        ({"password1": "12345678", "password2": "12345678"}, "password1", "This password is too common."),
        ({"username": "TAKEN"}, "username", "That username is taken"),
        ({"email": "taken@example.com"}, "email", "An account with this email already exists"),
        ({"username": "bad name!"}, "username", "Enter a valid username"),
    ],
)
def test_signup_problems_are_shown_beside_their_field(client, data, field, message):
    UserFactory(username="taken", email="taken@example.com")
    form = {"username": "newbie", "email": "newbie@example.com", "password1": PASSWORD, "password2": PASSWORD}
    response = client.post(reverse("signup"), {**form, **data})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert 'id="error-' + field + '"' in response.content.decode()
    assert not User.objects.filter(username="newbie").exists()


def test_logging_in_and_out(client):
    UserFactory(username="alice", password=PASSWORD)
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.url == reverse("dashboard")
    assert client.get(reverse("login")).status_code == 302  # already logged in
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).url == reverse("login")
    assert client.get(reverse("dashboard")).status_code == 302


def test_a_wrong_password_is_refused_with_a_message(client):
    UserFactory(username="alice", password=PASSWORD)
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200 and 'id="form-errors"' in response.content.decode()


def test_auth_pages_render_for_anonymous_visitors(client):
    for name in ("login", "signup", "password_reset", "password_reset_done", "password_reset_complete"):
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert "<h1>" in response.content.decode()


def test_a_password_reset_mails_a_link_that_sets_a_new_password(
    client, django_capture_on_commit_callbacks, monkeypatch
):
    user = UserFactory(email="alice@example.com")
    queued = []
    monkeypatch.setattr("panel.tasks.password_reset_mail_task.delay", lambda **kwargs: queued.append(kwargs))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": "alice@example.com"})
    assert response.url == reverse("password_reset_done")
    [job] = queued
    password_reset_mail_task(**job)
    [message] = mail.outbox
    link = next(line for line in message.body.splitlines() if "/password/reset/" in line)
    response = client.get(link.replace("http://testserver", ""), follow=True)
    assert 'id="password-reset-confirm-form"' in response.content.decode()
    response = client.post(
        response.redirect_chain[-1][0], {"new_password1": PASSWORD, "new_password2": PASSWORD}, follow=True
    )
    assert 'id="password-reset-complete"' in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_changing_the_password(customer_client, customer):
    response = customer_client.post(
        reverse("password_change"),
        {"old_password": "password-for-tests", "new_password1": PASSWORD, "new_password2": PASSWORD},
        follow=True,
    )
    assert 'id="password-changed"' in response.content.decode()
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)
