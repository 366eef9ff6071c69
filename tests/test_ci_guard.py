"""With CI=true the suite refuses to run without the real PostgreSQL and Redis: it never silently skips."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_stops_at_once_with_a_clear_message_when_redis_is_unreachable():
    env = {
        **os.environ,
        "CI": "true",
        "DATABASE_URL": "sqlite:////tmp/ci-guard.sqlite3",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "CELERY_BROKER_URL": "redis://127.0.0.1:1/1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/billing/test_money.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 3, output
    assert "CI=true but the services the suite needs are missing" in output
    assert (
        "DATABASE_URL points at sqlite, not PostgreSQL" in output
        and "Redis at redis://127.0.0.1:1/0 is unreachable" in output
    )
