from django.core.management.base import BaseCommand, CommandError

from core.errors import PanelError
from core.money import money_arg
from panel.services import customer_create


class Command(BaseCommand):
    help = "Create a customer with an API key; the key is printed alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--balance", default="0", help="opening balance, e.g. 25.50")
        parser.add_argument("--password", default=None, help="to let the customer log in to the website")

    def handle(self, *args, username, email, balance, password, **options):
        amount = money_arg("--balance", balance)
        try:
            user, key = customer_create(username=username, email=email, password=password, balance=amount)
        except PanelError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Created customer {user.username} (id {user.pk}) with balance {user.balance}.")
        self.stdout.write("API key (shown once):")
        self.stdout.write(key)
