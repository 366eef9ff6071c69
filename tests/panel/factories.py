from decimal import Decimal

import factory

from billing.models import LedgerEntry
from billing.services import balance_credit
from panel.models import User


class UserFactory(factory.django.DjangoModelFactory):
    """A customer. `balance=` is credited through the ledger, so balance == ledger sum holds."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"customer{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("password-for-tests")

    @factory.post_generation
    def balance(user, create, extracted, **kwargs):
        if create and extracted:
            balance_credit(user_id=user.pk, amount=Decimal(extracted), kind=LedgerEntry.Kind.DEPOSIT, memo="factory")
            user.refresh_from_db(fields=["balance"])
