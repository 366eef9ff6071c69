from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from billing.services import balance_adjust
from core.errors import PanelError
from core.money import money_arg


class Command(BaseCommand):
    help = "Credit a customer (or debit with a negative amount), written to the ledger."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("amount", help="e.g. 10 or -2.5")
        parser.add_argument("--memo", required=True, help="why: shown in the ledger")

    def handle(self, *args, username, amount, memo, **options):
        value = money_arg("AMOUNT", amount, negative=True, zero=False)
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No customer named {username!r}.")
        try:
            entry = balance_adjust(user_id=user.pk, amount=value, memo=memo)
        except PanelError as error:
            raise CommandError(f"{error.message} (balance {user.balance}, asked {value}).") from None
        self.stdout.write(f"{username}: {entry.amount:+} → balance {entry.balance_after}")
