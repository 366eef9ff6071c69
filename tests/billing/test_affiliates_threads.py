"""Real threads on PostgreSQL: one commission per deposit whoever credits it, and no overdrawn affiliate balance."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import responses
from django.utils import timezone

from billing.errors import AffiliateInsufficientFunds, AffiliatePayoutDecided
from billing.gateways import Notification
from billing.models import AffiliateAccount, AffiliateEntry, AffiliatePayout, FundsRequest, LedgerEntry, PaymentMethod
from billing.selectors import ledger_mismatches
from billing.services import (
    affiliate_account_get,
    affiliate_payout_approve,
    affiliate_payout_reject,
    affiliate_payout_request,
    affiliate_referrer_set,
    affiliate_transfer,
    deposit_notification_receive,
    deposits_sweep,
    funds_request_approve,
    funds_request_create,
)
from tests.billing.conftest import CRYPTOMUS_KEY, cryptomus_body, cryptomus_webhook, deposit_for, method
from tests.billing.threads import run_together
from tests.panel.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def referred_by(referrer):
    customer = UserFactory()
    affiliate_referrer_set(user_id=customer.pk, code=affiliate_account_get(user_id=referrer.pk).code)
    return customer


def affiliate_balance(user) -> Decimal:
    return AffiliateAccount.objects.get(pk=user.pk).balance


def earned(amount: str):
    """A referrer with `amount` on their affiliate balance: 5% of a referral's deposit of 20 x amount."""
    referrer = UserFactory()
    bank = PaymentMethod.objects.create(name="Bank", max_amount=Decimal("100000"))
    funds = funds_request_create(user_id=referred_by(referrer).pk, method_id=bank.pk, amount=Decimal(amount) * 20)
    funds_request_approve(funds_request_id=funds.pk)
    assert affiliate_balance(referrer) == Decimal(amount)
    return referrer


def test_a_webhook_and_the_sweep_crediting_one_deposit_at_once_give_one_commission():
    cryptomus = method("cryptomus", {"merchant": "m", "api_key": CRYPTOMUS_KEY}, name="Cryptomus")
    referrer = UserFactory()
    deposits = {}
    for _ in range(6):
        deposit = deposit_for(referred_by(referrer), cryptomus, "10")
        FundsRequest.objects.filter(pk=deposit.pk).update(gateway_reference=f"uuid-{deposit.pk}")
        deposit.refresh_from_db()
        deposits[deposit.gateway_reference] = deposit

    def info(request):
        deposit = deposits[json.loads(request.body)["uuid"]]
        body = {"state": 0, "result": cryptomus_webhook(deposit, "paid", uuid=deposit.gateway_reference)}
        return 200, {}, json.dumps(body)

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, "https://api.cryptomus.com/v1/payment/info", callback=info)
        for deposit in deposits.values():
            FundsRequest.objects.filter(pk=deposit.pk).update(created_at=timezone.now() - timedelta(minutes=30))
            body = cryptomus_body(cryptomus_webhook(deposit, "paid", uuid=deposit.gateway_reference))
            notification = Notification(body=body, headers={}, form={})
            outcomes = run_together(
                lambda n=notification: deposit_notification_receive(gateway_code="cryptomus", notification=n),
                lambda: deposits_sweep(limit=100),
            )
            assert not [o for o in outcomes if isinstance(o, Exception)], outcomes

    for deposit in deposits.values():
        assert FundsRequest.objects.get(pk=deposit.pk).status == FundsRequest.Status.APPROVED
        assert LedgerEntry.objects.filter(kind="deposit", reference=f"funds:{deposit.pk}").count() == 1
        assert AffiliateEntry.objects.filter(reference=f"funds:{deposit.pk}").count() == 1
    assert affiliate_balance(referrer) == Decimal("0.5") * len(deposits)
    assert ledger_mismatches() == []


def test_two_payout_requests_at_once_cannot_overdraw_the_affiliate_balance():
    for _ in range(5):
        referrer = earned("50")
        outcomes = run_together(
            lambda r=referrer: affiliate_payout_request(user_id=r.pk, amount=Decimal("30"), details="T1"),
            lambda r=referrer: affiliate_payout_request(user_id=r.pk, amount=Decimal("30"), details="T2"),
        )
        assert sorted(type(o).__name__ for o in outcomes) == ["AffiliateInsufficientFunds", "AffiliatePayout"]
        assert affiliate_balance(referrer) == Decimal("20")
        assert AffiliatePayout.objects.filter(account_id=referrer.pk).count() == 1
    assert ledger_mismatches() == []


def test_a_transfer_and_a_payout_at_once_cannot_spend_the_same_earnings_twice():
    for _ in range(5):
        referrer = earned("50")
        outcomes = run_together(
            lambda r=referrer: affiliate_transfer(user_id=r.pk, amount=Decimal("40")),
            lambda r=referrer: affiliate_payout_request(user_id=r.pk, amount=Decimal("40"), details="T1"),
        )
        failures = [o for o in outcomes if isinstance(o, Exception)]
        assert len(failures) == 1 and isinstance(failures[0], AffiliateInsufficientFunds), outcomes
        referrer.refresh_from_db()
        moved = referrer.balance
        held = sum(AffiliatePayout.objects.filter(account_id=referrer.pk).values_list("amount", flat=True))
        assert (moved + held, affiliate_balance(referrer)) == (Decimal("40"), Decimal("10"))
    assert ledger_mismatches() == []


def test_commissions_arriving_while_the_referrer_moves_earnings_neither_deadlock_nor_get_lost():
    referrer = earned("50")
    bank = PaymentMethod.objects.create(name="Bank 2")
    pending = [
        funds_request_create(user_id=referred_by(referrer).pk, method_id=bank.pk, amount=Decimal("100"))
        for _ in range(4)
    ]
    works = [lambda f=funds: funds_request_approve(funds_request_id=f.pk) for funds in pending]
    works += [lambda: affiliate_transfer(user_id=referrer.pk, amount=Decimal("10")) for _ in range(4)]
    outcomes = run_together(*works)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    referrer.refresh_from_db()
    assert (referrer.balance, affiliate_balance(referrer)) == (Decimal("40"), Decimal("30"))
    assert ledger_mismatches() == []


def test_approving_and_rejecting_one_payout_at_once_decide_it_once():
    staff = UserFactory(is_staff=True)
    for _ in range(5):
        referrer = earned("50")
        payout = affiliate_payout_request(user_id=referrer.pk, amount=Decimal("50"), details="T1")
        outcomes = run_together(
            lambda p=payout: affiliate_payout_approve(payout_id=p.pk, staff_id=staff.pk),
            lambda p=payout: affiliate_payout_reject(payout_id=p.pk, staff_id=staff.pk),
        )
        losers = [o for o in outcomes if isinstance(o, AffiliatePayoutDecided)]
        assert len(losers) == 1, outcomes
        payout.refresh_from_db()
        returned = Decimal("50") if payout.status == AffiliatePayout.Status.REJECTED else Decimal("0")
        assert affiliate_balance(referrer) == returned
    assert ledger_mismatches() == []
