"""Two panels in a chain: a second copy of the panel (its own process and database) sells our
/api/v2 as its provider, and orders flow through both to the simulator and back."""

import os
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from billing.selectors import ledger_mismatches
from orders.models import Order, Service
from orders.services.catalog import services_sync
from orders.services.cycle import orders_cycle
from orders.services.ordering import order_create
from providers.services import provider_create
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class UpstreamPanel:
    """Our panel run as another process, with its own SQLite database."""

    def __init__(self, tmp_path: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/api/v2"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "panel.settings",
            "DEBUG": "1",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'upstream.sqlite3'}",
            "PANEL_VAR_DIR": str(tmp_path),
            "REDIS_URL": "",
            "CELERY_BROKER_URL": "memory://",
            "SECURE_SSL_REDIRECT": "0",
        }
        self.server = None

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def serve(self) -> None:
        self.server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(self.url, timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise AssertionError("the upstream panel did not start")

    def stop(self) -> None:
        if self.server:
            self.server.terminate()
            self.server.wait(timeout=10)


@pytest.fixture
def upstream_panel(tmp_path, upstream_factory):
    simulator = upstream_factory()
    panel = UpstreamPanel(tmp_path)
    panel.manage("migrate", "--noinput", "-v", "0")
    panel.manage("add_provider", "simulator", simulator.url, simulator.sim.key, "--markup", "20")
    panel.manage("sync_services", "--no-progress")
    panel.reseller_key = panel.manage("create_customer", "reseller", "--balance", "100").strip().splitlines()[-1]
    panel.simulator = simulator
    panel.serve()
    yield panel
    panel.stop()


def test_an_order_flows_through_both_panels_and_the_partial_refund_comes_back(upstream_panel):
    simulator = upstream_panel.simulator
    provider = provider_create(
        name="our other panel",
        api_url=upstream_panel.url,
        api_key=upstream_panel.reseller_key,
        markup_percent=Decimal("50"),
    )
    # Our /api/v2 answers like the standard dialect and also offers seed 003's products actions.
    assert provider.dialect == "003" and provider.balance == Decimal("100")
    services_sync(provider_id=provider.pk)
    assert Service.objects.filter(provider=provider).count() == 20
    service = Service.objects.get(provider=provider, name=simulator.sim.service(1).name)
    # Simulator rate 15.2013 → upstream panel +20% → 18.24156 → ours +50% → 27.36234.
    assert (service.cost, service.rate) == (Decimal("18.24156"), Decimal("27.36234"))

    simulator.sim.force_next_fate("partial", remains=250)
    customer = UserFactory(balance="50")
    order = order_create(user=customer, service_id=service.pk, data={"link": "https://x.test/p", "quantity": 1000})
    orders_cycle(concurrency=1)
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and order.upstream_order_id == "1"
    upstream_panel.manage("process_orders")
    assert simulator.sim.order_count == 1
    simulator.finish_everything()
    upstream_panel.manage("process_orders")
    orders_cycle(concurrency=1)
    order.refresh_from_db()
    assert (order.status, order.remains, order.refunded) == (Order.Status.PARTIAL, 250, Decimal("6.84059"))
    customer.refresh_from_db()
    assert customer.balance == Decimal("50") - Decimal("27.36234") + Decimal("6.84059")
    assert ledger_mismatches() == []
    upstream_balance = requests.post(
        upstream_panel.url, data={"key": upstream_panel.reseller_key, "action": "balance"}, timeout=5
    ).json()
    # The reseller paid 18.24156 and got back a quarter of it.
    assert upstream_balance == {
        "balance": str(Decimal("100") - Decimal("18.24156") + Decimal("4.56039")),
        "currency": "USD",
    }
