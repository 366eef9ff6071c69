from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billing.models import LedgerEntry
from billing.services import balance_credit
from core.errors import PanelError
from orders.selectors import services_for_sale
from panel.api_keys import API_KEY_PREFIX_LENGTH, api_key_generate, api_key_hash
from panel.models import Favourite, User


class CustomerExists(PanelError):
    default_message = "A customer with that username already exists."


class UnknownService(PanelError):
    default_message = "Incorrect service ID"


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
