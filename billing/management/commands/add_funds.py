from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from billing.money import money_parse
from billing.services import balance_adjust
from panel.errors import PanelError


class Command(BaseCommand):
    help = "Credit a customer (or debit with a negative amount), written to the ledger."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("amount", help="e.g. 10 or -2.5")
        parser.add_argument("--memo", required=True, help="why: shown in the ledger")

    def handle(self, *args, username, amount, memo, **options):
        try:
            value = money_parse(amount)
        except ValueError:
            raise CommandError(f"AMOUNT must be a number such as 10 or -2.5, not {amount!r}.") from None
        if value == 0:
            raise CommandError("AMOUNT must not be zero.")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No customer named {username!r}.")
        try:
            entry = balance_adjust(user_id=user.pk, amount=value, memo=memo)
        except PanelError as error:
            raise CommandError(f"{error.message} (balance {user.balance}, asked {value}).") from None
        self.stdout.write(f"{username}: {entry.amount:+} → balance {entry.balance_after}")
