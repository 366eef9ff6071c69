from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction

from panel.models import User
from panel.services import api_key_rotate, customer_create

DEMO_ADMIN = ("admin", "admin")
DEMO_CUSTOMER = ("demo", "demo-password")
DEMO_BALANCE = Decimal("100")


class Command(BaseCommand):
    help = "Load the demo data (idempotent): an admin, a demo customer with a balance, a simulated provider."

    @transaction.atomic
    def handle(self, *args, **options):
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
        self.stdout.write(f"Admin login:    {admin_name} / {admin_password}")
        self.stdout.write(f"Customer login: {name} / {password} (balance {customer.balance})")
        self.stdout.write(f"Customer API key: {key}")
