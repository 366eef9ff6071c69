"""A customer's money history: the Transactions page shows exactly their ledger, the Deposits page their deposits."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import FundsRequest, LedgerEntry, PaymentMethod
from billing.services import balance_credit, balance_debit, funds_request_approve, funds_request_create
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db
Kind = LedgerEntry.Kind


@pytest.fixture
def history(customer):
    """A deposit, a charge, a refund, and someone else's rows that must never show."""
    bank = PaymentMethod.objects.create(name="Bank", min_amount=Decimal("1"))
    deposit = funds_request_create(user_id=customer.pk, method_id=bank.pk, amount=Decimal("50"))
    funds_request_approve(funds_request_id=deposit.pk, staff_id=None)
    balance_debit(user_id=customer.pk, amount=Decimal("7.5"), reference="order:41", memo="Order 41")
    balance_credit(
        user_id=customer.pk, amount=Decimal("2.5"), kind=Kind.REFUND, reference="order:41", memo="=HYPERLINK()"
    )
    other = UserFactory(balance="999")
    balance_debit(user_id=other.pk, amount=Decimal("1"), reference="order:99", memo="secret order")
    return deposit


def test_the_page_lists_exactly_the_customers_ledger_with_links(customer_client, customer, history):
    page = customer_client.get("/transactions/").content.decode()
    ids = [e.pk for e in LedgerEntry.objects.filter(user=customer).order_by("-id")]
    assert [int(x) for x in _attr(page, 'data-entry-id="')] == ids
    assert "secret order" not in page and "999" not in page
    assert f'<a href="/funds/deposits/{history.pk}/">Deposit {history.pk}</a>' in page
    assert '<a href="/orders/?q=41">Order 41</a>' in page
    assert ">-7.50<" in page and ">45.00<" in page  # the money filter: exact, trailing zeros cut


def _attr(page: str, marker: str) -> list[str]:
    return [chunk.split('"', 1)[0] for chunk in page.split(marker)[1:]]


def test_filters_by_kind_and_date(customer_client, customer, history):
    refunds = customer_client.get("/transactions/?kind=refund").content.decode()
    assert len(_attr(refunds, 'data-entry-id="')) == 1 and "Refund" in refunds
    LedgerEntry.objects.filter(user=customer, kind=Kind.DEPOSIT).update(created_at=timezone.now() - timedelta(days=10))
    today = timezone.localdate().isoformat()
    recent = customer_client.get(f"/transactions/?date_from={today}&date_to={today}").content.decode()
    assert len(_attr(recent, 'data-entry-id="')) == 2
    bad = customer_client.get("/transactions/?date_from=2026-13-45&kind=nonsense&date_to=2026-02-30")
    assert bad.status_code == 200
    # A NUL byte is refused before any view runs (panel.middleware): the client's mistake, a 400.
    assert customer_client.get("/transactions/?date_to=%00").status_code == 400
    assert len(_attr(bad.content.decode(), 'data-entry-id="')) == 3


def test_the_csv_export_holds_every_filtered_row_and_defuses_formulas(customer_client, customer, history):
    response = customer_client.get("/transactions/?export=csv&kind=refund")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["id", "date", "kind", "amount", "balance_after", "currency", "reference", "memo"]
    assert [r[2:] for r in rows[1:]] == [["refund", "2.50000", "45.00000", "USD", "order:41", "'=HYPERLINK()"]]


def test_a_customer_never_sees_anothers_deposit(customer_client, history):
    other = UserFactory()
    theirs = FundsRequest.objects.create(user=other, method=history.method, amount=Decimal("5"))
    assert customer_client.get(f"/funds/deposits/{theirs.pk}/").status_code == 404
    assert customer_client.get(f"/funds/deposits/{theirs.pk}/status/").status_code == 404
    listing = customer_client.get("/funds/deposits/").content.decode()
    assert _attr(listing, 'data-deposit-id="') == [str(history.pk)]


def test_the_deposits_page_shows_method_amount_status_and_reference(customer_client, customer, cryptomus):
    FundsRequest.objects.create(
        user=customer,
        method=cryptomus,
        amount=Decimal("10"),
        reference="dep_1",
        gateway_reference="62f88b36-a9d5",
        status=FundsRequest.Status.APPROVED,
        credited_amount=Decimal("10"),
        bonus_amount=Decimal("0.5"),
    )
    page = customer_client.get("/funds/deposits/").content.decode()
    for text in ("Cryptomus", ">10.00<", "Credited", "62f88b36-a9d5", "0.50 bonus"):
        assert text in page


def test_the_status_endpoint_reports_the_deposit_for_the_page_to_poll(customer_client, customer, cryptomus):
    deposit = FundsRequest.objects.create(user=customer, method=cryptomus, amount=Decimal("10"), reference="dep_2")
    state = customer_client.get(f"/funds/deposits/{deposit.pk}/status/").json()
    assert state == {
        "id": deposit.pk,
        "status": "pending",
        "label": "Waiting for payment",
        "final": False,
        "message": "",
        "credited": None,
        "bonus": None,
        "balance": "0.00",
    }
    page = customer_client.get(f"/funds/deposits/{deposit.pk}/").content.decode()
    assert f'data-status-url="/funds/deposits/{deposit.pk}/status/"' in page
    assert "<script>" not in page and "billing/deposit.js" in page


def test_the_return_from_the_gateway_credits_nothing(customer_client, customer, cryptomus):
    deposit = FundsRequest.objects.create(user=customer, method=cryptomus, amount=Decimal("10"), reference="dep_3")
    customer_client.get(f"/funds/deposits/{deposit.pk}/?status=paid&order_id=dep_3&pay=1")
    customer_client.get(f"/funds/deposits/{deposit.pk}/status/")
    deposit.refresh_from_db()
    customer.refresh_from_db()
    assert (deposit.status, customer.balance) == (FundsRequest.Status.PENDING, Decimal("0"))


def test_a_page_of_transactions_costs_the_same_few_queries_with_many_rows(customer_client, customer):
    LedgerEntry.objects.bulk_create(
        LedgerEntry(user=customer, kind=Kind.ADJUSTMENT, amount=Decimal("1"), balance_after=Decimal(n), memo="bulk")
        for n in range(1, 3001)
    )
    with CaptureQueriesContext(connection) as queries:
        response = customer_client.get("/transactions/?page=7")
    assert response.status_code == 200
    assert len(_attr(response.content.decode(), 'data-entry-id="')) == 50
    # session, user, count, the page's rows.
    assert len(queries) <= 5
