from decimal import Decimal

import factory
from django.utils import timezone

from providers.models import Provider, ProviderService


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider

    name = factory.Sequence(lambda n: f"provider{n}")
    api_url = factory.Sequence(lambda n: f"https://provider{n}.example/api/v2")
    api_key = "upstream-key-for-tests"
    dialect = Provider.Dialect.STANDARD
    currency = "USD"


class ProviderServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProviderService

    provider = factory.SubFactory(ProviderFactory)
    service_id = factory.Sequence(lambda n: str(1000 + n))
    name = factory.Sequence(lambda n: f"Followers {n}")
    type = "Default"
    category = "Instagram Followers"
    rate = Decimal("0.90")
    min = 50
    max = 10000
    refill = True
    cancel = True
    last_seen_at = factory.LazyFunction(timezone.now)
