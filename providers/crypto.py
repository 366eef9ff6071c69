"""Encryption at rest for providers' API keys (Fernet, key from FIELD_ENCRYPTION_KEY)."""

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
            "A provider's API key cannot be decrypted: FIELD_ENCRYPTION_KEY changed since it was saved."
        ) from None
