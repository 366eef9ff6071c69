from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round
from django.urls import reverse
from django.utils import timezone

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


def ledger_entries_for(
    *, user_id: int, kind: str = "", date_from: date | None = None, date_to: date | None = None
) -> QuerySet[LedgerEntry]:
    """One customer's ledger rows, newest first, filtered by kind and by day (both ends included).

    Days are the panel's time zone's; the bounds become a created_at range so the
    (user, -id) index and the created_at index serve the query.
    """
    rows = LedgerEntry.objects.filter(user_id=user_id)
    if kind:
        rows = rows.filter(kind=kind)
    zone = timezone.get_current_timezone()
    if date_from:
        rows = rows.filter(created_at__gte=datetime.combine(date_from, time.min, tzinfo=zone))
    if date_to:
        rows = rows.filter(created_at__lt=datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone))
    return rows.order_by("-id")


def ledger_link(reference: str) -> tuple[str, str] | None:
    """Where a ledger row's reference points to on the customer's website: (label, url), or None."""
    kind, _, number = reference.partition(":")
    number = number.split(":", 1)[0]
    if not number.isdigit():
        return None
    if kind == "order":
        return f"Order {number}", reverse("orders") + f"?q={number}"
    if kind == "funds":
        return f"Deposit {number}", reverse("deposit_detail", args=[int(number)])
    return None
