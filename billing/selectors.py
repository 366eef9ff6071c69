from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from billing.models import AffiliateAccount, AffiliateEntry, AffiliatePayout, FundsRequest, LedgerEntry
from core.ids import id_parse
from core.money import money_sum_field


def ledger_mismatches() -> list[tuple[int, str, Decimal, Decimal]]:
    """Balances that differ from the sum of their ledger rows: (user id, username, balance, sum).

    Both accounts of every customer: the main balance, then the affiliate balance (named "username (affiliate)").
    """
    return _main_ledger_mismatches() + affiliate_ledger_mismatches()


def _main_ledger_mismatches() -> list[tuple[int, str, Decimal, Decimal]]:
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


def affiliate_ledger_mismatches() -> list[tuple[int, str, Decimal, Decimal]]:
    """Affiliate accounts whose balance differs from the sum of their rows: (user id, "username (affiliate)", ...)."""
    entry_sum = (
        AffiliateEntry.objects.filter(account_id=OuterRef("pk"))
        .order_by()
        .values("account_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    money = money_sum_field()
    rows = (
        AffiliateAccount.objects.annotate(
            entry_sum=Coalesce(Subquery(entry_sum, output_field=money), Value(Decimal(0)), output_field=money)
        )
        .annotate(
            rounded_balance=Round("balance", settings.MONEY_DECIMAL_PLACES, output_field=money),
            rounded_sum=Round("entry_sum", settings.MONEY_DECIMAL_PLACES, output_field=money),
        )
        .exclude(rounded_balance=F("rounded_sum"))
        .order_by("pk")
        .values_list("pk", "user__username", "balance", "rounded_sum")
    )
    return [(pk, f"{username} (affiliate)", balance, total) for pk, username, balance, total in rows]


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
    if kind == "transfer":
        return gettext("Affiliates"), reverse("affiliates")
    number = number.split(":", 1)[0]
    if id_parse(number) is None:
        return None
    if kind == "order":
        return gettext("Order %(id)s") % {"id": number}, reverse("orders") + f"?q={number}"
    if kind == "funds":
        return gettext("Deposit %(id)s") % {"id": number}, reverse("deposit_detail", args=[int(number)])
    return None


@dataclass(frozen=True)
class AffiliateSummary:
    """What the Affiliates page shows a referrer about their link and earnings."""

    account: AffiliateAccount
    percent: Decimal
    visits: int
    signups: int
    conversions: int  # referred customers with a credited deposit
    earned: Decimal  # commissions less reversed ones
    transferred: Decimal  # moved to the main balance
    paid_out: Decimal  # approved payout requests
    pending_payouts: Decimal  # held for staff


def affiliate_summary(*, account: AffiliateAccount, percent: Decimal) -> AffiliateSummary:
    totals = dict(
        AffiliateEntry.objects.filter(account=account)
        .order_by()
        .values("kind")
        .annotate(total=Sum("amount"))
        .values_list("kind", "total")
    )
    payouts = dict(
        AffiliatePayout.objects.filter(account=account)
        .order_by()
        .values("status")
        .annotate(total=Sum("amount"))
        .values_list("status", "total")
    )
    referrals = AffiliateAccount.objects.filter(referred_by=account)
    zero = Decimal(0)
    return AffiliateSummary(
        account=account,
        percent=percent,
        visits=account.visits,
        signups=referrals.count(),
        conversions=referrals.filter(user__funds_requests__status=FundsRequest.Status.APPROVED)
        .values("pk")
        .distinct()
        .count(),
        earned=totals.get(AffiliateEntry.Kind.COMMISSION, zero) + totals.get(AffiliateEntry.Kind.REVERSAL, zero),
        transferred=-totals.get(AffiliateEntry.Kind.TRANSFER, zero),
        paid_out=payouts.get(AffiliatePayout.Status.APPROVED, zero),
        pending_payouts=payouts.get(AffiliatePayout.Status.PENDING, zero),
    )


def referrer_of(*, user_id: int) -> AffiliateAccount | None:
    """The affiliate account that referred this customer, with its user, or None."""
    return AffiliateAccount.objects.select_related("user").filter(referrals__pk=user_id).first()
