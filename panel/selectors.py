from panel.api_keys import api_key_hash, api_key_matches
from panel.models import Favourite, User


def user_by_api_key(*, key: str) -> User | None:
    """The user holding this API key, or None. Inactive users are returned: callers refuse them."""
    if not key or len(key) > 200:
        return None
    digest = api_key_hash(key)
    user = User.objects.filter(api_key_hash=digest).first()
    if user is None or not api_key_matches(key=key, stored_hash=user.api_key_hash):
        return None
    return user


def favourite_service_ids(*, user: User) -> set[int]:
    """The ids of the services this customer starred."""
    return set(Favourite.objects.filter(user=user).values_list("service_id", flat=True))
