"""The admin's big lists stay fast at a million rows: searches served by indexes, counts that stop early.

The figures are in BENCHMARKS.md (benchmarks/scale_pages.py); these tests pin the behaviour behind them: what each
search term matches, that every arm of a search has an index able to serve it, and how the lists count.
"""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import LedgerEntry
from core import admin as core_admin
from core.admin import EstimatedCountPaginator, search_condition
from orders.models import Order
from tests.orders.factories import OrderFactory
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def listed(client, url: str) -> set[int]:
    response = client.get(url)
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def test_an_order_search_matches_the_id_the_providers_id_the_customer_and_a_link_fragment(operator):
    alice = UserFactory(username="alice")
    by_id = OrderFactory(link="https://x.test/aaa")
    by_upstream = OrderFactory(upstream_order_id=str(by_id.pk), link="https://x.test/bbb")
    alices = OrderFactory(user=alice, link="https://x.test/ccc")
    by_link = OrderFactory(link="https://instagram.com/p/Needle-42")
    OrderFactory(link="https://x.test/other")
    url = reverse("admin:orders_order_changelist")
    assert listed(operator, f"{url}?q={by_id.pk}") == {by_id.pk, by_upstream.pk}
    assert listed(operator, f"{url}?q=alice") == {alices.pk}
    assert listed(operator, f"{url}?q=needle-4") == {by_link.pk}
    # Two characters cannot use a trigram index: they search ids and names only.
    assert listed(operator, f"{url}?q=ne") == set()


def test_a_customer_is_resolved_by_exact_username_before_a_prefix(operator):
    exact = OrderFactory(user=UserFactory(username="bob"))
    OrderFactory(user=UserFactory(username="bobby"))
    url = reverse("admin:orders_order_changelist")
    assert listed(operator, f"{url}?q=bob") == {exact.pk}
    assert len(listed(operator, f"{url}?q=bo")) == 2


def test_the_order_search_does_not_join_the_customers(operator):
    OrderFactory(user=UserFactory(username="carol"))
    with CaptureQueriesContext(connection) as queries:
        operator.get(reverse("admin:orders_order_changelist") + "?q=carol")
    searches = [q["sql"] for q in queries if 'FROM "orders_order"' in q["sql"] and "user_id" in q["sql"]]
    assert searches
    assert not any('"panel_user"' in sql.split("WHERE", 1)[1] for sql in searches)


def test_a_word_no_rule_applies_to_matches_nothing():
    assert search_condition([core_admin.Number("id")], "abc") is None


def test_the_ledger_search_finds_a_reference_exactly_and_a_customers_rows(operator):
    dave = UserFactory(username="dave", balance="5")
    UserFactory(username="erin", balance="7")
    url = reverse("admin:billing_ledgerentry_changelist")
    dave_rows = set(LedgerEntry.objects.filter(user=dave).values_list("pk", flat=True))
    assert listed(operator, f"{url}?q=dave") == dave_rows
    LedgerEntry.objects.create(user=dave, kind="adjustment", amount=Decimal("1"), balance_after=6, reference="order:77")
    assert listed(operator, f"{url}?q=order:77") == set(
        LedgerEntry.objects.filter(reference="order:77").values_list("pk", flat=True)
    )
    assert listed(operator, f"{url}?q=order:7") == set()


def test_the_customer_search_takes_the_start_of_a_username_or_an_exact_email(operator):
    frank = UserFactory(username="frank77", email="frank@example.org")
    UserFactory(username="grace")
    url = reverse("admin:panel_user_changelist")
    assert listed(operator, f"{url}?q=frank") == {frank.pk}
    assert listed(operator, f"{url}?q=frank@example.org") == {frank.pk}
    assert listed(operator, f"{url}?q=ank77") == set()


def test_a_list_counts_exactly_up_to_the_limit_then_takes_postgresqls_estimate(monkeypatch):
    OrderFactory.create_batch(6)
    monkeypatch.setattr(core_admin, "EXACT_COUNT_LIMIT", 5)
    small = EstimatedCountPaginator(Order.objects.filter(pk__lt=0).order_by("-pk"), 50)
    assert (small.count, small.estimated) == (0, False)
    monkeypatch.setattr(core_admin, "EXACT_COUNT_LIMIT", 10)
    exact = EstimatedCountPaginator(Order.objects.order_by("-pk"), 50)
    assert (exact.count, exact.estimated) == (6, False)
    monkeypatch.setattr(core_admin, "EXACT_COUNT_LIMIT", 3)
    estimated = EstimatedCountPaginator(Order.objects.order_by("-pk"), 50)
    assert estimated.count >= 4 and estimated.estimated


def test_the_big_lists_never_count_the_whole_table(operator):
    OrderFactory.create_batch(3)
    for name in ("orders_order", "billing_ledgerentry", "panel_user"):
        with CaptureQueriesContext(connection) as queries:
            assert operator.get(reverse(f"admin:{name}_changelist")).status_code == 200
        counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and f'FROM "{name}"' in q["sql"]]
        # Counts of the whole table stop at 10,001 rows; the others count one status through its index.
        assert counts and all("LIMIT 10001" in sql or "WHERE" in sql for sql in counts), counts


@pytest.mark.postgres
def test_link_fragments_and_provider_ids_are_served_by_indexes():
    OrderFactory.create_batch(3)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for condition, index in (
            ("UPPER(link::text) LIKE UPPER('%%needle%%')", "order_link_upper_trgm"),
            ("upstream_order_id = '77'", "order_upstream_id"),
        ):
            cursor.execute(f"EXPLAIN SELECT id FROM orders_order WHERE {condition}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert index in plan, plan
        cursor.execute(
            "EXPLAIN SELECT id FROM billing_ledgerentry WHERE kind IN ('deposit', 'charge', 'refund', 'adjustment') "
            "AND reference = 'order:1'"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "ledger_once_per_kind_and_reference" in plan, plan


def test_an_estimated_count_says_about(operator, monkeypatch):
    OrderFactory.create_batch(4)
    monkeypatch.setattr(core_admin, "EXACT_COUNT_LIMIT", 2)
    page = operator.get(reverse("admin:orders_order_changelist")).content.decode()
    assert re.search(r"about \d+\s+orders", page)
