"""Our own `/api/v2` under load: gunicorn with 4 workers, PostgreSQL, throttling in Redis.

    python benchmarks/api_v2.py [--duration 10] [--rounds 5] [--concurrency 4] [--workers 4]

Serves the panel with `gunicorn panel.wsgi:application` (a subprocess with this script's
environment: DEBUG=0, CELERY_BROKER_URL=memory:// so that queueing a placement is a no-op,
REDIS_URL=redis://127.0.0.1:6379/3, throttles raised to 1000000/min) and drives it from this
process with `--concurrency` threads, each with its own requests.Session, for `--duration`
seconds per action (in `--rounds` interleaved slices, so that a change in the machine's
background load does not favour one action): balance, add, status with 1 id, status with 100 ids,
and, as a diagnostic, add from as many customers as threads. SQL queries per request are counted
in-process with Django's test Client. Redis database 3 (the throttles' history) is flushed before
each slice.

Targets: add at least 60% of balance's requests/second; status with 100 ids costs at most twice
status with 1; the same number of queries on every request of an action; money conserved after
the add run (every balance equals its ledger; the charges equal the orders' charges).
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal

import _common

TARGET_ADD_SHARE = 0.6
TARGET_STATUS_100_COST = 2.0
IN_PROCESS_TIMED = 100


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per action")
    parser.add_argument(
        "--rounds", type=int, default=5, help="interleave the actions in this many slices (evens out background load)"
    )
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    args = parser.parse_args()
    static_root = tempfile.mkdtemp(prefix="bench-static-")  # an empty one: no warning about a missing folder
    _common.setup(
        "api",
        REDIS_URL="redis://127.0.0.1:6379/3",
        API_THROTTLE_KEY_RATE="1000000/min",
        API_THROTTLE_IP_RATE="1000000/min",
        STATIC_ROOT=static_root,
    )

    from django.core.cache import cache
    from django.db.models import Sum
    from django.test import Client

    from billing.models import LedgerEntry
    from billing.selectors import ledger_mismatches
    from orders.models import Order, Service
    from orders.services.catalog import services_sync
    from orders.services.ordering import order_create
    from panel.api_keys import api_key_hash
    from panel.services import customer_create
    from providers.services import provider_create
    from providers.simulator import SimulatedProvider

    sim = SimulatedProvider(services=20)
    server = _common.simulator_server(sim)
    try:
        provider = provider_create(name="bench-api", api_url=server.start(), api_key=sim.key)
        services_sync(provider_id=provider.pk)
    finally:
        server.stop()  # the API never calls upstream here: placements are only queued
    upstream = min((s for s in sim.services if s.type == "Default"), key=lambda s: s.rate * s.min)
    service = Service.objects.get(provider=provider, provider_service__service_id=str(upstream.id))
    user, key = customer_create(username="api-bench", balance=Decimal("1000000"))
    # A diagnostic beside the targets: `add` from as many customers as threads (no shared row lock).
    other_keys = [
        customer_create(username=f"api-bench-{i}", balance=Decimal("1000000"))[1] for i in range(args.concurrency)
    ]
    order_ids = [
        order_create(
            user=user, service_id=service.pk, data={"link": f"https://example.com/{i}", "quantity": service.min}
        ).pk
        for i in range(100)
    ]
    add_fields = {"action": "add", "service": service.pk, "link": "https://example.com/load", "quantity": service.min}
    actions = {
        "balance": [{"key": key, "action": "balance"}],
        "add": [{"key": key, **add_fields}],
        "status (1 id)": [{"key": key, "action": "status", "order": order_ids[0]}],
        "status (100 ids)": [{"key": key, "action": "status", "orders": ",".join(map(str, order_ids))}],
        f"add, {args.concurrency} customers": [{"key": other, **add_fields} for other in other_keys],
    }

    # SQL per request and time per request, in-process with the test Client (one thread, no HTTP):
    # a warm-up request, five counted ones, then `IN_PROCESS_TIMED` timed ones.
    counter = _common.QueryCounter().install()
    client = Client()
    queries: dict[str, list[int]] = {}
    in_process: dict[str, float] = {}
    for name, payloads in actions.items():
        cache.clear()
        counts = []
        for attempt in range(6):
            with counter.measure() as measure:
                answer = client.post("/api/v2", payloads[0]).json()
            assert "error" not in answer, (name, answer)
            if attempt:
                counts.append(measure.queries)
        queries[name] = counts
        started = time.perf_counter()
        for _ in range(IN_PROCESS_TIMED):
            client.post("/api/v2", payloads[0])
        in_process[name] = (time.perf_counter() - started) / IN_PROCESS_TIMED
    cache.clear()
    orders_before = Order.objects.count()

    port = _free_port()
    url = f"http://127.0.0.1:{port}/api/v2"
    log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "panel.wsgi:application",
        "--workers",
        str(args.workers),
        "--bind",
        f"127.0.0.1:{port}",
    ]
    gunicorn = subprocess.Popen(command, cwd=_common.ROOT, env=dict(os.environ), stdout=log, stderr=log)
    results = {}
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/healthz", gunicorn, log.name)
        _load(url, actions["balance"], args.concurrency, 2.0)  # warm-up: every worker connects
        for _ in range(args.rounds):
            for name, payloads in actions.items():
                cache.clear()
                result = _load(url, payloads, args.concurrency, args.duration / args.rounds)
                history = cache.get(f"throttle:key:{api_key_hash(payloads[0]['key'])[:32]}") or []
                result["throttle history"] = len(history)
                total = results.setdefault(name, {"latencies": [], "errors": 0, "seconds": 0.0, "cpu": 0.0})
                total["latencies"] += result["latencies"]
                for field in ("errors", "seconds", "cpu"):
                    total[field] += result[field]
                total["throttle history"] = result["throttle history"]
    finally:
        gunicorn.terminate()
        try:
            gunicorn.wait(timeout=15)
        except subprocess.TimeoutExpired:
            gunicorn.kill()
            gunicorn.wait()
        cache.clear()
        os.rmdir(static_root)
    log.close()
    os.unlink(log.name)  # kept when something failed

    mismatches = ledger_mismatches()
    created = Order.objects.count() - orders_before
    added = sum(len(result["latencies"]) for name, result in results.items() if name.startswith("add"))
    charged = -(LedgerEntry.objects.filter(kind="charge").aggregate(s=Sum("amount"))["s"] or 0)
    ordered = Order.objects.aggregate(s=Sum("charge"))["s"] or 0

    rows = []
    for name, result in results.items():
        latencies = result["latencies"]
        rows.append(
            (
                name,
                len(latencies),
                result["errors"],
                f"{len(latencies) / result['seconds']:.0f}",
                f"{statistics.median(latencies) * 1000:.1f}",
                f"{_percentile(latencies, 95) * 1000:.1f}",
                f"{result['cpu'] * 100 / result['seconds']:.0f}%",
                "/".join(map(str, sorted(set(queries[name])))),
                f"{in_process[name] * 1000:.1f}",
                result["throttle history"],
            )
        )
    _common.table(
        (
            "action",
            "requests",
            "errors",
            "req/s",
            "p50 ms",
            "p95 ms",
            "loadgen CPU",
            "SQL/req",
            "in-process ms/req",
            "throttle list",
        ),
        rows,
        title=(
            f"/api/v2 on gunicorn --workers {args.workers}, {args.concurrency} client threads, "
            f"{args.duration:g} s per action in {args.rounds} interleaved slices"
        ),
    )
    print(
        "loadgen CPU: this script's CPU time over the run (its client threads share the 2 cores with gunicorn);"
        "\nin-process ms/req: the same request through Django's test Client, one thread, no HTTP"
        "\nthrottle list: timestamps DRF keeps in Redis for the key's throttle at the end of the last slice"
    )
    rate = {name: len(r["latencies"]) / r["seconds"] for name, r in results.items()}
    add_share = rate["add"] / rate["balance"]
    status_cost = rate["status (1 id)"] / rate["status (100 ids)"]
    constant = all(len(set(counts)) == 1 for counts in queries.values())
    errors = sum(r["errors"] for r in results.values())
    money_ok = not mismatches and charged == ordered and created == added
    print(
        f"\nadd runs: {added} successful adds, {created} orders created; "
        f"charges in the ledger {charged}, orders' charges {ordered}"
    )
    print(f"ledger_mismatches(): {mismatches}")
    print(f"add / balance = {add_share:.2f} (target >= {TARGET_ADD_SHARE}): {_common.verdict(add_share >= 0.6)}")
    print(
        f"status(100) / status(1) cost = {status_cost:.2f} (target <= {TARGET_STATUS_100_COST:g}): "
        f"{_common.verdict(status_cost <= TARGET_STATUS_100_COST)}"
    )
    print(f"constant SQL per action: {_common.verdict(constant)}; errors: {errors}")
    print(f"money conserved: {_common.verdict(money_ok)}")
    return 0


def _load(url: str, payloads: list[dict], concurrency: int, duration: float) -> dict:
    """Hammer `url` from `concurrency` threads for `duration` seconds (thread i posts payloads[i % len])."""
    import requests

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(concurrency + 1)
    deadline = [0.0]

    def worker(payload: dict) -> None:
        session = requests.Session()
        mine, failed = [], 0
        barrier.wait()
        while time.perf_counter() < deadline[0]:
            started = time.perf_counter()
            try:
                response = session.post(url, data=payload, timeout=30)
                ok = response.status_code == 200 and "error" not in response.json()
            except (requests.RequestException, ValueError):
                ok = False
            if ok:
                mine.append(time.perf_counter() - started)
            else:
                failed += 1
        session.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [
        threading.Thread(target=worker, args=(payloads[i % len(payloads)],), daemon=True) for i in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    cpu = time.process_time()
    started = time.perf_counter()
    deadline[0] = started + duration
    barrier.wait()
    for thread in threads:
        thread.join()
    return {
        "latencies": latencies,
        "errors": errors[0],
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
    }


def _percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * percent / 100))]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, log: str) -> None:
    import requests

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}; see {log}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer {url} within 30 s; see {log}")


if __name__ == "__main__":
    raise SystemExit(main())
