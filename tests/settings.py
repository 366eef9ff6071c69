"""The panel's settings for the test suite: environment defaults, then `panel.settings`.

The suite runs on the real PostgreSQL and Redis when they are reachable (CI points at them
with DATABASE_URL, REDIS_URL and CELERY_BROKER_URL; locally they are found on their default
ports) and on SQLite and local memory otherwise, where the tests that need the servers skip.
"""

import os
import socket

LOCAL_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/panel"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/15"
LOCAL_BROKER_URL = "redis://127.0.0.1:6379/14"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
if "DATABASE_URL" not in os.environ and _reachable("127.0.0.1", 5432):
    os.environ["DATABASE_URL"] = LOCAL_POSTGRES_URL
if "REDIS_URL" not in os.environ and _reachable("127.0.0.1", 6379):
    os.environ["REDIS_URL"] = LOCAL_REDIS_URL
    os.environ.setdefault("CELERY_BROKER_URL", LOCAL_BROKER_URL)
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
# The simulator and the fault servers of the tests listen on localhost; the address check is
# tested by turning this off (tests/providers/test_addresses.py).
os.environ.setdefault("PROVIDER_ALLOW_PRIVATE_URLS", "1")

from panel.settings import *  # noqa: E402,F403

# Django's test client calls itself "testserver"; production never answers to that name.
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]  # noqa: F405

# Live-server threads must not keep connections open past their request: the test database
# is dropped at the end.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405

# Tests create many users: a fast hasher keeps the suite quick.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The suite signs up and resets passwords from one address far more often than a person
# would; tests of these limits set their own low rates (tests/panel/test_auth_throttles.py).
SIGNUP_RATE = "100000/min"
PASSWORD_RESET_RATE = "100000/min"
