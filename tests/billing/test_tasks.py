from django.conf import settings
from django.core.cache import cache

from billing.tasks import deposits_sweep_task


def test_the_sweep_runs_on_beat(db):
    entry = settings.CELERY_BEAT_SCHEDULE["deposits-sweep"]
    assert entry == {"task": "billing.tasks.deposits_sweep_task", "schedule": settings.DEPOSIT_SWEEP_INTERVAL}


def test_a_second_sweep_skips_while_one_runs(db):
    cache.set("lock:deposits-sweep", "another", 60)
    try:
        assert deposits_sweep_task() == "another sweep is running"
    finally:
        cache.delete("lock:deposits-sweep")
    assert deposits_sweep_task() == "0 checked, 0 credited, 0 expired, 0 errors"
