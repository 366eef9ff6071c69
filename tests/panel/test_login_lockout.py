"""Sign-in lockout (django-axes): by account and by address, on /login/ and the admin's login."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django.utils import timezone

from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-passphrase"


def _login(client, username: str, password: str, ip: str, path: str | None = None):
    return client.post(path or reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def _admin_login(client, username: str, password: str, ip: str):
    return _login(client, username, password, ip, path=reverse("admin:login"))


def test_an_account_is_locked_after_five_failures_whatever_the_address(client, settings):
    UserFactory(username="alice", password=PASSWORD)
    codes = [_login(client, "alice", f"guess-{n}", ip=f"198.51.100.{n}").status_code for n in range(5)]
    # The fifth failure is the one that locks: its answer already says so.
    assert settings.LOGIN_FAILURE_LIMIT == 5 and codes == [200, 200, 200, 200, 429]
    response = _login(client, "alice", PASSWORD, ip="203.0.113.77")
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed sign-ins for this account or from your address" in page
    assert "try again in 15 minutes" in page
    assert "_auth_user_id" not in client.session


def test_an_address_is_locked_after_five_failures_whatever_the_account(client, settings):
    UserFactory(username="bob", password=PASSWORD)
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        _login(client, f"someone-{n}", "guess", ip="203.0.113.5")
    assert _login(client, "bob", PASSWORD, ip="203.0.113.5").status_code == 429
    assert "_auth_user_id" not in client.session
    # Another address and an untouched account still sign in.
    assert _login(client, "bob", PASSWORD, ip="203.0.113.6").url == reverse("dashboard")


def test_a_hundred_and_fifty_wrong_passwords_never_end_in_a_login(client):
    UserFactory(username="carol", password=PASSWORD)
    codes = {_login(client, "carol", f"guess-{n}", ip="192.0.2.1").status_code for n in range(150)}
    assert codes == {200, 429}
    assert _login(client, "carol", PASSWORD, ip="192.0.2.1").status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lockout_ends_after_the_cool_down(client, settings):
    UserFactory(username="dave", password=PASSWORD)
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        _login(client, "dave", f"guess-{n}", ip="192.0.2.9")
    assert _login(client, "dave", PASSWORD, ip="192.0.2.9").status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=settings.LOGIN_COOLOFF_MINUTES + 1))
    assert _login(client, "dave", PASSWORD, ip="192.0.2.9").url == reverse("dashboard")


def test_fewer_failures_than_the_limit_still_let_the_right_password_in(client, settings):
    UserFactory(username="erin", password=PASSWORD)
    for n in range(settings.LOGIN_FAILURE_LIMIT - 1):
        _login(client, "erin", f"guess-{n}", ip="192.0.2.10")
    assert _login(client, "erin", PASSWORD, ip="192.0.2.10").url == reverse("dashboard")


def test_the_admin_login_is_locked_out_too(client, settings):
    UserFactory(username="root", password=PASSWORD, is_staff=True, is_superuser=True)
    codes = [_admin_login(client, "root", f"guess-{n}", ip=f"198.51.100.{n}").status_code for n in range(5)]
    assert codes == [200, 200, 200, 200, 429]
    response = _admin_login(client, "root", PASSWORD, ip="198.51.100.200")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302


def test_spoofed_forwarded_addresses_do_not_escape_the_address_lockout(client, settings):
    assert settings.TRUSTED_PROXY_COUNT == 0
    UserFactory(username="frank", password=PASSWORD)
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        client.post(
            reverse("login"),
            {"username": f"user-{n}", "password": "guess"},
            REMOTE_ADDR="203.0.113.50",
            HTTP_X_FORWARDED_FOR=f"10.9.8.{n}",
        )
    response = client.post(
        reverse("login"),
        {"username": "frank", "password": PASSWORD},
        REMOTE_ADDR="203.0.113.50",
        HTTP_X_FORWARDED_FOR="10.9.8.200",
    )
    assert response.status_code == 429


def test_lockouts_are_listed_in_the_admin(client, settings):
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        _login(client, "mallory-target", f"guess-{n}", ip="203.0.113.99")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:axes_accessattempt_changelist")).content.decode()
    assert "mallory-target" in page and "203.0.113.99" in page
