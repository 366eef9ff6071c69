from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from billing.errors import InsufficientFunds, InvalidAmount
from billing.models import LedgerEntry
from billing.selectors import ledger_mismatches
from billing.services import balance_adjust, balance_credit, balance_debit
from panel.models import User
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db
Kind = LedgerEntry.Kind


def test_a_credit_writes_one_row_and_raises_the_balance():
    user = UserFactory()
    entry = balance_credit(user_id=user.pk, amount=Decimal("10.12345"), memo="bank transfer")
    user.refresh_from_db()
    assert user.balance == Decimal("10.12345")
    assert (entry.kind, entry.amount, entry.balance_after, entry.memo) == (
        Kind.DEPOSIT,
        Decimal("10.12345"),
        Decimal("10.12345"),
        "bank transfer",
    )


def test_a_debit_lowers_the_balance_with_a_negative_row():
    user = UserFactory(balance="5")
    entry = balance_debit(user_id=user.pk, amount=Decimal("1.5"), reference="order:1")
    user.refresh_from_db()
    assert user.balance == Decimal("3.5")
    assert (entry.kind, entry.amount, entry.balance_after) == (Kind.CHARGE, Decimal("-1.5"), Decimal("3.5"))


def test_a_debit_past_zero_raises_insufficient_funds_and_writes_nothing():
    user = UserFactory(balance="1")
    with pytest.raises(InsufficientFunds, match="Not enough funds on balance"):
        balance_debit(user_id=user.pk, amount=Decimal("1.00001"), reference="order:7")
    user.refresh_from_db()
    assert user.balance == Decimal("1")
    assert not LedgerEntry.objects.filter(reference="order:7").exists()


def test_a_debit_of_the_whole_balance_leaves_exactly_zero():
    user = UserFactory(balance="0.27819")
    balance_debit(user_id=user.pk, amount=Decimal("0.27819"))
    user.refresh_from_db()
    assert user.balance == Decimal("0")


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-1"), Decimal("NaN"), Decimal("0.000001"), 1.5])
def test_it_refuses_amounts_that_are_not_positive_five_place_decimals(amount):
    user = UserFactory(balance="10")
    with pytest.raises(InvalidAmount):
        balance_debit(user_id=user.pk, amount=amount)
    with pytest.raises(InvalidAmount):
        balance_credit(user_id=user.pk, amount=amount)
    assert LedgerEntry.objects.filter(user=user).count() == 1


def test_a_repeated_refund_for_the_same_order_writes_one_row():
    user = UserFactory(balance="2")
    balance_debit(user_id=user.pk, amount=Decimal("2"), reference="order:42")
    first = balance_credit(user_id=user.pk, amount=Decimal("2"), kind=Kind.REFUND, reference="order:42")
    second = balance_credit(user_id=user.pk, amount=Decimal("2"), kind=Kind.REFUND, reference="order:42")
    user.refresh_from_db()
    assert first.pk == second.pk
    assert LedgerEntry.objects.filter(kind=Kind.REFUND, reference="order:42").count() == 1
    assert user.balance == Decimal("2")


def test_a_second_charge_for_the_same_reference_is_refused_by_the_database():
    user = UserFactory(balance="5")
    balance_debit(user_id=user.pk, amount=Decimal("1"), reference="order:9")
    with pytest.raises(IntegrityError), transaction.atomic():
        balance_debit(user_id=user.pk, amount=Decimal("1"), reference="order:9")
    user.refresh_from_db()
    assert user.balance == Decimal("4")


def test_the_database_refuses_a_negative_balance_even_without_the_service():
    user = UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=user.pk).update(balance=Decimal("-0.00001"))


def test_ledger_rows_cannot_be_changed_or_deleted():
    user = UserFactory(balance="1")
    entry = LedgerEntry.objects.get(user=user)
    entry.memo = "rewritten"
    with pytest.raises(ValueError, match="immutable"):
        entry.save()
    with pytest.raises(ValueError, match="immutable"):
        entry.delete()


def test_an_adjustment_credits_or_debits_by_its_sign():
    user = UserFactory(balance="3")
    balance_adjust(user_id=user.pk, amount=Decimal("-1.25"), memo="chargeback")
    balance_adjust(user_id=user.pk, amount=Decimal("0.5"), memo="goodwill")
    user.refresh_from_db()
    assert user.balance == Decimal("2.25")
    kinds = list(LedgerEntry.objects.filter(user=user).order_by("id").values_list("kind", "amount"))
    assert kinds == [(Kind.DEPOSIT, Decimal("3")), (Kind.ADJUSTMENT, Decimal("-1.25")), (Kind.DEPOSIT, Decimal("0.5"))]


def test_verify_finds_no_mismatch_after_service_writes_and_finds_a_tampered_balance():
    users = UserFactory.create_batch(3, balance="7")
    balance_debit(user_id=users[0].pk, amount=Decimal("2.5"))
    UserFactory()  # no rows at all: balance 0 == empty sum
    assert ledger_mismatches() == []
    User.objects.filter(pk=users[1].pk).update(balance=Decimal("8"))
    assert ledger_mismatches() == [(users[1].pk, users[1].username, Decimal("8"), Decimal("7"))]
