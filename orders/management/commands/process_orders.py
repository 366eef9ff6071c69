from django.core.management.base import BaseCommand

from orders.services.cycle import orders_cycle


class Command(BaseCommand):
    help = "Run one whole worker cycle now: place waiting orders, poll statuses, send cancels and refills."

    def add_arguments(self, parser):
        parser.add_argument("--concurrency", type=int, default=8, help="orders placed at once")

    def handle(self, *args, concurrency, **options):
        report = orders_cycle(concurrency=concurrency)
        for line in report.lines():
            self.stdout.write(line)
