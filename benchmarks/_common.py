"""Plumbing shared by the benchmark scripts: environment, a fresh database, counters, tables.

Each script calls `setup(name)` before importing anything from the panel. It points Django at a
dedicated PostgreSQL database (`BENCH_DATABASE_URL`, default postgres://postgres@127.0.0.1:5432/
panel_bench_<name>), drops and re-creates it, and migrates it. An ambient DATABASE_URL is ignored on
purpose: a benchmark drops its database, so it only ever touches one whose name contains "bench".
"""

import base64
import hashlib
import logging
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/panel_bench_{name}"
BENCH_SECRET_KEY = "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


def setup(name: str, *, keep: bool = False, **env: str) -> str:
    """Environment defaults, a fresh migrated database, `django.setup()`. Returns the database URL.

    With `keep`, an existing database is kept (and migrated): for data generated once and read often.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    database_url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE.format(name=name)
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "panel.settings"
    defaults = {
        # Production mode: with DEBUG=1 Django renders every statement with its parameters for
        # `connection.queries`, which adds about half to the bulk statements of a sync.
        "DEBUG": "0",
        "SECRET_KEY": BENCH_SECRET_KEY,
        "FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(hashlib.sha256(BENCH_SECRET_KEY.encode()).digest()).decode(),
        "CELERY_BROKER_URL": "memory://",  # queueing a placement is a no-op: nothing consumes it
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "localhost,127.0.0.1,testserver",  # the in-process test Client is "testserver"
        "LOG_LEVEL": "WARNING",
        "PROVIDER_RETRY_BACKOFF": "0",
        "PROVIDER_ALLOW_PRIVATE_URLS": "1",  # the simulated providers listen on localhost
        **env,
    }
    for variable, value in defaults.items():
        os.environ.setdefault(variable, value)
    database_recreate(database_url, keep=keep)

    import django
    from django.core.management import call_command

    django.setup()
    # The memory broker warns that it has no hostname on every first publish.
    logging.getLogger("kombu").setLevel(logging.ERROR)
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
        f"DEBUG={os.environ['DEBUG']}, "
        f"database {urlsplit(database_url).path.lstrip('/')} created and migrated in {elapsed(started)}"
    )
    return database_url


def database_recreate(url: str, *, keep: bool = False) -> None:
    import psycopg

    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise SystemExit(f"BENCH_DATABASE_URL must be a PostgreSQL URL, not {url!r}")
    name = parts.path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f"refusing to drop database {name!r}: a benchmark database's name contains 'bench'")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if keep and exists:
            return
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def simulator_server(sim, *, nagle: bool = False):
    """A `SimulatorServer` for `sim`, with Nagle's algorithm off unless `nagle`.

    The simulator's handler writes the headers and the body of an answer in two writes with
    Nagle's algorithm on, so every answer after the first on a keep-alive connection waits for
    the client's delayed ACK: about 40 ms per call on Linux, an artefact no real provider
    (nginx, PHP-FPM) has. The benchmarks measure the panel, so they switch it off by default.
    """
    from providers.simulator import SimulatorServer
    from providers.simulator import server as simulator_http

    simulator_http._Handler.disable_nagle_algorithm = not nagle
    return SimulatorServer(sim)


class SimulatorProcess:
    """The simulator in a child process, for a diagnostic: in-process, its HTTP handling competes
    with the panel's threads for the GIL. Offers what the benchmarks use of a `SimulatedProvider`
    (key, services, latency_ms, order_count, requests) and of a `SimulatorServer` (start, stop, url).

    Forked before the parent opens a database connection again (callers close theirs first).
    """

    def __init__(self, **options) -> None:
        import multiprocessing

        from providers.simulator import SimulatedProvider

        self._twin = SimulatedProvider(**options)  # same seed, same catalog: for `key` and `services`
        self.key = self._twin.key
        self.services = self._twin.services
        self._latency_ms = self._twin.latency_ms
        parent, child = multiprocessing.get_context("fork").Pipe()
        self._pipe = parent
        self._process = multiprocessing.get_context("fork").Process(
            target=_simulator_child, args=(child, options), daemon=True
        )
        self.url = ""

    def start(self) -> str:
        from django.db import connections

        connections.close_all()
        self._process.start()
        self.url = self._pipe.recv()
        return self.url

    def stop(self) -> None:
        if self._process.is_alive():
            self._pipe.send(("stop", None))
            self._process.join(timeout=10)

    def _ask(self, command: str, argument: object = None):
        self._pipe.send((command, argument))
        return self._pipe.recv()

    @property
    def latency_ms(self) -> float:
        return self._latency_ms

    @latency_ms.setter
    def latency_ms(self, value: float) -> None:
        self._latency_ms = value
        self._ask("latency", value)

    @property
    def order_count(self) -> int:
        return self._ask("order_count")

    @property
    def requests(self) -> list:
        return self._ask("requests")

    @property
    def request_count(self) -> int:
        return self._ask("request_count")

    def arrivals(self, action: str) -> list[float]:
        """When each `action` request arrived (the child's time.monotonic(), the same clock as this process's)."""
        return self._ask("arrivals", action)

    def add_orders(self, *, service: int, quantity: int, count: int) -> list[str]:
        """Place `count` orders at the simulator without HTTP (its `add` action); their upstream ids."""
        return self._ask("add_orders", (service, quantity, count))

    def inject(self, fault: str, action: str | None = None, times: int = 1, *, seconds: float | None = None) -> None:
        """`SimulatedProvider.inject` in the child, e.g. `inject("timeout", times=10**9, seconds=3600)`: a hang."""
        self._ask("inject", (fault, action, times, seconds))


def _simulator_child(pipe, options: dict) -> None:
    from providers.simulator import SimulatedProvider

    sim = SimulatedProvider(**options)
    server = simulator_server(sim)
    pipe.send(server.start())
    report = server._httpd.handle_error

    def handle_error(request, address) -> None:
        # A client that went away mid-answer (a worker stopped at the end of a run) is not news.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            report(request, address)

    server._httpd.handle_error = handle_error
    arrivals: list[tuple[str, float]] = []
    handle = sim.handle

    def timed_handle(form):
        arrivals.append((str(form.get("action", "")), time.monotonic()))
        return handle(form)

    sim.handle = timed_handle
    while True:
        command, argument = pipe.recv()
        if command == "stop":
            break
        if command == "latency":
            sim.latency_ms = argument
            pipe.send(None)
        elif command == "order_count":
            pipe.send(sim.order_count)
        elif command == "requests":
            pipe.send(sim.requests)
        elif command == "arrivals":
            pipe.send([at for action, at in arrivals if action == argument])
        elif command == "request_count":
            pipe.send(len(sim.requests))
        elif command == "add_orders":
            service, quantity, count = argument
            form = {"key": sim.key, "action": "add", "service": str(service), "quantity": str(quantity)}
            replies = (sim.handle({**form, "link": f"https://example.com/p/{n}"}) for n in range(count))
            pipe.send([str(reply.json()["order"]) for reply in replies])
        elif command == "inject":
            fault, action, times, seconds = argument
            sim.inject(fault, action, times, seconds=seconds)
            pipe.send(None)
    server.stop()


class QueryCounter:
    """Counts the SQL statements Django sends through a cursor, in every thread.

    Installed on the current thread's connection and, through `connection_created`, on every
    connection opened later (thread-pool workers open their own). BEGIN and COMMIT are not
    statements Django sends through a cursor, so they are not counted; savepoints are.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = 0
        self.connections_opened = 0
        self.kinds: Counter[str] = Counter()
        self.record_kinds = False

    def __call__(self, execute, sql, params, many, context):
        with self._lock:
            self.total += 1
            if self.record_kinds:
                self.kinds[_statement_kind(sql)] += 1
        return execute(sql, params, many, context)

    def install(self) -> "QueryCounter":
        from django.db import connection
        from django.db.backends.signals import connection_created

        connection_created.connect(self._connected, weak=False)
        self._attach(connection)
        return self

    def _connected(self, sender, connection, **kwargs) -> None:
        with self._lock:
            self.connections_opened += 1
        self._attach(connection)

    def _attach(self, connection) -> None:
        if self not in connection.execute_wrappers:
            connection.execute_wrappers.append(self)

    @contextmanager
    def measure(self, *, kinds: bool = False) -> Iterator["Measure"]:
        measure = Measure()
        with self._lock:
            start, start_connections = self.total, self.connections_opened
            self.kinds.clear()
            self.record_kinds = kinds
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            yield measure
        finally:
            measure.seconds = time.perf_counter() - started
            measure.cpu_seconds = time.process_time() - cpu_started
            with self._lock:
                measure.queries = self.total - start
                measure.connections = self.connections_opened - start_connections
                measure.kinds = Counter(self.kinds)
                self.record_kinds = False


@dataclass
class Measure:
    """Wall time, this process's CPU time (all its threads: the panel's code and the in-process
    simulator; PostgreSQL's own CPU is not in it), SQL statements and connections opened."""

    seconds: float = 0.0
    cpu_seconds: float = 0.0
    queries: int = 0
    connections: int = 0
    kinds: Counter = field(default_factory=Counter)


def _statement_kind(sql: str) -> str:
    words = sql.lstrip().split(None, 1)
    kind = words[0].upper() if words else "?"
    if kind == "SELECT" and "FOR UPDATE" in sql.upper():
        return "SELECT FOR UPDATE"
    return kind


def upstream_calls(sim, since: int = 0) -> Counter[str]:
    """Requests the simulator received after the first `since`, by action."""
    return Counter(action for action, _ in sim.requests[since:])


def elapsed(started: float) -> str:
    return f"{time.perf_counter() - started:.2f} s"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], title: str = "") -> None:
    cells = [[str(h) for h in headers]] + [[_cell(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    if title:
        print(f"\n{title}")
    for index, row in enumerate(cells):
        aligned = (
            text.ljust(w) if col == 0 else text.rjust(w) for col, (text, w) in enumerate(zip(row, widths, strict=True))
        )
        print("  ".join(aligned))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"
