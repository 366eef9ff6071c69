"""Fixtures for deposits: one payment method per gateway with credentials, and signed notifications.

Every notification is built and signed the way its gateway documents it (see the gateway
modules' docstrings), from the raw bytes the gateway would send.
"""

import base64
import hashlib
import hmac
import json
from decimal import Decimal

import pytest
import responses
from django.test import Client

from billing.models import PaymentMethod
from billing.services import funds_request_create
from tests.panel.factories import UserFactory

CRYPTOMUS_KEY = "cryptomus-payment-key-0123456789"
CRYPTOMUS_MERCHANT = "8b03432e-385b-4670-8d06-064591096795"
NOWPAYMENTS_KEY = "A7M40XV-CG1448Z-KVVED3G-NW3V0TK"
NOWPAYMENTS_IPN_SECRET = "ipn-secret-for-tests"
PM_ACCOUNT = "U1234567"
PM_ALTERNATE = "alternate-passphrase"


@pytest.fixture
def gateway_http():
    """Every outgoing request must be one the test registered: nothing reaches the network."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def customer(db):
    return UserFactory()


@pytest.fixture
def customer_client(customer):
    client = Client()
    client.force_login(customer)
    return client


def method(gateway: str, credentials: dict, **fields) -> PaymentMethod:
    payment_method = PaymentMethod(name=fields.pop("name", gateway.title()), gateway=gateway, **fields)
    payment_method.credentials = credentials
    payment_method.save()
    return payment_method


@pytest.fixture
def cryptomus(db):
    return method("cryptomus", {"merchant": CRYPTOMUS_MERCHANT, "api_key": CRYPTOMUS_KEY}, name="Cryptomus")


@pytest.fixture
def nowpayments(db):
    return method("nowpayments", {"api_key": NOWPAYMENTS_KEY, "ipn_secret": NOWPAYMENTS_IPN_SECRET}, name="NOWPayments")


@pytest.fixture
def perfectmoney(db):
    return method(
        "perfectmoney",
        {"payee_account": PM_ACCOUNT, "payee_name": "Panel", "alternate_passphrase": PM_ALTERNATE},
        name="Perfect Money",
    )


def deposit_for(user, payment_method, amount="10", **fields):
    deposit = funds_request_create(user_id=user.pk, method_id=payment_method.pk, amount=Decimal(amount))
    if fields:
        type(deposit).objects.filter(pk=deposit.pk).update(**fields)
        deposit.refresh_from_db()
    return deposit


# Cryptomus: sign = md5(base64(PHP json_encode of the body without sign) + API key), inside the body.
def cryptomus_body(fields: dict, key: str = CRYPTOMUS_KEY) -> bytes:
    php = json.dumps(fields, separators=(",", ":"), ensure_ascii=False).replace("/", "\\/")
    sign = hashlib.md5(base64.b64encode(php.encode()) + key.encode()).hexdigest()
    signed = php[:-1] + f',"sign":"{sign}"}}'
    return signed.encode()


def cryptomus_webhook(deposit, status="paid", **overrides) -> dict:
    fields = {
        "type": "payment",
        "uuid": "62f88b36-a9d5-4fa6-aa26-e040c3dbf26d",
        "order_id": deposit.reference,
        "amount": f"{deposit.amount:.2f}",
        "payment_amount": "10.00000000",
        "payment_amount_usd": "10.00",
        "merchant_amount": "9.80000000",
        "commission": "0.20000000",
        "is_final": True,
        "status": status,
        "from": None,
        "wallet_address_uuid": None,
        "network": "tron",
        "currency": "USD",
        "payer_currency": "USDT",
        "payer_amount": "10.00000000",
        "additional_data": None,
        "txid": "6f0d9c8374db57cac0d806251473de754f361c83a03cd805f74aa9da3193486b",
    }
    fields.update(overrides)
    return fields


# NOWPayments: x-nowpayments-sig = HMAC-SHA512(IPN secret, JSON.stringify(body, sorted keys)).
def nowpayments_signature(fields: dict, secret: str = NOWPAYMENTS_IPN_SECRET) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(secret.encode(), canonical.encode(), hashlib.sha512).hexdigest()


def nowpayments_ipn(deposit, status="finished", **overrides) -> dict:
    fields = {
        "payment_id": 5077125051,
        "invoice_id": int(deposit.gateway_reference or 4522625843),
        "payment_status": status,
        "pay_address": "0xd1cDE08A07cD25adEbEd35c3867a59228C09B606",
        # JavaScript writes whole numbers without ".0"; NOWPayments' bodies are written by it.
        "price_amount": int(deposit.amount)
        if deposit.amount == deposit.amount.to_integral()
        else float(deposit.amount),
        "price_currency": "usd",
        "pay_amount": 165.652609,
        "actually_paid": 165.652609 if status == "finished" else 0,
        "actually_paid_at_fiat": 0,
        "pay_currency": "trx",
        "order_id": deposit.reference,
        "order_description": f"Deposit {deposit.pk}",
        "purchase_id": "5837122679",
        "created_at": "2021-12-24T15:42:23.211Z",
        "updated_at": "2021-12-24T15:44:47.312Z",
        "outcome_amount": 1131.7812095,
        "outcome_currency": "trx",
        "fee": {"currency": "trx", "depositFee": 0, "serviceFee": 0, "withdrawalFee": 0},
    }
    fields.update(overrides)
    return fields


# Perfect Money: V2_HASH = MD5 of the documented fields and the uppercase MD5 of the alternate passphrase.
def perfectmoney_form(deposit, amount=None, passphrase: str = PM_ALTERNATE, **overrides) -> dict:
    form = {
        "PAYEE_ACCOUNT": PM_ACCOUNT,
        "PAYMENT_ID": deposit.reference,
        "PAYMENT_AMOUNT": amount or f"{deposit.amount:.2f}",
        "PAYMENT_UNITS": "USD",
        "PAYMENT_BATCH_NUM": "789456123",
        "PAYER_ACCOUNT": "U7654321",
        "TIMESTAMPGMT": "1700000000",
        "SUGGESTED_MEMO": f"Deposit {deposit.pk}",
    }
    form.update(overrides)
    alternate_hash = hashlib.md5(passphrase.encode()).hexdigest().upper()
    fields = ["PAYMENT_ID", "PAYEE_ACCOUNT", "PAYMENT_AMOUNT", "PAYMENT_UNITS", "PAYMENT_BATCH_NUM", "PAYER_ACCOUNT"]
    text = ":".join([*(form[name] for name in fields), alternate_hash, form["TIMESTAMPGMT"]])
    form.setdefault("V2_HASH", hashlib.md5(text.encode()).hexdigest().upper())
    return form
