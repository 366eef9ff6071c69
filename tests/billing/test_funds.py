from decimal import Decimal

import pytest

from billing.errors import FundsRequestInvalid
from billing.gateways import TestGateway
from billing.models import FundsRequest, LedgerEntry, PaymentMethod
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
    funds_request_approve(funds_request_id=funds.pk, staff_id=staff.pk)
    user.refresh_from_db()
    funds.refresh_from_db()
    assert user.balance == Decimal("25.5")
    assert (funds.status, funds.reviewed_by) == (FundsRequest.Status.APPROVED, staff)
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.reference, entry.created_by) == ("deposit", f"funds:{funds.pk}", staff)


def test_a_rejected_request_cannot_be_approved(bank):
    user = UserFactory()
    funds = funds_request_create(user_id=user.pk, method_id=bank.pk, amount=Decimal("10"))
    funds_request_reject(funds_request_id=funds.pk, staff_id=UserFactory(is_staff=True).pk, note="no payment seen")
    with pytest.raises(FundsRequestInvalid, match="was rejected"):
        funds_request_approve(funds_request_id=funds.pk)
    assert LedgerEntry.objects.count() == 0


def test_requests_below_the_minimum_or_with_bad_amounts_are_refused(bank):
    user = UserFactory()
    with pytest.raises(FundsRequestInvalid, match="The minimum for Bank transfer is 5"):
        funds_request_create(user_id=user.pk, method_id=bank.pk, amount=Decimal("4.99"))
    with pytest.raises(FundsRequestInvalid, match="at most 5 decimals"):
        funds_request_create(user_id=user.pk, method_id=bank.pk, amount=Decimal("10.000001"))
    bank.is_active = False
    bank.save()
    with pytest.raises(FundsRequestInvalid, match="Choose a payment method"):
        funds_request_create(user_id=user.pk, method_id=bank.pk, amount=Decimal("10"))


def test_the_test_gateway_pays_only_with_a_valid_signature(client):
    method = PaymentMethod.objects.create(name="Test card", gateway="test")
    user = UserFactory()
    client.force_login(user)
    response = client.post("/funds/", {"method": method.pk, "amount": "12.5", "note": ""})
    funds = FundsRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/funds/test-gateway/{funds.pk}/"
    client.post(f"/funds/test-gateway/{funds.pk}/pay/", {"signature": "forged"})
    user.refresh_from_db()
    assert user.balance == Decimal("0")
    signature = TestGateway().signature(funds)
    client.post(f"/funds/test-gateway/{funds.pk}/pay/", {"signature": signature})
    client.post(f"/funds/test-gateway/{funds.pk}/pay/", {"signature": signature})
    user.refresh_from_db()
    assert user.balance == Decimal("12.5")
    assert LedgerEntry.objects.filter(reference=f"funds:{funds.pk}").count() == 1


def test_a_customer_cannot_pay_anothers_request(client):
    method = PaymentMethod.objects.create(name="Test card", gateway="test")
    owner = UserFactory()
    funds = funds_request_create(user_id=owner.pk, method_id=method.pk, amount=Decimal("10"))
    client.force_login(UserFactory())
    response = client.post(f"/funds/test-gateway/{funds.pk}/pay/", {"signature": TestGateway().signature(funds)})
    assert response.status_code == 404
    owner.refresh_from_db()
    assert owner.balance == Decimal("0")
