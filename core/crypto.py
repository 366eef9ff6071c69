"""Encryption at rest for secrets the panel keeps (providers' API keys, payment gateways' credentials).

Fernet, keyed by FIELD_ENCRYPTION_KEY. A leaf module (Django and cryptography only) so that
both `providers` and `billing`, which never import each other, can use it.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@cache
def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except ValueError:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be a Fernet key (32 url-safe base64-encoded bytes)."
        ) from None


def secret_encrypt(plain: str) -> str:
    return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(plain.encode()).decode()


def secret_decrypt(token: str) -> str:
    """The plain text, or a clear error when the token was made with another FIELD_ENCRYPTION_KEY."""
    try:
        return _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A stored secret (a provider's API key or a gateway's credentials) cannot be decrypted: "
            "FIELD_ENCRYPTION_KEY changed since it was saved."
        ) from None
