from decimal import Decimal

import factory

from orders.models import Category, Order, Service
from tests.panel.factories import UserFactory
from tests.providers.factories import ProviderServiceFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("name",)

    name = "Instagram Followers"


class ServiceFactory(factory.django.DjangoModelFactory):
    """A service on sale at `rate` per 1,000 (cost 0.90), of the upstream's `type`."""

    class Meta:
        model = Service

    provider_service = factory.SubFactory(ProviderServiceFactory)
    provider = factory.SelfAttribute("provider_service.provider")
    name = factory.SelfAttribute("provider_service.name")
    category = factory.SubFactory(CategoryFactory)
    type = factory.SelfAttribute("provider_service.type")
    min = 50
    max = 10000
    refill = True
    cancel = True
    dripfeed = False
    cost = Decimal("0.90")
    rate = Decimal("1.20")


class OrderFactory(factory.django.DjangoModelFactory):
    """An order row as the placement wrote it, without money: use order_create for charged orders."""

    class Meta:
        model = Order

    user = factory.SubFactory(UserFactory)
    service = factory.SubFactory(ServiceFactory)
    provider = factory.SelfAttribute("service.provider")
    link = factory.Sequence(lambda n: f"https://instagram.com/p/{n}")
    quantity = 1000
    rate = Decimal("1.20")
    charge = Decimal("1.20")
