"""Poll fan-out: how old the least recently polled order gets, with Celery workers over Redis.

    python benchmarks/poll_fanout.py [--orders 100000] [--providers 10] [--latency-ms 300] [--workers 4]
        [--interval 60] [--phase-seconds 270 240] [--sample-seconds 5]

The README's worker setup: `--providers` simulated providers (each in its own child process,
answering every call after `--latency-ms`), `--orders` active orders spread evenly over them
(placed at the simulators without HTTP, inserted into the panel in bulk as pending orders never
polled), one Celery worker with `--workers` processes consuming the `polling` queue over Redis
(`celery -A panel worker -Q polling --concurrency N`), and this script in beat's place: it calls
`orders_poll_dispatch` every `--interval` seconds (ORDER_POLL_INTERVAL). The simulated orders
stay pending, and each order starts with the answer the simulator gives (recorded from one real
call per provider), but never polled: every chunk is the steady state of a long-running order.

Every `--sample-seconds` it records, per provider, the oldest "last polled" age among its active
orders: now - min(last_polled_at), an order never polled counting from the start of the run.
Phase A: every provider healthy. Phase B: the last provider hangs (its calls never answer; the
client gives up at PROVIDER_REQUEST_DEADLINE) while the others go on. The figure of a phase is
the highest oldest age of the healthy providers once the phase has settled (A: one sweep after
every order was polled once; B: one ideal period after the hang began). The status calls are timed
at the simulators: per call, per sweep, and from one run of a provider to its next.

Expected: each call asks about 100 orders, a provider's calls are sequential (one task holds
its lock) and min(workers, providers) providers are polled at once, so at best every order is
asked about again after ideal = orders / 100 × latency / min(workers, providers) seconds (75 s
for 100,000 orders, 10 providers, 300 ms, 4 workers). But a task is one provider's whole sweep
(S = orders / providers / 100 × latency: 30 s, within the 45 s poll budget) and the dispatcher
queues the least recently polled providers first, so 10 sweeps over 4 slots go in waves of 4, 4
and 2, and a provider comes round again after at most ceil(providers / workers) sweeps (90 s), or
after the dispatch interval when the workers keep up. Stated bound: max(ceil(providers / workers)
× S, interval) × 1.1, the 10% for the panel's own time per call: 99 s.

Targets: phase A's figure under that bound; phase B's figure within 10% of phase A's.
Redis: REDIS_URL (cache, locks; default redis://127.0.0.1:6379/11) and CELERY_BROKER_URL (a redis://
URL; default redis://127.0.0.1:6379/12) are flushed at the start: give the script databases of its own.
"""

import argparse
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from itertools import pairwise

import _common

OVERHEAD = 1.10
HANG_SECONDS = 3600
DEFAULT_REDIS = "redis://127.0.0.1:6379/11"
DEFAULT_BROKER = "redis://127.0.0.1:6379/12"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--providers", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=300)
    parser.add_argument("--workers", type=int, default=4, help="Celery worker processes on the polling queue")
    parser.add_argument("--interval", type=int, default=60, help="ORDER_POLL_INTERVAL: seconds between dispatches")
    parser.add_argument(
        "--phase-seconds", type=float, nargs=2, default=[270, 240], metavar=("A", "B"), help="length of each phase"
    )
    parser.add_argument("--sample-seconds", type=float, default=5)
    args = parser.parse_args()
    if args.providers < 2:
        parser.error("--providers must be at least 2 (one of them hangs in phase B)")
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        broker = DEFAULT_BROKER
    _common.setup(
        "fanout",
        REDIS_URL=os.environ.get("REDIS_URL") or DEFAULT_REDIS,
        CELERY_BROKER_URL=broker,
        ORDER_POLL_INTERVAL=str(args.interval),
    )
    os.environ["CELERY_BROKER_URL"] = broker  # over the "memory://" default of `setup`: the workers need Redis

    import redis
    from django.conf import settings
    from django.db import connection, connections, transaction
    from django.utils import timezone

    import panel.celery  # noqa: F401  (binds the tasks to the panel's app and its broker)
    from core.money import order_charge
    from orders.models import Order, Service
    from orders.services.catalog import services_sync
    from orders.tasks import orders_poll_dispatch
    from panel.services import customer_create
    from providers.models import Provider
    from providers.services import provider_create

    for url in (settings.CELERY_BROKER_URL, os.environ["REDIS_URL"]):
        redis.Redis.from_url(url).flushdb()

    per_provider = args.orders // args.providers
    sweep = math.ceil(per_provider / 100) * args.latency_ms / 1000
    parallel = min(args.workers, args.providers)
    ideal = math.ceil(per_provider / 100) * args.providers * args.latency_ms / 1000 / parallel
    bound = max(math.ceil(args.providers / parallel) * sweep, args.interval) * OVERHEAD
    print(
        f"{args.orders:,} orders over {args.providers} providers ({per_provider:,} each), {args.latency_ms:g} ms per "
        f"call, {args.workers} worker processes, dispatch every {args.interval} s, poll budget "
        f"{settings.ORDER_POLL_BUDGET_SECONDS:g} s, request deadline {settings.PROVIDER_REQUEST_DEADLINE:g} s\n"
        f"one provider's sweep S = {sweep:.1f} s; ideal = {args.orders:,} / 100 × {args.latency_ms / 1000:g} s / "
        f"{parallel} = {ideal:.1f} s; bound = max(ceil({args.providers}/{parallel}) × S, interval) × "
        f"{OVERHEAD:g} = {bound:.1f} s"
    )

    started = time.perf_counter()
    sims = [
        _common.SimulatorProcess(services=20, seed=n, stage_seconds=10**9, balance=Decimal(10) ** 9)
        for n in range(args.providers)
    ]
    for sim in sims:
        sim.start()
    providers = []
    for n, sim in enumerate(sims):
        provider = provider_create(name=f"bench-fanout-{n}", api_url=sim.url, api_key=sim.key)
        services_sync(provider_id=provider.pk)
        providers.append(provider)
    users = [customer_create(username=f"fanout-{n}", balance=Decimal(0))[0] for n in range(100)]
    services = []
    for provider, sim in zip(providers, sims, strict=True):
        upstream = min((s for s in sim.services if s.type == "Default" and s.min >= 10), key=lambda s: s.rate)
        services.append(
            (upstream, Service.objects.get(provider=provider, provider_service__service_id=str(upstream.id)))
        )
    with ThreadPoolExecutor(len(sims)) as pool:  # each simulator places its orders in its own process
        placed = list(
            pool.map(
                lambda sim, pair: sim.add_orders(service=pair[0].id, quantity=pair[1].min * 10, count=per_provider),
                sims,
                services,
            )
        )
    for provider, (_, service), upstream_ids in zip(providers, services, placed, strict=True):
        quantity = service.min * 10
        charge = order_charge(rate=service.price, quantity=quantity, runs=1)
        now = timezone.now()
        with transaction.atomic():
            Order.objects.bulk_create(
                (
                    Order(
                        user=users[index % len(users)],
                        service=service,
                        provider=provider,
                        link=f"https://example.com/p/{index}",
                        quantity=quantity,
                        rate=service.price,
                        charge=charge,
                        status=Order.Status.PENDING,
                        upstream_order_id=upstream_id,
                        placement_attempts=1,
                        placed_at=now,
                    )
                    for index, upstream_id in enumerate(upstream_ids)
                ),
                batch_size=5000,
            )
    for provider in providers:
        _steady(Order, provider)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_order")
    for sim in sims:
        sim.latency_ms = args.latency_ms
    print(f"setup: {args.orders:,} orders at the simulators and in the panel in {_common.elapsed(started)}")

    log = tempfile.NamedTemporaryFile(prefix="bench-fanout-worker-", suffix=".log", delete=False)  # noqa: SIM115
    connections.close_all()
    worker = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "panel", "worker", "-Q", "polling"),
            *("-n", f"bench-polling-{os.getpid()}@%h", "--concurrency", str(args.workers), "--loglevel", "INFO"),
        ],
        cwd=_common.ROOT,
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    samples: list[tuple[float, float, dict[int, float], int]] = []
    stop = threading.Event()
    hung_at = [math.inf]
    healthy = [p.pk for p in providers[:-1]]
    hanging = providers[-1].pk
    try:
        _wait_for_worker(worker, log.name)
        t0 = timezone.now()
        clock0 = time.monotonic()
        calls_before = [sim.request_count for sim in sims]
        dispatcher = threading.Thread(target=_dispatch_loop, args=(orders_poll_dispatch, args.interval, stop))
        dispatcher.start()
        phase_a_end = clock0 + args.phase_seconds[0]
        end = phase_a_end + args.phase_seconds[1]
        calls_at_switch: list[int] = []
        next_row = 0.0
        print(f"\n{'t s':>6}  {'phase':5}  {'oldest age, healthy (max) s':>27}  {'hanging provider s':>18}  load")
        while (now := time.monotonic()) < end:
            if now >= phase_a_end and not calls_at_switch:
                calls_at_switch = [sim.request_count for sim in sims]
                sims[-1].inject("timeout", times=10**9, seconds=HANG_SECONDS)
                hung_at[0] = now - clock0
            ages, never = _oldest_ages(Order, t0, [p.pk for p in providers])
            t = now - clock0
            samples.append((t, os.getloadavg()[0], ages, never))
            if t >= next_row:
                phase = "A" if t < args.phase_seconds[0] else "B"
                worst = max(ages[pk] for pk in healthy)
                print(
                    f"{t:6.0f}  {phase:5}  {worst:27.1f}  {ages[hanging]:18.1f}  {os.getloadavg()[0]:.1f}"
                    f"{f'  ({never:,} never polled)' if never else ''}",
                    flush=True,
                )
                next_row = t + 15
            time.sleep(max(0.0, args.sample_seconds - (time.monotonic() - now)))
        calls_end = [sim.request_count for sim in sims]
        arrivals = [[at - clock0 for at in sim.arrivals("status")] for sim in sims]
    finally:
        stop.set()
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        for sim in sims:
            sim.stop()
        connections.close_all()
    log.close()

    settled_a = next((t for t, _, _, never in samples if never == 0), math.inf)
    phases = (
        # name, samples window (A: one sweep after every order was polled once, which leaves the first
        # round's leftovers out; B: one ideal period after the hang began), calls window
        ("A", "A: all healthy", settled_a + sweep, hung_at[0], settled_a, hung_at[0], calls_before, calls_at_switch, 0),
        ("B", "B: one hangs", hung_at[0] + ideal, math.inf, hung_at[0], math.inf, calls_at_switch, calls_end, 1),
    )
    rows, calls_rows, figures, per_call = [], [], {}, {}
    for key, name, since, until, calls_since, calls_until, calls_from, calls_to, span in phases:
        window = [s for s in samples if since <= s[0] < until]
        gaps, sweeps, between = [], [], []
        for times in arrivals[: len(healthy)]:
            runs = _runs([t for t in times if calls_since <= t < calls_until])
            gaps += [b - a for run in runs for a, b in pairwise(run)]
            # Whole runs only: not cut by the window's edges.
            sweeps += [run[-1] - run[0] for run in runs if run[0] > calls_since + 1 and run[-1] < calls_until - 1]
            between += [b[0] - a[0] for a, b in pairwise(runs)]
        if not window or not gaps:
            rows.append((name, "-", 0, "-", "-", "-", "-", "-", "-"))
            continue
        worst = [max(ages[pk] for pk in healthy) for _, _, ages, _ in window]
        per_provider_max = [max(ages[pk] for _, _, ages, _ in window) for pk in healthy]
        healthy_calls = sum(calls_to[i] - calls_from[i] for i in range(len(healthy)))
        figures[key] = max(worst)
        per_call[key] = statistics.median(gaps)
        rows.append(
            (
                name,
                f"{window[0][0]:.0f}-{window[-1][0]:.0f}",
                len(window),
                max(worst),
                sum(worst) / len(worst),
                f"{min(per_provider_max):.0f}-{max(per_provider_max):.0f}",
                f"{max(worst) / per_call[key]:.0f}",
                f"{healthy_calls / args.phase_seconds[span]:.1f}",
                f"{sum(load for _, load, _, _ in window) / len(window):.1f}",
            )
        )
        calls_rows.append(
            (
                name,
                f"{per_call[key] * 1000:.0f}",
                f"{_percentile(gaps, 90) * 1000:.0f}",
                f"{statistics.median(sweeps) + per_call[key]:.1f}" if sweeps else "-",
                f"{statistics.median(between):.1f}" if between else "-",
                f"{max(between):.1f}" if between else "-",
            )
        )
    _common.table(
        (
            "phase",
            "window s",
            "samples",
            "oldest age max s",
            "mean s",
            "per provider max s",
            "max in call times",
            "healthy calls/s",
            "load avg",
        ),
        rows,
        title=f"oldest 'last polled' age of the {len(healthy)} healthy providers (ideal {ideal:.1f} s, bound "
        f"{bound:.1f} s)",
    )
    _common.table(
        ("phase", "ms per call p50", "p90", "sweep s p50", "run to run s p50", "max"),
        calls_rows,
        title=(
            f"the healthy providers' status calls, timed at the simulators (latency {args.latency_ms:g} ms; the rest "
            "is the panel's own work and waiting for the shared CPUs)"
        ),
    )
    hung = Provider.objects.get(pk=hanging)
    print(
        f"\nhanging provider: {hung.consecutive_failures} failed runs in a row, circuit "
        f"{'open until ' + f'{hung.next_probe_at:%H:%M:%S}' if hung.next_probe_at else 'closed'}; "
        f"last error: {hung.last_error[:120]}"
    )
    print(f"ideal full call rate: {parallel / (args.latency_ms / 1000):.1f} calls/s ({parallel} providers at once)")
    ok = "A" in figures and figures["A"] <= bound
    if "A" in figures and "B" in figures:
        change = figures["B"] / figures["A"] - 1
        calls_change = (figures["B"] / per_call["B"]) / (figures["A"] / per_call["A"]) - 1
        print(f"phase B / phase A: {change:+.1%} (target within ±10%): {_common.verdict(abs(change) <= 0.10)}")
        print(
            f"phase B / phase A in call times (the machine's load taken out): {calls_change:+.1%}: "
            f"{_common.verdict(abs(calls_change) <= 0.10)}"
        )
        ok &= abs(change) <= 0.10
    print(f"phase A under the bound ({bound:.1f} s): {_common.verdict('A' in figures and figures['A'] <= bound)}")
    print(f"worker log: {log.name}")
    print(f"targets: {_common.verdict(ok)}")
    return 0


def _steady(order_model, provider) -> None:
    """The provider's orders as a poll left them (their answer recorded), but never polled.

    One real status call (a deadline already passed allows exactly one) records the simulator's
    answer on 100 orders; the others, alike (same service, quantity and status), get the same
    values in one UPDATE. The timed phases then measure the steady state of long-running orders,
    not a first sweep that writes every row.
    """
    from orders.services.upstream import POLL_SNAPSHOT, Deadline, orders_poll

    orders_poll(provider_id=provider.pk, deadline=Deadline.after(0))
    sample = order_model.objects.filter(provider=provider, last_polled_at__isnull=False).values(*POLL_SNAPSHOT).first()
    order_model.objects.filter(provider=provider).update(**sample, last_polled_at=None)


def _runs(times: list[float]) -> list[list[float]]:
    """Status calls grouped into the runs (tasks) that made them: a pause of 2 s or more starts another run."""
    runs: list[list[float]] = []
    for at in sorted(times):
        if runs and at - runs[-1][-1] < 2:
            runs[-1].append(at)
        else:
            runs.append([at])
    return runs


def _percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * percent / 100))]


def _wait_for_worker(worker: subprocess.Popen, log: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SystemExit(f"the Celery worker exited with {worker.returncode}; see {log}")
        with open(log, encoding="utf-8", errors="replace") as lines:
            if any(" ready." in line for line in lines):
                return
        time.sleep(0.5)
    raise SystemExit(f"the Celery worker was not ready within 120 s; see {log}")


def _dispatch_loop(dispatch, interval: float, stop: threading.Event) -> None:
    """Beat's part: the poll dispatcher now and then every `interval` seconds."""
    from django.db import connection

    try:
        while True:
            dispatch()
            if stop.wait(interval):
                return
    finally:
        connection.close()


def _oldest_ages(order_model, t0, provider_ids: list[int]) -> tuple[dict[int, float], int]:
    """Per provider, seconds since its least recently polled active order was polled (never: since t0),
    and how many active orders were never polled; index probes of `order_poll_queue`."""
    from django.utils import timezone

    from orders.services.transitions import UPSTREAM_ACTIVE

    now = timezone.now()
    ages, never = {}, 0
    for pk in provider_ids:
        queue = order_model.objects.filter(provider_id=pk, status__in=UPSTREAM_ACTIVE, upstream_order_id__isnull=False)
        unpolled = queue.filter(last_polled_at__isnull=True).count()
        never += unpolled
        oldest = (
            queue.filter(last_polled_at__isnull=False)
            .order_by("last_polled_at")
            .values_list("last_polled_at", flat=True)
            .first()
        )
        ages[pk] = (now - (t0 if unpolled or oldest is None else oldest)).total_seconds()
    return ages, never


if __name__ == "__main__":
    raise SystemExit(main())
