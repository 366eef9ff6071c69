from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import DecimalField, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round

from billing.models import LedgerEntry


def ledger_mismatches() -> list[tuple[int, str, Decimal, Decimal]]:
    """Users whose balance differs from the sum of their ledger rows: (id, username, balance, sum)."""
    ledger_sum = (
        LedgerEntry.objects.filter(user_id=OuterRef("pk"))
        .order_by()
        .values("user_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    money = DecimalField(max_digits=30, decimal_places=5)
    rows = (
        get_user_model()
        .objects.annotate(
            ledger_sum=Coalesce(Subquery(ledger_sum, output_field=money), Value(Decimal(0)), output_field=money)
        )
        # Round: SQLite keeps decimals as floats, whose sums carry noise past our 5 places.
        .annotate(
            rounded_balance=Round("balance", 5, output_field=money),
            rounded_sum=Round("ledger_sum", 5, output_field=money),
        )
        .exclude(rounded_balance=F("rounded_sum"))
        .order_by("pk")
        .values_list("pk", "username", "balance", "rounded_sum")
    )
    return list(rows)
