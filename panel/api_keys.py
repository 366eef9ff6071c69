"""API keys: random, shown once, stored as a SHA-256 hash and a short prefix.

A key carries 240 bits of randomness, so a fast hash is enough (no password stretching is
needed against guessing) and lets `/api/v2` find the customer with one indexed lookup.
"""

import hashlib
import hmac
import secrets

API_KEY_BYTES = 30  # 40 URL-safe characters
API_KEY_PREFIX_LENGTH = 8


def api_key_generate() -> str:
    return secrets.token_urlsafe(API_KEY_BYTES)


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def api_key_matches(*, key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(api_key_hash(key), stored_hash)
