from django.core.management.base import BaseCommand, CommandError

from billing.selectors import ledger_mismatches


class Command(BaseCommand):
    help = "Check that every balance equals the sum of its ledger rows; exit non-zero if not."

    def handle(self, *args, **options):
        mismatches = ledger_mismatches()
        for user_id, username, balance, ledger_sum in mismatches:
            self.stderr.write(f"user {user_id} {username}: balance {balance} != ledger sum {ledger_sum}")
        if mismatches:
            raise CommandError(f"{len(mismatches)} balance(s) differ from their ledger.")
        self.stdout.write("OK: every balance equals its ledger sum.")
