import os

import pytest
from django.conf import settings
from django.db import connection

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _redis_problem() -> str | None:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        return (
            "REDIS_URL is empty"
            if "REDIS_URL" in os.environ
            else "REDIS_URL is not set and no Redis answers on 127.0.0.1:6379"
        )
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        return f"Redis at {url} is unreachable: {error}"
    return None


def _postgres_problem() -> str | None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        if os.environ.get("DATABASE_URL"):
            return f"DATABASE_URL points at {connection.vendor}, not PostgreSQL"
        return "DATABASE_URL is not set and no PostgreSQL answers on 127.0.0.1:5432"
    import psycopg

    db = settings.DATABASES["default"]
    try:
        psycopg.connect(
            host=db["HOST"],
            port=db["PORT"] or 5432,
            user=db["USER"],
            password=db["PASSWORD"],
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg.Error as error:
        return f"PostgreSQL at {db['HOST']}:{db['PORT']} is unreachable: {error}"
    return None


POSTGRES_PROBLEM = _postgres_problem()
REDIS_PROBLEM = _redis_problem()


def pytest_configure(config):
    config.addinivalue_line("markers", "postgres: needs the real PostgreSQL (row locks, real concurrency)")
    config.addinivalue_line("markers", "redis: needs the real Redis")
    config.addinivalue_line("markers", "browser: drives headless Chromium")
    if IN_CI:
        problems = [p for p in (POSTGRES_PROBLEM, REDIS_PROBLEM) if p]
        broker = os.environ.get("CELERY_BROKER_URL", "")
        if not broker.startswith("redis://"):
            problems.append(f"CELERY_BROKER_URL must point at Redis in CI, not {broker!r}")
        if problems:
            pytest.exit(
                "CI=true but the services the suite needs are missing:\n  " + "\n  ".join(problems), returncode=3
            )


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "postgres" in item.keywords and POSTGRES_PROBLEM:
            item.add_marker(pytest.mark.skip(reason=f"needs PostgreSQL: {POSTGRES_PROBLEM}"))
        if "redis" in item.keywords and REDIS_PROBLEM:
            item.add_marker(pytest.mark.skip(reason=f"needs Redis: {REDIS_PROBLEM}"))


def pytest_report_header(config):
    return [
        f"database: {connection.vendor} ({settings.DATABASES['default']['NAME']})",
        f"redis: {'unreachable: ' + REDIS_PROBLEM if REDIS_PROBLEM else os.environ['REDIS_URL']}",
        f"celery broker: {settings.CELERY_BROKER_URL}",
    ]


from tests.upstream import upstream, upstream_factory  # noqa: E402

__all__ = ["upstream", "upstream_factory"]
