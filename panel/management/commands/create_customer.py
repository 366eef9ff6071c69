from django.core.management.base import BaseCommand, CommandError

from billing.money import money_parse
from panel.errors import PanelError
from panel.services import customer_create


class Command(BaseCommand):
    help = "Create a customer with an API key; the key is printed alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--balance", default="0", help="opening balance, e.g. 25.50")
        parser.add_argument("--password", default=None, help="to let the customer log in to the website")

    def handle(self, *args, username, email, balance, password, **options):
        try:
            amount = money_parse(balance)
        except ValueError:
            raise CommandError(f"--balance must be an amount such as 25.50, not {balance!r}.") from None
        if amount < 0:
            raise CommandError("--balance cannot be negative.")
        try:
            user, key = customer_create(username=username, email=email, password=password, balance=amount)
        except PanelError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Created customer {user.username} (id {user.pk}) with balance {user.balance}.")
        self.stdout.write("API key (shown once):")
        self.stdout.write(key)
