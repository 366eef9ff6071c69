"""A simulated upstream provider served on localhost, added to the panel as a provider (fixtures for any test)."""

from decimal import Decimal

import pytest

from orders.models import Service
from orders.services.catalog import services_sync
from providers.services import provider_create
from providers.simulator.server import SimulatorServer
from providers.simulator.state import ManualClock, SimulatedProvider


class Upstream:
    """A simulator served on localhost, with its clock in the test's hands, added to the panel as a provider."""

    def __init__(self, *, dialect: str, **options):
        self.clock = ManualClock()
        self.sim = SimulatedProvider(dialect=dialect, clock=self.clock, stage_seconds=10, **options)
        self.server = SimulatorServer(self.sim)
        self.url = self.server.start()
        self.provider = None

    def connect(self, *, markup_percent: Decimal = Decimal("0")):
        self.provider = provider_create(
            name=f"sim-{self.sim.dialect}", api_url=self.url, api_key=self.sim.key, markup_percent=markup_percent
        )
        services_sync(provider_id=self.provider.pk)
        return self.provider

    def service(self, upstream_id: int) -> Service:
        return Service.objects.get(
            provider=self.provider, kind=Service.Kind.SERVICE, provider_service__service_id=str(upstream_id)
        )

    def finish_everything(self):
        self.clock.advance(1000)


@pytest.fixture
def upstream_factory(settings):
    settings.PROVIDER_READ_TIMEOUT = 2
    settings.PROVIDER_RETRY_BACKOFF = 0
    made = []

    def make(dialect: str = "standard", **options) -> Upstream:
        upstream = Upstream(dialect=dialect, **options)
        made.append(upstream)
        return upstream

    yield make
    for upstream in made:
        upstream.server.stop()


@pytest.fixture
def upstream(upstream_factory):
    upstream = upstream_factory()
    upstream.connect()
    return upstream
