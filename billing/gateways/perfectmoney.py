"""Perfect Money (https://perfectmoney.com/sci-spec.html, the Shopping Cart Interface).

- Payment: the customer's browser POSTs a form to https://perfectmoney.com/api/step1.asp with
  PAYEE_ACCOUNT, PAYEE_NAME, PAYMENT_ID (our reference), PAYMENT_AMOUNT, PAYMENT_UNITS,
  STATUS_URL (our notification URL), PAYMENT_URL / NOPAYMENT_URL (the way back).
- Status: Perfect Money POSTs a form to STATUS_URL after a payment, verified by V2_HASH =
  uppercase md5 of "PAYMENT_ID:PAYEE_ACCOUNT:PAYMENT_AMOUNT:PAYMENT_UNITS:PAYMENT_BATCH_NUM:
  PAYER_ACCOUNT:" + uppercase md5(alternate passphrase) + ":TIMESTAMPGMT".
- Check: the account history (https://perfectmoney.com/acct/historycsv.asp, CSV) filtered by
  our PAYMENT_ID, when the operator gives the member ID and its passphrase (optional: without
  them only the status notification can credit a payment).
"""

import csv
import hashlib
import hmac
import io
import re
from collections.abc import Mapping
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from billing.errors import GatewayBadResponse, GatewayNotConfigured, GatewayRefused, WebhookRejected
from billing.gateways import CredentialField, DepositUrls, Invoice, Notification, PaymentState, Redirect, decimal_text
from billing.http import gateway_request
from core.money import money_parse

SCI_URL = "https://perfectmoney.com/api/step1.asp"
HISTORY_URL = "https://perfectmoney.com/acct/historycsv.asp"
BALANCE_URL = "https://perfectmoney.com/acct/balance.asp"
HISTORY_HEADER = ["Time", "Type", "Batch", "Currency", "Amount", "Fee", "Payer Account", "Payee Account", "Payment ID"]
# The account letter says the currency: U dollars, E euros, G gold (troy ounces).
UNITS = {"U": "USD", "E": "EUR", "G": "OAU"}
ACCOUNT = re.compile(r"^[UEG]\d{4,12}$")
V2_FIELDS = ("PAYMENT_ID", "PAYEE_ACCOUNT", "PAYMENT_AMOUNT", "PAYMENT_UNITS", "PAYMENT_BATCH_NUM", "PAYER_ACCOUNT")


def _md5_upper(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest().upper()  # noqa: S324 (the gateway's scheme)


def v2_hash(form: Mapping[str, str], alternate_passphrase: str) -> str:
    parts = [form.get(name, "") for name in V2_FIELDS]
    return _md5_upper(":".join([*parts, _md5_upper(alternate_passphrase), form.get("TIMESTAMPGMT", "")]))


class PerfectMoneyGateway:
    code = "perfectmoney"
    name = "Perfect Money"
    credential_fields = (
        CredentialField("payee_account", "Payee account", secret=False, help_text="e.g. U1234567 (USD)."),
        CredentialField("payee_name", "Payee name", secret=False, required=False, help_text="Shown on the form."),
        CredentialField(
            "alternate_passphrase", "Alternate passphrase", help_text="Settings → Alternate passphrase: signs payments."
        ),
        CredentialField(
            "account_id",
            "Member ID (optional)",
            secret=False,
            required=False,
            help_text="With the passphrase below, lets the panel look a payment up when a notification is lost.",
        ),
        CredentialField("passphrase", "Account passphrase (optional)", required=False),
    )

    def _payee(self, credentials: Mapping[str, str]) -> str:
        payee = credentials.get("payee_account", "").strip().upper()
        if not ACCOUNT.match(payee) or not credentials.get("alternate_passphrase"):
            raise GatewayNotConfigured()
        if UNITS[payee[0]] != settings.PANEL_CURRENCY.upper():
            raise GatewayNotConfigured(
                f"Perfect Money account {payee} is in {UNITS[payee[0]]}, the panel in {settings.PANEL_CURRENCY}."
            )
        return payee

    def invoice_create(self, *, deposit, credentials: Mapping[str, str], urls: DepositUrls) -> Invoice:
        fields = {
            "PAYEE_ACCOUNT": self._payee(credentials),
            "PAYEE_NAME": credentials.get("payee_name") or settings.PANEL_NAME,
            "PAYMENT_ID": deposit.reference,
            "PAYMENT_AMOUNT": decimal_text(deposit.amount),
            "PAYMENT_UNITS": settings.PANEL_CURRENCY.upper(),
            "STATUS_URL": urls.notify,
            "PAYMENT_URL": urls.back,
            "PAYMENT_URL_METHOD": "GET",
            "NOPAYMENT_URL": urls.back,
            "NOPAYMENT_URL_METHOD": "GET",
            "SUGGESTED_MEMO": f"Deposit {deposit.pk}",
            "BAGGAGE_FIELDS": "",
        }
        return Invoice(redirect=Redirect(url=SCI_URL, method="POST", fields=fields))

    def notification_reference(self, *, notification: Notification) -> str | None:
        return notification.form.get("PAYMENT_ID") or None

    def notification_verify(self, *, notification: Notification, credentials, deposit) -> PaymentState:
        form = notification.form
        try:
            payee = self._payee(credentials)
        except GatewayNotConfigured:
            raise WebhookRejected("The payment method has no Perfect Money credentials.", http_status=503) from None
        missing = [name for name in (*V2_FIELDS, "TIMESTAMPGMT", "V2_HASH") if not form.get(name)]
        if missing:
            raise WebhookRejected(f"Missing fields: {', '.join(missing)}.", http_status=403)
        expected = v2_hash(form, credentials["alternate_passphrase"])
        if not hmac.compare_digest(form["V2_HASH"].upper(), expected):
            raise WebhookRejected("Bad V2_HASH.", http_status=403)
        if form["PAYEE_ACCOUNT"].upper() != payee:
            raise WebhookRejected(f"Paid to {form['PAYEE_ACCOUNT']}, not to our account {payee}.")
        if form["PAYMENT_UNITS"].upper() != settings.PANEL_CURRENCY.upper():
            raise WebhookRejected(f"Paid in {form['PAYMENT_UNITS']}, not {settings.PANEL_CURRENCY}.")
        if form["PAYMENT_ID"] != deposit.reference:
            raise WebhookRejected("The payment id does not match the deposit.")
        return self._state(amount_text=form["PAYMENT_AMOUNT"], batch=form["PAYMENT_BATCH_NUM"], deposit=deposit)

    def _state(self, *, amount_text: str, batch: str, deposit) -> PaymentState:
        try:
            paid = money_parse(amount_text)
        except ValueError:
            raise WebhookRejected(f"Unreadable amount {amount_text!r}.") from None
        return PaymentState(
            reference=deposit.reference,
            outcome="paid" if paid >= deposit.amount else "underpaid",
            gateway_status="paid",
            paid_amount=paid,
            gateway_reference=batch[:128],
        )

    def payment_check(self, *, deposit, credentials: Mapping[str, str]) -> PaymentState | None:
        if not credentials.get("account_id") or not credentials.get("passphrase"):
            return None
        payee = self._payee(credentials)
        start = deposit.created_at - timedelta(days=1)
        end = timezone.now() + timedelta(days=1)
        params = {
            "AccountID": credentials["account_id"],
            "PassPhrase": credentials["passphrase"],
            "startmonth": str(start.month),
            "startday": str(start.day),
            "startyear": str(start.year),
            "endmonth": str(end.month),
            "endday": str(end.day),
            "endyear": str(end.year),
            "paymentsreceived": "1",
            "payment_id": deposit.reference,
        }
        text = gateway_request("GET", HISTORY_URL, params=params).text.strip()
        if text.startswith("No Records Found"):
            return PaymentState(reference=deposit.reference, outcome="pending", gateway_status="not found")
        if text.startswith("Error"):
            raise GatewayRefused(detail=f"Perfect Money history: {text[:200]}")
        rows = list(csv.reader(io.StringIO(text)))
        if not rows or [cell.strip() for cell in rows[0][: len(HISTORY_HEADER)]] != HISTORY_HEADER:
            raise GatewayBadResponse(detail=f"Perfect Money history is not the documented CSV: {text[:200]!r}")
        for row in rows[1:]:
            if len(row) < len(HISTORY_HEADER):
                continue
            _time, _type, batch, currency, amount, _fee, _payer, payee_account, payment_id = row[:9]
            if payment_id.strip() == deposit.reference and payee_account.strip().upper() == payee:
                if currency.strip().upper() != settings.PANEL_CURRENCY.upper():
                    raise GatewayBadResponse(detail=f"payment {batch} is in {currency}")
                try:
                    return self._state(amount_text=amount, batch=batch.strip(), deposit=deposit)
                except WebhookRejected as error:
                    raise GatewayBadResponse(detail=error.message) from None
        return PaymentState(reference=deposit.reference, outcome="pending", gateway_status="not found")

    def credentials_test(self, *, credentials: Mapping[str, str]) -> str:
        payee = self._payee(credentials)
        if not credentials.get("account_id") or not credentials.get("passphrase"):
            return (
                f"The payee account {payee} is well formed. Perfect Money cannot check the alternate passphrase "
                "before a payment; add the member ID and passphrase to let the panel look payments up."
            )
        params = {"AccountID": credentials["account_id"], "PassPhrase": credentials["passphrase"]}
        text = gateway_request("GET", BALANCE_URL, params=params).text
        fields = dict(re.findall(r"<input name='([^']+)' type='hidden' value='([^']*)'>", text))
        if "ERROR" in fields:
            raise GatewayRefused(f"Perfect Money: {fields['ERROR']}")
        if payee not in fields:
            raise GatewayRefused(f"The account {payee} is not one of this member's accounts.")
        return f"Perfect Money accepted the member ID: {payee} holds {fields[payee]} {UNITS[payee[0]]}."
