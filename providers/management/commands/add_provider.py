from django.core.management.base import BaseCommand, CommandError

from core.errors import PanelError
from core.money import money_arg
from providers.models import Provider
from providers.services import provider_create


class Command(BaseCommand):
    help = "Check a provider's API (balance) and save it; nothing is saved if the check fails."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("url", help="the provider's API URL, e.g. https://example.com/api/v2")
        parser.add_argument("key", help="our API key at the provider")
        parser.add_argument("--markup", default="0", help="markup in percent, e.g. 25")
        parser.add_argument("--fixed", default="0", help="fixed markup added to every rate per 1,000")
        parser.add_argument("--hold-new", action="store_true", help="new services wait, disabled, for an operator")
        parser.add_argument(
            "--dialect", default="", choices=[d for d in Provider.Dialect.values if d], help="skip detection"
        )

    def handle(self, *args, name, url, key, markup, fixed, hold_new, dialect, **options):
        try:
            provider = provider_create(
                name=name,
                api_url=url,
                api_key=key,
                markup_percent=money_arg("--markup", markup, negative=True),
                markup_fixed=money_arg("--fixed", fixed, negative=True),
                hold_new_services=hold_new,
                dialect=dialect,
            )
        except PanelError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            f"Added provider {provider.name} (id {provider.pk}, dialect {provider.dialect}): "
            f"balance {provider.balance} {provider.currency}"
        )
