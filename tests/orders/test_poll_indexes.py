"""The poll's queries are index scans, whatever the size of the orders and ledger tables (PostgreSQL plans)."""

from decimal import Decimal

import pytest
import responses
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import LedgerEntry
from billing.services import Credit, balance_credit_many
from orders.models import Order
from orders.selectors import providers_with_work
from orders.services.upstream import orders_poll
from tests.orders.factories import OrderFactory
from tests.panel.factories import UserFactory
from tests.providers.factories import ProviderFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
URL = "https://indexes.test/api/v2"


def _plans(queries: list[dict], table: str) -> list[str]:
    """The plans of the captured SELECTs that read `table`, with sequential scans priced out of the planner's
    choices, so that a plan with no index to use still shows as a sequential scan on a small test table."""
    plans = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for query in queries:
            sql = query["sql"]
            if sql.startswith("SELECT") and f'"{table}"' in sql and "FOR UPDATE" not in sql:
                cursor.execute(f"EXPLAIN {sql}")
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


def test_providers_with_work_probes_the_orders_by_index_not_by_a_scan():
    provider = ProviderFactory()
    OrderFactory(provider=provider, service__provider_service__provider=provider, status=Order.Status.PENDING)
    with CaptureQueriesContext(connection) as queries:
        assert providers_with_work() == [provider.pk]
    (plan,) = _plans(queries.captured_queries, "orders_order")
    assert "Seq Scan on orders_order" not in plan and "order_status_provider" in plan


def test_the_poll_reads_its_queue_from_the_poll_index():
    provider = ProviderFactory(api_url=URL)
    OrderFactory(
        provider=provider,
        service__provider_service__provider=provider,
        status=Order.Status.PENDING,
        upstream_order_id="1",
    )
    with CaptureQueriesContext(connection) as queries, responses.RequestsMock() as mock:
        mock.post(URL, json={"1": {"status": "In progress", "remains": "5"}})
        orders_poll(provider_id=provider.pk)
    plans = [plan for plan in _plans(queries.captured_queries, "orders_order") if "last_polled_at" in plan]
    assert len(plans) == 2
    assert all("order_poll_queue" in plan and "Seq Scan on orders_order" not in plan for plan in plans)


def test_a_refund_looks_up_earlier_refunds_through_the_unique_kind_and_reference_index():
    user = UserFactory(balance="1")
    credit = Credit(user_id=user.pk, amount=Decimal("1"), kind=LedgerEntry.Kind.REFUND, reference="order:1", memo="")
    with CaptureQueriesContext(connection) as queries:
        balance_credit_many(credits=[credit])
    (plan,) = _plans(queries.captured_queries, "billing_ledgerentry")
    # The kind leads the index: without it the lookup would walk the whole index (or the table).
    assert "ledger_once_per_kind_and_reference" in plan and "Index Cond: (((kind)::text = 'refund'" in plan
