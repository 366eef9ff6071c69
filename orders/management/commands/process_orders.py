from django.core.management.base import BaseCommand

from orders.services.cycle import orders_cycle


class Command(BaseCommand):
    help = (
        "Run one whole worker cycle now: place waiting orders, then per provider send cancels and refills "
        "and poll statuses. A failing provider is reported and the others go on; the exit status stays 0."
    )

    def add_arguments(self, parser):
        parser.add_argument("--concurrency", type=int, default=8, help="orders placed at once")
        parser.add_argument(
            "--budget",
            type=float,
            default=None,
            help="seconds each provider's status poll may take (least recently polled first); default: no limit",
        )

    def handle(self, *args, concurrency, budget, **options):
        report = orders_cycle(concurrency=concurrency, budget_seconds=budget)
        for line in report.lines():
            self.stdout.write(line)
