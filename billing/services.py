"""The only code that moves money: `balance_credit_many` (and its one-row form) and `balance_debit`.

Each locks the customers' rows (SELECT ... FOR UPDATE, in primary-key order so that two
callers can never deadlock), computes the new balances and writes them with their ledger
rows in one transaction. The lock serialises concurrent changes of one customer, so two
workers can never both spend the same cent; the database's check constraint on the
balance stands behind it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Case, Value, When
from django.utils import timezone

from billing.errors import FundsRequestInvalid, InsufficientFunds, InvalidAmount
from billing.models import FundsRequest, LedgerEntry, PaymentMethod
from core.money import money_round

Kind = LedgerEntry.Kind
CREDIT_KINDS = {Kind.DEPOSIT, Kind.REFUND, Kind.ADJUSTMENT}
DEBIT_KINDS = {Kind.CHARGE, Kind.ADJUSTMENT}


@dataclass(frozen=True)
class Credit:
    user_id: int
    amount: Decimal
    kind: str = Kind.REFUND
    reference: str = ""
    memo: str = ""
    created_by_id: int | None = None


def balance_credit(
    *,
    user_id: int,
    amount: Decimal,
    kind: str = Kind.DEPOSIT,
    reference: str = "",
    memo: str = "",
    created_by_id: int | None = None,
) -> LedgerEntry:
    """Add `amount` to a balance. With a reference, a repeat returns the first row unchanged."""
    credit = Credit(
        user_id=user_id, amount=amount, kind=kind, reference=reference, memo=memo, created_by_id=created_by_id
    )
    return balance_credit_many(credits=[credit])[0]


def balance_credit_many(*, credits: Sequence[Credit]) -> list[LedgerEntry]:
    """Credit many balances in one transaction and a constant number of queries (a poll cycle's refunds).

    Returns one ledger row per credit, in order. A credit whose (kind, reference) was already
    written, before or earlier in the same call, returns that first row and changes nothing:
    retrying a refund is safe.
    """
    for credit in credits:
        if credit.kind not in CREDIT_KINDS:
            raise ValueError(f"{credit.kind} is not a credit")
        _positive(credit.amount)
    if not credits:
        return []
    User = get_user_model()
    with transaction.atomic(savepoint=False):
        user_ids = sorted({credit.user_id for credit in credits})
        balances = dict(
            User.objects.select_for_update().filter(pk__in=user_ids).order_by("pk").values_list("pk", "balance")
        )
        if len(balances) != len(user_ids):
            raise User.DoesNotExist(f"unknown user in {user_ids}")
        # Checked under the customers' locks, so a concurrent retry of the same refund waits
        # for the first and then finds its row.
        references = {credit.reference for credit in credits if credit.reference}
        # With the kinds too, the lookup is a scan of the unique (kind, reference) index, not of the ledger.
        kinds = {credit.kind for credit in credits if credit.reference}
        existing = LedgerEntry.objects.filter(kind__in=kinds, reference__in=references) if references else []
        written = {(entry.kind, entry.reference): entry for entry in existing}
        results: list[LedgerEntry] = []
        new_entries: list[LedgerEntry] = []
        for credit in credits:
            key = (credit.kind, credit.reference)
            if credit.reference and key in written:
                results.append(written[key])
                continue
            balances[credit.user_id] += credit.amount
            entry = LedgerEntry(
                user_id=credit.user_id,
                kind=credit.kind,
                amount=credit.amount,
                balance_after=balances[credit.user_id],
                reference=credit.reference,
                memo=credit.memo[:255],
                created_by_id=credit.created_by_id,
            )
            if credit.reference:
                written[key] = entry
            new_entries.append(entry)
            results.append(entry)
        changed = {entry.user_id for entry in new_entries}
        if changed:
            User.objects.filter(pk__in=changed).update(
                balance=Case(*(When(pk=user_id, then=Value(balances[user_id])) for user_id in sorted(changed)))
            )
            LedgerEntry.objects.bulk_create(new_entries)
    return results


def balance_debit(
    *,
    user_id: int,
    amount: Decimal,
    kind: str = Kind.CHARGE,
    reference: str = "",
    memo: str = "",
    created_by_id: int | None = None,
) -> LedgerEntry:
    """Take `amount` from a balance, or raise InsufficientFunds and write nothing."""
    if kind not in DEBIT_KINDS:
        raise ValueError(f"{kind} is not a debit")
    amount = _positive(amount)
    User = get_user_model()
    # savepoint=False: inside a caller's transaction (placing an order) a failure here must
    # undo the caller's writes too, and a savepoint would cost a round trip per charge.
    # A refusal leaves the block normally and is raised after it, so that a caller's
    # transaction stays usable (it can go on with the next line of a mass order).
    with transaction.atomic(savepoint=False):
        new_balance = _balance_take(user_model=User, user_id=user_id, amount=amount)
        if new_balance is not None:
            return LedgerEntry.objects.create(
                user_id=user_id,
                kind=kind,
                amount=-amount,
                balance_after=new_balance,
                reference=reference,
                memo=memo[:255],
                created_by_id=created_by_id,
            )
    raise InsufficientFunds()


def _balance_take(*, user_model, user_id: int, amount: Decimal) -> Decimal | None:
    """Subtract `amount` if the balance covers it, in one conditional UPDATE; the new balance, or None.

    The UPDATE takes the row lock itself and re-checks the condition on the row it locked, so
    concurrent debits of one customer queue up behind each other and none can overdraw it.
    """
    table = connection.ops.quote_name(user_model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET balance = balance - %s WHERE id = %s AND balance >= %s RETURNING balance",  # noqa: S608
            [amount, user_id, amount],
        )
        row = cursor.fetchone()
    if row is None:
        if not user_model.objects.filter(pk=user_id).exists():
            raise user_model.DoesNotExist(f"no user {user_id}")
        return None
    # SQLite hands back a float for a decimal column: read it through its text at our precision.
    return money_round(Decimal(str(row[0])))


def balance_adjust(*, user_id: int, amount: Decimal, memo: str, created_by_id: int | None = None) -> LedgerEntry:
    """An operator's signed correction: a positive amount is a deposit, a negative one a debit."""
    if amount > 0:
        return balance_credit(user_id=user_id, amount=amount, kind=Kind.DEPOSIT, memo=memo, created_by_id=created_by_id)
    return balance_debit(user_id=user_id, amount=-amount, kind=Kind.ADJUSTMENT, memo=memo, created_by_id=created_by_id)


def _positive(amount: Decimal) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise InvalidAmount()
    if money_round(amount) != amount:
        raise InvalidAmount("The amount has more decimal places than the panel keeps.")
    return amount


def funds_request_create(*, user_id: int, method_id: int, amount: Decimal, note: str = "") -> FundsRequest:
    method = PaymentMethod.objects.filter(pk=method_id, is_active=True).first()
    if method is None:
        raise FundsRequestInvalid("Choose a payment method.")
    if not isinstance(amount, Decimal) or not amount.is_finite() or money_round(amount) != amount:
        raise FundsRequestInvalid(f"The amount must be a number with at most {settings.MONEY_DECIMAL_PLACES} decimals.")
    if amount < method.min_amount:
        raise FundsRequestInvalid(f"The minimum for {method.name} is {method.min_amount}.")
    return FundsRequest.objects.create(user_id=user_id, method=method, amount=amount, note=note[:255])


def funds_request_approve(
    *, funds_request_id: int, staff_id: int | None = None, gateway_reference: str = ""
) -> FundsRequest:
    """Approve a pending request and credit the customer; a second approval changes nothing."""
    with transaction.atomic():
        funds = FundsRequest.objects.select_for_update().get(pk=funds_request_id)
        if funds.status == FundsRequest.Status.REJECTED:
            raise FundsRequestInvalid(f"Funds request {funds.pk} was rejected.")
        if funds.status == FundsRequest.Status.APPROVED:
            return funds
        balance_credit(
            user_id=funds.user_id,
            amount=funds.amount,
            kind=Kind.DEPOSIT,
            reference=f"funds:{funds.pk}",
            memo=f"{funds.method.name} {gateway_reference or funds.note}".strip(),
            created_by_id=staff_id,
        )
        funds.status = FundsRequest.Status.APPROVED
        funds.reviewed_by_id = staff_id
        funds.reviewed_at = timezone.now()
        funds.gateway_reference = gateway_reference
        funds.save(update_fields=["status", "reviewed_by", "reviewed_at", "gateway_reference"])
        return funds


def funds_request_reject(*, funds_request_id: int, staff_id: int, note: str = "") -> FundsRequest:
    updated = FundsRequest.objects.filter(pk=funds_request_id, status=FundsRequest.Status.PENDING).update(
        status=FundsRequest.Status.REJECTED, reviewed_by_id=staff_id, reviewed_at=timezone.now(), review_note=note[:255]
    )
    if not updated:
        raise FundsRequestInvalid(f"Funds request {funds_request_id} is not waiting for approval.")
    return FundsRequest.objects.get(pk=funds_request_id)
