from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from billing.models import LedgerEntry
from panel.models import User
from panel.selectors import user_by_api_key
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db


def _call(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_create_customer_prints_a_working_api_key_alone_on_the_last_line():
    output = _call("create_customer", "alice", "--email", "a@example.com", "--balance", "12.5")
    key = output.strip().splitlines()[-1]
    assert len(key) >= 32 and " " not in key
    user = User.objects.get(username="alice")
    assert user_by_api_key(key=key) == user
    assert (user.email, user.balance) == ("a@example.com", Decimal("12.5"))
    assert user.api_key_hash != key and key.startswith(user.api_key_prefix)
    assert list(user.ledger_entries.values_list("kind", "amount")) == [(LedgerEntry.Kind.DEPOSIT, Decimal("12.5"))]


def test_create_customer_refuses_a_taken_username_and_a_bad_balance():
    UserFactory(username="bob")
    with pytest.raises(CommandError, match="already exists"):
        _call("create_customer", "bob")
    with pytest.raises(CommandError, match="--balance must be an amount"):
        _call("create_customer", "carol", "--balance", "lots")
    assert not User.objects.filter(username="carol").exists()


def test_add_funds_credits_and_debits_through_the_ledger():
    user = UserFactory(username="dan", balance="1")
    _call("add_funds", "dan", "4.25", "--memo", "paypal 123")
    _call("add_funds", "dan", "-0.25", "--memo", "fee")
    user.refresh_from_db()
    assert user.balance == Decimal("5")
    assert list(user.ledger_entries.order_by("id").values_list("amount", "memo")) == [
        (Decimal("1"), "factory"),
        (Decimal("4.25"), "paypal 123"),
        (Decimal("-0.25"), "fee"),
    ]


def test_add_funds_refuses_a_debit_past_zero_with_a_clear_error():
    user = UserFactory(username="erin", balance="2")
    with pytest.raises(CommandError, match="Not enough funds on balance"):
        _call("add_funds", "erin", "-2.00001", "--memo", "too much")
    user.refresh_from_db()
    assert user.balance == Decimal("2") and user.ledger_entries.count() == 1


def test_add_funds_refuses_unknown_customers_and_non_numbers():
    with pytest.raises(CommandError, match="No customer named 'nobody'"):
        _call("add_funds", "nobody", "1", "--memo", "x")
    UserFactory(username="fay")
    with pytest.raises(CommandError, match="AMOUNT must be an amount"):
        _call("add_funds", "fay", "ten", "--memo", "x")


def test_verify_ledger_passes_on_a_consistent_ledger_and_fails_on_a_tampered_balance():
    user = UserFactory(balance="3")
    assert "OK" in _call("verify_ledger")
    User.objects.filter(pk=user.pk).update(balance=Decimal("4"))
    with pytest.raises(CommandError, match="1 balance"):
        _call("verify_ledger")
