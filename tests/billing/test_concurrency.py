"""Real threads on PostgreSQL: the row lock is what keeps a balance from going negative."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from billing.errors import InsufficientFunds
from billing.models import LedgerEntry
from billing.selectors import ledger_mismatches
from billing.services import balance_credit, balance_debit
from panel.models import User
from tests.panel.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _run_together(count: int, work) -> list:
    """Start `count` threads that call work(i) at the same moment; return their outcomes."""
    barrier = threading.Barrier(count)
    outcomes: list = [None] * count

    def runner(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i] = work(i)
        except Exception as error:
            outcomes[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_fifty_concurrent_debits_on_a_balance_for_ten_let_exactly_ten_through():
    user = UserFactory(balance="10")
    outcomes = _run_together(50, lambda i: balance_debit(user_id=user.pk, amount=Decimal("1"), reference=f"order:{i}"))
    succeeded = [o for o in outcomes if isinstance(o, LedgerEntry)]
    refused = [o for o in outcomes if isinstance(o, InsufficientFunds)]
    assert (len(succeeded), len(refused)) == (10, 40)
    user.refresh_from_db()
    assert user.balance == Decimal("0")
    assert sorted(e.balance_after for e in succeeded) == [Decimal(n) for n in range(10)]
    assert ledger_mismatches() == []


def test_concurrent_retries_of_one_refund_write_one_row():
    user = UserFactory(balance="3")
    balance_debit(user_id=user.pk, amount=Decimal("3"), reference="order:5")
    outcomes = _run_together(
        20,
        lambda i: balance_credit(
            user_id=user.pk, amount=Decimal("3"), kind=LedgerEntry.Kind.REFUND, reference="order:5"
        ),
    )
    assert all(isinstance(o, LedgerEntry) for o in outcomes)
    assert len({o.pk for o in outcomes}) == 1
    assert User.objects.get(pk=user.pk).balance == Decimal("3")
    assert ledger_mismatches() == []
