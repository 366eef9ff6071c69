from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction

from billing.models import PaymentMethod
from orders.models import Order, Service
from orders.services.catalog import services_sync
from orders.services.ordering import order_create
from panel.models import DisplayCurrency, User
from panel.services import api_key_rotate, customer_create
from providers.models import Provider
from providers.services import provider_create
from providers.simulator import SimulatedProvider, SimulatorServer

DEMO_ADMIN = ("admin", "admin")
DEMO_CUSTOMER = ("demo", "demo-password")
DEMO_BALANCE = Decimal("100")
DEMO_PROVIDER = "Demo provider (simulated)"
DEMO_PROVIDER_PORT = 8001
DEMO_SIMULATOR_KEY = "sim-key"
# With this seed the demo customer's three orders end Completed, Partial (refunded in part), Completed.
DEMO_SIMULATOR_SEED = 10


class Command(BaseCommand):
    help = "Load the demo data (idempotent): an admin, a demo customer with a balance, a simulated provider."

    def add_arguments(self, parser):
        parser.add_argument("--provider-port", type=int, default=DEMO_PROVIDER_PORT)

    def handle(self, *args, provider_port, **options):
        with transaction.atomic():
            admin_name, admin_password = DEMO_ADMIN
            if not User.objects.filter(username=admin_name).exists():
                customer_create(username=admin_name, email="admin@example.com", password=admin_password, is_staff=True)
            name, password = DEMO_CUSTOMER
            customer = User.objects.filter(username=name).first()
            if customer is None:
                customer, key = customer_create(
                    username=name, email="demo@example.com", password=password, balance=DEMO_BALANCE
                )
            else:
                # Only a hash is stored, so a fresh key is the only way to show one again.
                key = api_key_rotate(user=customer)
            if not PaymentMethod.objects.exists():
                PaymentMethod.objects.create(name="Test card (no real money)", gateway="test", sort_order=1)
                PaymentMethod.objects.create(
                    name="Bank transfer",
                    instructions="IBAN XX00 DEMO 0000 0000, reference: your username. An operator approves it.",
                    min_amount=Decimal("10"),
                    sort_order=2,
                )
            # A currency the demo customer may also read prices in (Account → Display currency).
            DisplayCurrency.objects.get_or_create(code="EUR", defaults={"rate": Decimal("0.92")})
        self.demo_provider(port=provider_port, customer=customer)
        self.stdout.write(f"Admin login:    {admin_name} / {admin_password}")
        self.stdout.write(f"Customer login: {name} / {password} (balance {customer.balance})")
        self.stdout.write(f"Customer API key: {key}")

    def demo_provider(self, *, port: int, customer: User) -> None:
        """Add the simulator as a provider and sync its services, with a short-lived in-process copy
        of the simulator that `run_demo` serves for good (same seed, same services)."""
        if Provider.objects.filter(name=DEMO_PROVIDER).exists():
            return
        simulator = SimulatedProvider(key=DEMO_SIMULATOR_KEY, seed=DEMO_SIMULATOR_SEED)
        with SimulatorServer(simulator, port=0) as server:
            provider = provider_create(
                name=DEMO_PROVIDER, api_url=server.url, api_key=DEMO_SIMULATOR_KEY, markup_percent=Decimal("30")
            )
            services_sync(provider_id=provider.pk)
        Provider.objects.filter(pk=provider.pk).update(api_url=f"http://127.0.0.1:{port}/api/v2")
        default = Service.objects.filter(provider=provider, type="Default").order_by("rate").first()
        if default is not None and not Order.objects.filter(user=customer).exists():
            for index, quantity in enumerate((default.min, default.min * 2, default.min * 3), start=1):
                order_create(
                    user=customer,
                    service_id=default.pk,
                    data={"link": f"https://instagram.com/p/demo{index}", "quantity": quantity},
                )
            customer.refresh_from_db()
