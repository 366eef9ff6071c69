from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.errors import PanelError
from orders.services.catalog import services_sync
from providers.models import Provider


class Command(BaseCommand):
    help = "Fetch providers' services and update our catalog."

    def add_arguments(self, parser):
        parser.add_argument("--provider", help="the provider's name (default: every active provider)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, provider, no_progress, **options):
        providers = Provider.objects.filter(is_active=True)
        if provider:
            providers = Provider.objects.filter(name=provider)
            if not providers.exists():
                raise CommandError(f"No provider named {provider!r}.")
        failures = 0
        for item in providers:
            with tqdm(desc=item.name, unit="services", disable=no_progress, file=self.stderr._out) as bar:

                def progress(done: int, total: int, bar=bar) -> None:
                    bar.total = total
                    bar.n = done
                    bar.refresh()

                try:
                    report = services_sync(provider_id=item.pk, progress=progress)
                except PanelError as error:
                    failures += 1
                    self.stderr.write(f"{item.name}: {error.message}")
                    continue
            self.stdout.write(f"{item.name}: {report}")
        if failures:
            raise CommandError(f"{failures} provider(s) failed to sync.")
