from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round

from billing.models import LedgerEntry
from core.money import money_sum_field


def ledger_mismatches() -> list[tuple[int, str, Decimal, Decimal]]:
    """Users whose balance differs from the sum of their ledger rows: (id, username, balance, sum)."""
    ledger_sum = (
        LedgerEntry.objects.filter(user_id=OuterRef("pk"))
        .order_by()
        .values("user_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    money = money_sum_field()
    rows = (
        get_user_model()
        .objects.annotate(
            ledger_sum=Coalesce(Subquery(ledger_sum, output_field=money), Value(Decimal(0)), output_field=money)
        )
        # Round: SQLite keeps decimals as floats, whose sums carry noise past our decimal places.
        .annotate(
            rounded_balance=Round("balance", settings.MONEY_DECIMAL_PLACES, output_field=money),
            rounded_sum=Round("ledger_sum", settings.MONEY_DECIMAL_PLACES, output_field=money),
        )
        .exclude(rounded_balance=F("rounded_sum"))
        .order_by("pk")
        .values_list("pk", "username", "balance", "rounded_sum")
    )
    return list(rows)
