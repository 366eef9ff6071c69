"""The only code that moves money.

Each function locks the customer's row (SELECT ... FOR UPDATE), computes the new balance,
writes it and the ledger row in one transaction. The lock serialises concurrent charges of
one customer, so two workers can never both spend the same cent; the database's check
constraint on the balance is the last line behind it.
"""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from billing.errors import InsufficientFunds, InvalidAmount
from billing.models import LedgerEntry
from billing.money import money_round

Kind = LedgerEntry.Kind
CREDIT_KINDS = {Kind.DEPOSIT, Kind.REFUND, Kind.ADJUSTMENT}
DEBIT_KINDS = {Kind.CHARGE, Kind.ADJUSTMENT}


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
    if kind not in CREDIT_KINDS:
        raise ValueError(f"{kind} is not a credit")
    return _ledger_write(
        user_id=user_id,
        signed_amount=_positive(amount),
        kind=kind,
        reference=reference,
        memo=memo,
        created_by_id=created_by_id,
    )


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
    return _ledger_write(
        user_id=user_id,
        signed_amount=-_positive(amount),
        kind=kind,
        reference=reference,
        memo=memo,
        created_by_id=created_by_id,
    )


def _positive(amount: Decimal) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise InvalidAmount()
    if money_round(amount) != amount:
        raise InvalidAmount("The amount has more decimal places than the panel keeps.")
    return amount


def balance_adjust(*, user_id: int, amount: Decimal, memo: str, created_by_id: int | None = None) -> LedgerEntry:
    """An operator's signed correction: a positive amount is a deposit, a negative one a debit."""
    if amount > 0:
        return balance_credit(user_id=user_id, amount=amount, kind=Kind.DEPOSIT, memo=memo, created_by_id=created_by_id)
    return balance_debit(user_id=user_id, amount=-amount, kind=Kind.ADJUSTMENT, memo=memo, created_by_id=created_by_id)


def _ledger_write(
    *, user_id: int, signed_amount: Decimal, kind: str, reference: str, memo: str, created_by_id: int | None
) -> LedgerEntry:
    User = get_user_model()
    # savepoint=False: inside a caller's transaction (placing an order) a failure here must
    # undo the caller's writes too, and a savepoint would cost a round trip per charge.
    # A refusal leaves the block normally and is raised after it, so that a caller's
    # transaction stays usable (it can go on with the next line of a mass order).
    with transaction.atomic(savepoint=False):
        balance = User.objects.select_for_update().values_list("balance", flat=True).get(pk=user_id)
        if reference and signed_amount > 0:
            # Under the customer's lock, so a concurrent retry of the same refund waits here
            # and then finds the first one.
            existing = LedgerEntry.objects.filter(kind=kind, reference=reference).first()
            if existing is not None:
                return existing
        new_balance = balance + signed_amount
        if new_balance >= 0:
            User.objects.filter(pk=user_id).update(balance=new_balance)
            return LedgerEntry.objects.create(
                user_id=user_id,
                kind=kind,
                amount=signed_amount,
                balance_after=new_balance,
                reference=reference,
                memo=memo[:255],
                created_by_id=created_by_id,
            )
    raise InsufficientFunds()
