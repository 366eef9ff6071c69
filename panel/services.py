import logging
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_totp.models import TOTPDevice

from billing.models import LedgerEntry
from billing.services import balance_credit
from core.errors import PanelError
from orders.selectors import services_for_sale
from panel.api_keys import API_KEY_PREFIX_LENGTH, api_key_generate, api_key_hash
from panel.models import Favourite, User

logger = logging.getLogger(__name__)


class CustomerExists(PanelError):
    default_message = gettext_lazy("A customer with that username already exists.")


class UnknownService(PanelError):
    default_message = gettext_lazy("Incorrect service ID")


def api_key_rotate(*, user: User) -> str:
    """Give the user a new API key and return it: the only time it is seen in full."""
    key = api_key_generate()
    user.api_key_hash = api_key_hash(key)
    user.api_key_prefix = key[:API_KEY_PREFIX_LENGTH]
    user.api_key_created_at = timezone.now()
    user.save(update_fields=["api_key_hash", "api_key_prefix", "api_key_created_at"])
    return key


@transaction.atomic
def customer_create(
    *,
    username: str,
    email: str = "",
    password: str | None = None,
    balance: Decimal = Decimal("0"),
    is_staff: bool = False,
) -> tuple[User, str]:
    """Create a customer with an API key (returned in full) and an optional opening balance."""
    if User.objects.filter(username__iexact=username).exists():
        raise CustomerExists(f"A customer named {username!r} already exists.")
    user = User(username=username, email=email, is_staff=is_staff, is_superuser=is_staff)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    key = api_key_rotate(user=user)
    if balance:
        balance_credit(user_id=user.pk, amount=balance, kind=LedgerEntry.Kind.DEPOSIT, memo="Opening balance")
        user.refresh_from_db(fields=["balance"])
    return user, key


def favourite_set(*, user: User, service_id: int, favourite: bool) -> bool:
    """Star (or unstar) a service for this customer; returns whether it is now a favourite.

    Setting rather than toggling makes a repeated request (a double click, a replayed form)
    harmless. Only a service on sale can be starred; a star can always be taken off.
    """
    if not favourite:
        Favourite.objects.filter(user=user, service_id=service_id).delete()
        return False
    if not services_for_sale().filter(pk=service_id).exists():
        raise UnknownService()
    # ignore_conflicts: two tabs starring at once both end with the one row.
    Favourite.objects.bulk_create([Favourite(user=user, service_id=service_id)], ignore_conflicts=True)
    return True


def password_reset_mail_queue(*, email: str, domain: str, use_https: bool, language: str = "") -> None:
    """Queue the reset mail for a worker, whether or not an account has this address.

    The request then does the same work for every address: no answer time tells an attacker
    which addresses have accounts. A broker failure is logged, not shown: the customer asks again.
    """
    from panel.tasks import password_reset_mail_task

    try:
        password_reset_mail_task.delay(email=email, domain=domain, use_https=use_https, language=language)
    except Exception:
        logger.exception("could not queue a password reset mail")


class _OneAccountResetForm(PasswordResetForm):
    """Django's reset mail for one account, so that each is written in its owner's language."""

    def __init__(self, user: User) -> None:
        super().__init__({"email": user.email})
        self.user = user

    def get_users(self, email):
        return [self.user]


def password_reset_mail_send(*, email: str, domain: str, use_https: bool, language: str = "") -> int:
    """Mail a reset link to each active account with this address; how many were mailed.

    Each mail is in the account's language, else in `language` (the page the reset was asked from).
    """
    form = PasswordResetForm({"email": email})
    if not form.is_valid():
        return 0
    users = list(form.get_users(form.cleaned_data["email"]))
    for user in users:
        one = _OneAccountResetForm(user)
        one.is_valid()
        context = {"site_name": settings.PANEL_NAME}
        with translation.override(user.language or language or settings.LANGUAGE_CODE):
            one.save(domain_override=domain, use_https=use_https, extra_email_context=context)
    return len(users)


class TwoFactorError(PanelError):
    default_message = "That code is not right (or has expired): enter the current one from your app."


TWO_FACTOR_DEVICE_NAME = "Authenticator app"


def staff_totp_device(*, user: User) -> TOTPDevice | None:
    """The staff member's confirmed authenticator, if they turned two-factor sign-in on."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def staff_totp_enrolment_start(*, user: User) -> TOTPDevice:
    """The unconfirmed device whose secret the enrolment page shows (the same one until confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TWO_FACTOR_DEVICE_NAME, confirmed=False)
    return device


def staff_totp_verify(*, device: TOTPDevice, token: str) -> None:
    """Refuse a wrong or replayed code; the device throttles guesses (each wrong one doubles the wait)."""
    allowed, _extra = device.verify_is_allowed()
    if not allowed:
        raise TwoFactorError("Too many wrong codes: wait a minute, then enter the current one.")
    if not device.verify_token(token.strip()):
        raise TwoFactorError()


def staff_totp_enrolment_confirm(*, user: User, token: str) -> TOTPDevice:
    """Turn two-factor sign-in on once the app shows a right code: the secret reached it intact."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        raise TwoFactorError("Start again: the enrolment expired.")
    # Not in a transaction: a wrong code must stay counted by the device's throttle.
    staff_totp_verify(device=device, token=token)
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    return device


def staff_totp_disable(*, user: User, token: str) -> None:
    """Turn two-factor sign-in off, with a current code (a stolen session alone cannot)."""
    if settings.STAFF_REQUIRE_2FA:
        raise TwoFactorError("Two-factor sign-in is required for staff here: it cannot be turned off.")
    device = staff_totp_device(user=user)
    if device is None:
        raise TwoFactorError("Two-factor sign-in is not on.")
    staff_totp_verify(device=device, token=token)
    TOTPDevice.objects.filter(user=user).delete()
