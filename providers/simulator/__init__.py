"""A simulated upstream provider speaking API v2, for the demo, tests and benchmarks.

An independent implementation of the server side of the protocol (it never imports the panel's
client), in any of the seeds' dialects, with deterministic order fates and injectable faults.
Pure Python and the standard library: no database, no Django.
"""

from providers.simulator.catalog import SERVICE_TYPES, Product, Service, ServiceType
from providers.simulator.dialects import DIALECTS
from providers.simulator.server import SimulatorServer
from providers.simulator.state import (
    FATES,
    FAULTS,
    RANDOM_FAULTS,
    REFILL_FATES,
    ManualClock,
    OrderView,
    ProductOrderView,
    RefillView,
    Reply,
    SimulatedProvider,
)

__all__ = [
    "DIALECTS",
    "FATES",
    "FAULTS",
    "RANDOM_FAULTS",
    "REFILL_FATES",
    "SERVICE_TYPES",
    "ManualClock",
    "OrderView",
    "Product",
    "ProductOrderView",
    "RefillView",
    "Reply",
    "Service",
    "ServiceType",
    "SimulatedProvider",
    "SimulatorServer",
]
