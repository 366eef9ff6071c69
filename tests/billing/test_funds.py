"""Manual deposits, the add-funds form's bounds (issue 9 §4), fees and bonus tiers."""

from decimal import Decimal

import pytest

from billing.errors import FundsRequestDecided, FundsRequestInvalid
from billing.models import DepositBonusTier, FundsRequest, LedgerEntry, PaymentMethod
from billing.selectors import ledger_mismatches
from billing.services import funds_request_approve, funds_request_create, funds_request_reject
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def bank():
    return PaymentMethod.objects.create(name="Bank transfer", instructions="IBAN XX00", min_amount=Decimal("5"))


def test_a_request_writes_nothing_to_the_ledger_until_approved(bank):
    user = UserFactory()
    funds = funds_request_create(user_id=user.pk, method_id=bank.pk, amount=Decimal("25.5"), note="tx 991")
    assert LedgerEntry.objects.count() == 0
    staff = UserFactory(is_staff=True)
    funds_request_approve(funds_request_id=funds.pk, staff_id=staff.pk)
    user.refresh_from_db()
    funds.refresh_from_db()
    assert user.balance == Decimal("25.5")
    assert (funds.status, funds.reviewed_by, funds.credited_amount) == (
        FundsRequest.Status.APPROVED,
        staff,
        Decimal("25.5"),
    )
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.reference, entry.created_by) == ("deposit", f"funds:{funds.pk}", staff)


def test_a_second_decision_says_already_decided_and_changes_nothing(bank):
    user = UserFactory()
    staff = UserFactory(is_staff=True)
    funds = funds_request_create(user_id=user.pk, method_id=bank.pk, amount=Decimal("10"))
    funds_request_approve(funds_request_id=funds.pk, staff_id=staff.pk)
    with pytest.raises(FundsRequestDecided, match="already decided"):
        funds_request_approve(funds_request_id=funds.pk, staff_id=staff.pk)
    with pytest.raises(FundsRequestDecided, match="already decided"):
        funds_request_reject(funds_request_id=funds.pk, staff_id=staff.pk)
    user.refresh_from_db()
    assert user.balance == Decimal("10") and LedgerEntry.objects.count() == 1


def test_a_rejected_request_cannot_be_approved(bank):
    user = UserFactory()
    funds = funds_request_create(user_id=user.pk, method_id=bank.pk, amount=Decimal("10"))
    funds_request_reject(funds_request_id=funds.pk, staff_id=UserFactory(is_staff=True).pk, note="no payment seen")
    with pytest.raises(FundsRequestDecided, match=r"already decided \(rejected\)"):
        funds_request_approve(funds_request_id=funds.pk)
    assert LedgerEntry.objects.count() == 0


def test_a_bound_is_written_exactly_like_every_amount_where_money_is_decided(bank):
    bank.min_amount, bank.max_amount = Decimal("0.125"), Decimal("99.99999")
    bank.save()
    user = UserFactory()
    with pytest.raises(FundsRequestInvalid, match=r"^The minimum for Bank transfer is 0\.125\.$"):
        funds_request_create(user_id=user.pk, method_id=bank.pk, amount=Decimal("0.12"))
    # Rounded to two places this would read 100.00, an amount the method refuses.
    with pytest.raises(FundsRequestInvalid, match=r"^The maximum for Bank transfer is 99\.99999\.$"):
        funds_request_create(user_id=user.pk, method_id=bank.pk, amount=Decimal("100"))


def test_requests_below_the_minimum_above_the_maximum_or_with_bad_amounts_are_refused(bank):
    user = UserFactory()
    with pytest.raises(FundsRequestInvalid, match=r"The minimum for Bank transfer is 5\.00"):
        funds_request_create(user_id=user.pk, method_id=bank.pk, amount=Decimal("4.99"))
    with pytest.raises(FundsRequestInvalid, match=r"The maximum for Bank transfer is 10,000\.00"):
        funds_request_create(user_id=user.pk, method_id=bank.pk, amount=Decimal("10000.01"))
    with pytest.raises(FundsRequestInvalid, match="at most 5 decimals"):
        funds_request_create(user_id=user.pk, method_id=bank.pk, amount=Decimal("10.000001"))
    bank.is_active = False
    bank.save()
    with pytest.raises(FundsRequestInvalid, match="Choose a payment method"):
        funds_request_create(user_id=user.pk, method_id=bank.pk, amount=Decimal("10"))


def test_gateway_methods_take_amounts_in_cents(cryptomus):
    with pytest.raises(FundsRequestInvalid, match="at most 2 decimals"):
        funds_request_create(user_id=UserFactory().pk, method_id=cryptomus.pk, amount=Decimal("10.001"))


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("99999999999999999999", "That amount is far above what a deposit can be."),
        ("1E+15", "That amount is far above what a deposit can be."),
        ("123456789012345678901234", "That amount is far above what a deposit can be."),
        ("1" * 60, "Enter an amount such as 25 or 25.50."),
        ("NaN", "Enter an amount such as 25 or 25.50."),
        ("-5", "Enter an amount above zero."),
        ("12,5,,", "Enter an amount such as 25 or 25.50."),
        ("20000", "Bank transfer takes from 5.00 to 10,000.00 USD."),
        ("1.000001", "Enter at most 5 decimals."),
    ],
)
def test_the_add_funds_form_answers_bad_amounts_in_plain_words(customer_client, bank, typed, error):
    response = customer_client.post("/funds/", {"method": bank.pk, "amount": typed, "note": ""})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not FundsRequest.objects.exists()
    assert customer_client.get("/funds/").status_code == 200
    assert customer_client.get("/funds/deposits/").status_code == 200


def test_a_manual_request_is_sent_from_the_form_and_listed(customer_client, customer, bank):
    response = customer_client.post("/funds/", {"method": bank.pk, "amount": "25.50", "note": "tx 77"}, follow=True)
    funds = FundsRequest.objects.get()
    assert (funds.user, funds.amount, funds.note, funds.reference) == (customer, Decimal("25.5"), "tx 77", None)
    page = response.content.decode()
    assert f"Request {funds.pk} sent" in page
    detail = customer_client.get(f"/funds/deposits/{funds.pk}/").content.decode()
    assert "Waiting for approval" in detail


def test_a_fee_is_kept_and_the_best_bonus_tier_is_credited_as_its_own_row(bank):
    bank.fee_percent = Decimal("3")
    bank.bonus_percent = Decimal("1")
    bank.save()
    DepositBonusTier.objects.create(min_amount=Decimal("100"), percent=Decimal("5"))
    DepositBonusTier.objects.create(min_amount=Decimal("500"), percent=Decimal("10"))
    user = UserFactory()
    funds = funds_request_create(user_id=user.pk, method_id=bank.pk, amount=Decimal("500"))
    funds_request_approve(funds_request_id=funds.pk, staff_id=None)
    rows = list(LedgerEntry.objects.filter(user=user).order_by("id").values_list("kind", "amount", "reference"))
    # 500 paid, 3% fee kept: 485 deposited; bonus 1% (method) + 10% (tier from 500) of 485.
    assert rows == [
        ("deposit", Decimal("485"), f"funds:{funds.pk}"),
        ("bonus", Decimal("53.35"), f"funds:{funds.pk}"),
    ]
    funds.refresh_from_db()
    assert (funds.credited_amount, funds.bonus_amount) == (Decimal("485"), Decimal("53.35"))
    assert ledger_mismatches() == []


def test_no_bonus_below_the_first_tier(bank):
    DepositBonusTier.objects.create(min_amount=Decimal("100"), percent=Decimal("5"))
    user = UserFactory()
    funds = funds_request_create(user_id=user.pk, method_id=bank.pk, amount=Decimal("99.99"))
    funds_request_approve(funds_request_id=funds.pk, staff_id=None)
    assert list(LedgerEntry.objects.filter(user=user).values_list("kind", flat=True)) == ["deposit"]


def test_an_operator_approving_a_held_underpayment_credits_what_arrived(customer, cryptomus, client):
    from tests.billing.conftest import cryptomus_body, cryptomus_webhook, deposit_for

    deposit = deposit_for(customer, cryptomus, "10")
    fields = cryptomus_webhook(deposit, "wrong_amount", payment_amount="4.00000000")
    client.post("/payments/webhook/cryptomus/", data=cryptomus_body(fields), content_type="application/json")
    funds_request_approve(funds_request_id=deposit.pk, staff_id=UserFactory(is_staff=True).pk)
    customer.refresh_from_db()
    assert customer.balance == Decimal("4")


def test_a_credit_that_would_overflow_the_balance_column_is_refused():
    from billing.errors import InvalidAmount
    from billing.services import balance_credit

    user = UserFactory(balance="999999999999999")
    with pytest.raises(InvalidAmount, match="largest amount the panel keeps"):
        balance_credit(user_id=user.pk, amount=Decimal("1"))
    user.refresh_from_db()
    assert user.balance == Decimal("999999999999999")


def test_a_note_with_a_nul_byte_is_refused_as_the_customers_mistake(customer_client, bank):
    response = customer_client.post("/funds/", {"method": bank.pk, "amount": "10", "note": "tx\x0077"})
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()
    assert not FundsRequest.objects.exists()
