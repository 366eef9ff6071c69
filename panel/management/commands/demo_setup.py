from django.core.management.base import BaseCommand

from panel.demo import DEMO_PROVIDER_PORT, DEMO_PROVIDERS, demo_load


class Command(BaseCommand):
    help = (
        "(Re)load the demo data, idempotently: staff in each shipped group, customers (one referred by the other), "
        "two simulated providers with their catalogs, deposits, finished and live orders of every kind, a ticket, "
        "an announcement, favourites and an operator alert. Prints the logins and the demo customer's API key."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--provider-port",
            type=int,
            default=DEMO_PROVIDER_PORT,
            help=f"where run_demo serves the simulated providers: this port and the next {len(DEMO_PROVIDERS) - 1}",
        )

    def handle(self, *args, provider_port, **options):
        report = demo_load(provider_port=provider_port)
        for line in report.lines:
            self.stdout.write(line)
        self.stdout.write("\nLogins:")
        width = max(len(f"{login.username} / {login.password}") for login in report.logins) + 4
        for login in report.logins:
            self.stdout.write(f"  {f'{login.username} / {login.password}':<{width}}{login.role}")
        # Last, alone after its label: scripts read it from here.
        self.stdout.write(f"Customer API key: {report.api_key}")
