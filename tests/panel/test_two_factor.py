"""Staff two-factor sign-in (TOTP): enrolment from the website, codes at the admin's login, and
STAFF_REQUIRE_2FA making it mandatory for the admin and its dashboard."""

import time

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "staff-passphrase-42"


def _code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now (or a step later: a used code is never accepted twice)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def _throttle_reset(device: TOTPDevice) -> None:
    """Each wrong code makes the device wait before the next try; tests do not wait."""
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)


@pytest.fixture
def staff():
    return UserFactory(username="staffer", password=PASSWORD, is_staff=True, is_superuser=True)


def _enrol(client, staff) -> TOTPDevice:
    client.force_login(staff)
    page = client.get(reverse("two_factor")).content.decode()
    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    assert 'id="two-factor-qr"' in page and "<svg" in page
    response = client.post(reverse("two_factor"), {"token": _code(device)})
    assert response.url == reverse("two_factor")
    device.refresh_from_db()
    assert device.confirmed
    return device


def _admin_login(client, token: str = ""):
    return client.post(
        reverse("admin:login"),
        {"username": "staffer", "password": PASSWORD, "otp_token": token, "next": reverse("admin:index")},
    )


def test_a_staff_member_turns_two_factor_on_with_a_code_from_the_app(client, staff):
    _enrol(client, staff)
    assert "Two-factor sign-in is <strong>on</strong>" in client.get(reverse("two_factor")).content.decode()
    # The session that showed the code is verified: the admin opens at once.
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_wrong_code_does_not_turn_two_factor_on(client, staff):
    client.force_login(staff)
    client.get(reverse("two_factor"))
    response = client.post(reverse("two_factor"), {"token": "000000"})
    assert "That code is not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=staff, confirmed=True).exists()


def test_with_two_factor_on_the_admin_login_needs_the_current_code(client, staff):
    device = _enrol(client, staff)
    client.logout()
    response = _admin_login(client)
    assert "Enter the 6-digit code from your authenticator app." in response.content.decode()
    response = _admin_login(client, "123456" if _code(device, 1) != "123456" else "654321")
    assert "That code is not right" in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302
    _throttle_reset(device)
    response = _admin_login(client, _code(device, 1))
    assert response.status_code == 302 and response.url == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_website_login_without_a_code_does_not_open_the_admin_for_staff_with_two_factor(client, staff):
    _enrol(client, staff)
    client.logout()
    client.post(reverse("login"), {"username": "staffer", "password": PASSWORD})
    assert client.get(reverse("dashboard")).status_code == 200
    assert client.get(reverse("admin:index")).status_code == 302
    assert client.get(reverse("staff_dashboard")).status_code == 302


def test_without_the_requirement_staff_with_no_device_use_the_admin_with_a_password(client, staff, settings):
    settings.STAFF_REQUIRE_2FA = False
    response = _admin_login(client)
    assert response.url == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_requirement_keeps_staff_without_two_factor_out_of_the_admin_and_its_dashboard(client, staff, settings):
    settings.STAFF_REQUIRE_2FA = True
    response = _admin_login(client)
    assert "The admin needs two-factor sign-in" in response.content.decode()
    client.force_login(staff)
    assert client.get(reverse("admin:index")).status_code == 302
    assert client.get(reverse("staff_dashboard")).status_code == 302
    assert client.get(reverse("admin:orders_order_changelist")).status_code == 302
    # They enrol from the website, and the admin opens.
    _enrol(client, staff)
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("staff_dashboard")).status_code == 200


def test_the_requirement_with_a_generated_code_at_the_admin_login(client, staff, settings):
    settings.STAFF_REQUIRE_2FA = True
    device = _enrol(client, staff)
    client.logout()
    response = _admin_login(client, _code(device, 1))
    assert response.url == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200


def test_turning_two_factor_off_needs_a_code_and_is_refused_when_required(client, staff, settings):
    device = _enrol(client, staff)
    settings.STAFF_REQUIRE_2FA = True
    response = client.post(reverse("two_factor"), {"token": _code(device, 1)})
    assert response.status_code == 200
    assert TOTPDevice.objects.filter(user=staff, confirmed=True).exists()
    settings.STAFF_REQUIRE_2FA = False
    assert "That code is not right" in client.post(reverse("two_factor"), {"token": "x"}).content.decode()
    _throttle_reset(device)
    response = client.post(reverse("two_factor"), {"token": _code(device, 1)})
    assert response.url == reverse("two_factor")
    assert not TOTPDevice.objects.filter(user=staff).exists()


def test_customers_have_no_two_factor_page(customer_client):
    assert customer_client.get(reverse("two_factor")).status_code == 404


def test_the_account_page_links_staff_to_two_factor(client, staff, customer_client):
    assert 'id="two-factor-link"' not in customer_client.get(reverse("account")).content.decode()
    client.force_login(staff)
    assert 'id="two-factor-link"' in client.get(reverse("account")).content.decode()
