"""Real threads on PostgreSQL: a deposit is decided once, whoever races for it."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import responses
from django.utils import timezone

from billing.errors import FundsRequestDecided
from billing.gateways import Notification
from billing.models import FundsRequest, LedgerEntry, WebhookLog
from billing.selectors import ledger_mismatches
from billing.services import (
    deposit_notification_receive,
    deposits_sweep,
    funds_request_approve,
    funds_request_create,
    funds_request_reject,
)
from tests.billing.conftest import CRYPTOMUS_KEY, cryptomus_body, cryptomus_webhook, deposit_for, method
from tests.billing.threads import run_together
from tests.panel.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
S = FundsRequest.Status


def test_concurrent_approve_and_reject_of_one_request_let_exactly_one_win():
    bank = method("", {}, name="Bank")
    staff = UserFactory(is_staff=True)
    for _ in range(10):
        customer = UserFactory()
        funds = funds_request_create(user_id=customer.pk, method_id=bank.pk, amount=Decimal("25"))
        outcomes = run_together(
            lambda f=funds: funds_request_approve(funds_request_id=f.pk, staff_id=staff.pk),
            lambda f=funds: funds_request_reject(funds_request_id=f.pk, staff_id=staff.pk),
        )
        winners = [o for o in outcomes if isinstance(o, FundsRequest)]
        losers = [o for o in outcomes if isinstance(o, FundsRequestDecided)]
        assert (len(winners), len(losers)) == (1, 1), outcomes
        assert "already decided" in losers[0].message
        funds.refresh_from_db()
        customer.refresh_from_db()
        credited = funds.status == S.APPROVED
        assert customer.balance == (Decimal("25") if credited else Decimal("0"))
        assert LedgerEntry.objects.filter(user=customer).count() == (1 if credited else 0)
    assert ledger_mismatches() == []


def test_a_webhook_and_the_sweep_for_the_same_payment_at_once_credit_it_once():
    cryptomus = method("cryptomus", {"merchant": "m", "api_key": CRYPTOMUS_KEY}, name="Cryptomus")
    deposits = {}
    for _ in range(8):
        deposit = deposit_for(UserFactory(), cryptomus, "10")
        FundsRequest.objects.filter(pk=deposit.pk).update(gateway_reference=f"uuid-{deposit.pk}")
        deposit.refresh_from_db()
        deposits[deposit.gateway_reference] = deposit

    def info(request):
        deposit = deposits[json.loads(request.body)["uuid"]]
        return (
            200,
            {},
            json.dumps({"state": 0, "result": cryptomus_webhook(deposit, "paid", uuid=deposit.gateway_reference)}),
        )

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, "https://api.cryptomus.com/v1/payment/info", callback=info)
        for deposit in deposits.values():
            # Only this deposit is old enough for the sweep, which thus races the webhook for it alone.
            FundsRequest.objects.filter(pk=deposit.pk).update(created_at=timezone.now() - timedelta(minutes=30))
            body = cryptomus_body(cryptomus_webhook(deposit, "paid", uuid=deposit.gateway_reference))
            notification = Notification(body=body, headers={}, form={})
            run_together(
                lambda n=notification: deposit_notification_receive(gateway_code="cryptomus", notification=n),
                lambda: deposits_sweep(limit=100),
            )

    for deposit in deposits.values():
        deposit.refresh_from_db()
        assert deposit.status == S.APPROVED
        assert deposit.user.balance == Decimal("10")
        assert LedgerEntry.objects.filter(reference=f"funds:{deposit.pk}").count() == 1
    # Each webhook either credited (it won) or found the deposit credited by the sweep (409): never refused or a 500.
    assert set(WebhookLog.objects.values_list("http_status", flat=True)) <= {200, 409}
    assert WebhookLog.objects.count() == len(deposits)
    assert ledger_mismatches() == []
