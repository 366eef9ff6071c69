"""Every example answer of the five providers' API v2 pages, served as they document it.

The fixtures are copied byte for byte from the seed pages in /work/shared/seeds, typos included
(seed 002's services and seed 003's products are not valid JSON). Seeds 000, 001 and 004 show the
same standard examples; seed 001 and 004 add `cancel`.
"""

from decimal import Decimal
from pathlib import Path

import pytest
import responses
from responses import matchers

from providers.client import (
    AddResult,
    BalanceResult,
    CancelResult,
    OrderStatusResult,
    ProductOrderStatusResult,
    ProviderClient,
    RefillResult,
    RefillStatusResult,
    UpstreamProduct,
    UpstreamService,
)
from providers.statuses import OrderStatus, RefillStatus

URL = "https://provider.test/api/v2"
KEY = "seed-test-key-5f2b9c"
FIXTURES = Path(__file__).parent / "fixtures"
STANDARD_SEEDS = ["000", "001", "004"]
CANCEL_SEEDS = ["001", "004"]


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


@pytest.fixture
def upstream():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def client():
    return ProviderClient(url=URL, key=KEY, name="seed", retries=0, backoff=0)


def serve(upstream, name: str, action: str, **params: str) -> None:
    """Answer exactly this form (key, action, params) with the fixture `name`."""
    upstream.post(
        URL,
        body=fixture(name),
        content_type="application/json",
        match=[matchers.urlencoded_params_matcher({"key": KEY, "action": action, **params})],
    )


STANDARD_SERVICES = [
    UpstreamService(
        service_id="1",
        name="Followers",
        type="Default",
        category="First Category",
        rate=Decimal("0.90"),
        min=50,
        max=10000,
        refill=True,
        cancel=True,
        dripfeed=False,
        description="",
    ),
    UpstreamService(
        service_id="2",
        name="Comments",
        type="Custom Comments",
        category="Second Category",
        rate=Decimal("8"),
        min=10,
        max=1500,
        refill=False,
        cancel=True,
        dripfeed=False,
        description="",
    ),
]


@pytest.mark.parametrize("seed", STANDARD_SEEDS)
def test_it_reads_the_standard_services_list(upstream, client, seed):
    serve(upstream, f"seed{seed}_services.json", "services")

    services = client.services()

    assert services == STANDARD_SERVICES
    assert services[0].raw["rate"] == "0.90"


def test_it_reads_seed_003_services_that_have_no_cancel_flag(upstream, client):
    serve(upstream, "seed003_services.json", "services")

    assert client.services() == [
        UpstreamService("1", "Youtube views", "Default", "Youtube", Decimal("2.5"), 200, 10000, True, False, False, ""),
        UpstreamService(
            "2", "Facebook comments", "Custom Comments", "Facebook", Decimal("4"), 10, 1500, False, False, False, ""
        ),
    ]


def test_it_repairs_seed_002_services_with_missing_commas_and_bare_words(upstream, client, caplog):
    serve(upstream, "seed002_services.txt", "services")
    category = "Instagram - Followers [Guaranteed/Refill] - Less Drops \u2b50"

    services = client.services()

    assert services == [
        UpstreamService(
            "5",
            "Instagram Followers [15K]",
            "Default",
            category,
            Decimal("1.02"),
            500,
            10000,
            False,
            False,
            True,
            "usernames",
        ),
        UpstreamService(
            "9",
            "Instagram Followers - Max 300k - No refill - 30-40k/Day",
            "Default",
            category,
            Decimal("0.04"),
            500,
            300000,
            False,
            False,
            True,
            "usernames",
        ),
        UpstreamService(
            "10",
            "Instagram Followers ( 30 days auto refill ) ( Max 350K ) (Indian Majority )",
            "Default",
            category,
            Decimal("1.2"),
            100,
            350000,
            False,
            False,
            True,
            "usernames",
        ),
    ]
    assert "invalid JSON answer repaired" in caplog.text


@pytest.mark.parametrize("seed", STANDARD_SEEDS)
def test_it_sends_an_order_with_its_drip_feed_fields_and_reads_the_new_id(upstream, client, seed):
    serve(
        upstream,
        f"seed{seed}_add.json",
        "add",
        service="1",
        link="https://instagram.com/example",
        quantity="100",
        runs="5",
        interval="30",
    )

    result = client.add(service=1, link="https://instagram.com/example", quantity=100, runs=5, interval=30)

    assert result == AddResult(order_id="23501")


def test_it_unwraps_seed_002_success_wrapper_around_a_new_order(upstream, client):
    serve(upstream, "seed002_add.json", "add", service="5", link="https://instagram.com/example", quantity="500")

    assert client.add(service="5", link="https://instagram.com/example", quantity=500) == AddResult(order_id="32")


@pytest.mark.parametrize("seed", STANDARD_SEEDS)
def test_it_reads_one_order_status(upstream, client, seed):
    serve(upstream, f"seed{seed}_status.json", "status", orders="23501")

    result = client.statuses(["23501"])["23501"]

    assert result == OrderStatusResult(
        order_id="23501",
        status=OrderStatus.PARTIAL,
        raw_status="Partial",
        charge=Decimal("0.27819"),
        start_count=3572,
        remains=157,
        currency="USD",
        error=None,
    )
    assert type(result.start_count) is int
    assert type(result.remains) is int


@pytest.mark.parametrize("seed", STANDARD_SEEDS)
def test_it_reads_many_order_statuses_keeping_a_per_id_error_on_its_order(upstream, client, seed):
    serve(upstream, f"seed{seed}_status_multiple.json", "status", orders="1,10,100")

    assert client.statuses(["1", 10, "100"]) == {
        "1": OrderStatusResult("1", OrderStatus.PARTIAL, "Partial", Decimal("0.27819"), 3572, 157, "USD", None),
        "10": OrderStatusResult("10", None, "", None, None, None, None, "Incorrect order ID"),
        "100": OrderStatusResult(
            "100", OrderStatus.IN_PROGRESS, "In progress", Decimal("1.44219"), 234, 10, "USD", None
        ),
    }


def test_it_reads_seed_002_lowercase_status_with_string_ids(upstream, client):
    serve(upstream, "seed002_status.json", "status", orders="32")

    assert client.statuses([32])["32"] == OrderStatusResult(
        "32", OrderStatus.PENDING, "pending", Decimal("0.036"), 0, 0, None, None
    )


def test_it_reads_seed_002_statuses_where_a_per_id_error_is_a_plain_string(upstream, client):
    serve(upstream, "seed002_status_multiple.json", "status", orders="12,2,13")

    assert client.statuses(["12", "2", "13"]) == {
        "12": OrderStatusResult("12", OrderStatus.PROCESSING, "processing", Decimal("1.26"), 0, 0, None, None),
        "2": OrderStatusResult("2", None, "", None, None, None, None, "Incorrect order ID"),
        "13": OrderStatusResult("13", OrderStatus.PENDING, "pending", Decimal("0.63"), 0, 0, None, None),
    }


def test_it_reads_seed_003_negative_remains(upstream, client):
    serve(upstream, "seed003_status.json", "status", orders="7")

    assert client.statuses(["7"])["7"] == OrderStatusResult(
        "7", OrderStatus.COMPLETED, "Completed", Decimal("2.5"), 168, -2, None, None
    )


def test_it_reads_seed_003_statuses_without_currency(upstream, client):
    serve(upstream, "seed003_status_multiple.json", "status", orders="123,456,789")

    assert client.statuses(["123", "456", "789"]) == {
        "123": OrderStatusResult("123", OrderStatus.PARTIAL, "Partial", Decimal("0.27819"), 3572, 157, None, None),
        "456": OrderStatusResult("456", None, "", None, None, None, None, "Incorrect order ID"),
        "789": OrderStatusResult(
            "789", OrderStatus.IN_PROGRESS, "In progress", Decimal("1.44219"), 234, 10, None, None
        ),
    }


@pytest.mark.parametrize("seed", STANDARD_SEEDS)
def test_it_reads_the_refill_id_of_one_order(upstream, client, seed):
    serve(upstream, f"seed{seed}_refill.json", "refill", orders="23501")

    assert client.refills(["23501"])["23501"] == RefillResult(order_id="23501", refill_id="1", error=None)


@pytest.mark.parametrize("seed", STANDARD_SEEDS)
def test_it_reads_refills_of_many_orders_with_a_per_order_error(upstream, client, seed):
    serve(upstream, f"seed{seed}_refill_multiple.json", "refill", orders="1,2,3")

    assert client.refills([1, 2, 3]) == {
        "1": RefillResult("1", "1", None),
        "2": RefillResult("2", "2", None),
        "3": RefillResult("3", None, "Incorrect order ID"),
    }


@pytest.mark.parametrize("seed", [*STANDARD_SEEDS, "003"])
def test_it_reads_one_refill_status(upstream, client, seed):
    serve(upstream, f"seed{seed}_refill_status.json", "refill_status", refills="1")

    assert client.refill_statuses([1])["1"] == RefillStatusResult(
        refill_id="1", status=RefillStatus.COMPLETED, raw_status="Completed", error=None
    )


@pytest.mark.parametrize(
    ("seed", "missing_refill_error"),
    [
        ("000", "Refill not found"),
        ("001", "Refill not found"),
        ("004", "Refill not found"),
        ("003", "Incorrect refill ID"),
    ],
)
def test_it_reads_many_refill_statuses_with_an_error_nested_in_status(upstream, client, seed, missing_refill_error):
    serve(upstream, f"seed{seed}_refill_status_multiple.json", "refill_status", refills="1,2,3")

    assert client.refill_statuses(["1", "2", "3"]) == {
        "1": RefillStatusResult("1", RefillStatus.COMPLETED, "Completed", None),
        "2": RefillStatusResult("2", RefillStatus.REJECTED, "Rejected", None),
        "3": RefillStatusResult("3", None, "", missing_refill_error),
    }


@pytest.mark.parametrize("seed", CANCEL_SEEDS)
def test_it_reads_cancels_with_a_per_order_error(upstream, client, seed):
    serve(upstream, f"seed{seed}_cancel.json", "cancel", orders="9,2")

    assert client.cancel(["9", "2"]) == {
        "9": CancelResult(order_id="9", cancel_id=None, error="Incorrect order ID"),
        "2": CancelResult(order_id="2", cancel_id="1", error=None),
    }


@pytest.mark.parametrize(
    ("seed", "amount"),
    [("000", "100.84292"), ("001", "100.84292"), ("004", "100.84292"), ("002", "0.03"), ("003", "68.6868")],
)
def test_it_reads_the_balance_with_or_without_a_success_wrapper(upstream, client, seed, amount):
    serve(upstream, f"seed{seed}_balance.json", "balance")

    assert client.balance() == BalanceResult(balance=Decimal(amount), currency="USD")


def test_it_repairs_and_reads_seed_003_products(upstream, client):
    serve(upstream, "seed003_products.txt", "products")

    assert client.products() == [
        UpstreamProduct(
            product_id="1",
            name="Netflix premium 1 month",
            require="Input your account",
            rate=Decimal("2.5"),
            min=1,
            max=10,
            category="Netflix",
            status="In stock",
            in_stock=True,
            inventory=40,
            type="Auto",
        ),
        UpstreamProduct(
            product_id="2",
            name="Youtube premium 1 month",
            require="Input your account",
            rate=Decimal("5"),
            min=1,
            max=1,
            category="Youtube",
            status="Out of stock",
            in_stock=False,
            inventory=0,
            type="Auto",
        ),
        UpstreamProduct(
            product_id="3",
            name="Facebook account 5000 friends",
            require=None,
            rate=Decimal("0.5"),
            min=1,
            max=2,
            category="Facebook",
            status="In stock",
            in_stock=True,
            inventory=None,
            type="Service",
        ),
    ]


def test_it_orders_a_product_with_its_required_information(upstream, client):
    # Seed 003 shows no example answer for add_product_order; the page says it answers like add.
    serve(upstream, "seed000_add.json", "add_product_order", product="1", quantity="2", require="me@example.com")

    assert client.add_product_order(product=1, quantity=2, require="me@example.com") == AddResult("23501")


def test_it_reads_one_product_order_status_with_its_result(upstream, client):
    serve(upstream, "seed003_product_order_status.json", "product_order_status", orders="123")

    assert client.product_order_statuses(["123"])["123"] == ProductOrderStatusResult(
        order_id="123",
        status=OrderStatus.COMPLETED,
        raw_status="Completed",
        charge=Decimal("7.5"),
        result="c85c1d1a-9ef3-4d01-8c58-3dfaf3bbc78e",
        note=None,
        error=None,
    )


def test_it_reads_many_product_order_statuses_with_notes_and_errors(upstream, client):
    serve(upstream, "seed003_product_order_status_multiple.json", "product_order_status", orders="123,456,789")

    assert client.product_order_statuses(["123", "456", "789"]) == {
        "123": ProductOrderStatusResult(
            "123",
            OrderStatus.COMPLETED,
            "Completed",
            Decimal("7.5"),
            "c85c1d1a-9ef3-4d01-8c58-3dfaf3bbc78e",
            None,
            None,
        ),
        "456": ProductOrderStatusResult("456", None, "", None, None, None, "Incorrect order ID"),
        "789": ProductOrderStatusResult(
            "789", OrderStatus.CANCELED, "Canceled", Decimal("0"), None, "Out of stock", None
        ),
    }


def test_it_detects_seed_002_by_the_success_wrapper_on_balance(upstream, client):
    serve(upstream, "seed002_balance.json", "balance")

    assert client.detect_dialect() == "002"


def test_it_detects_seed_003_by_its_products_list(upstream, client):
    serve(upstream, "seed003_balance.json", "balance")
    serve(upstream, "seed003_products.txt", "products")

    assert client.detect_dialect() == "003"


@pytest.mark.parametrize("seed", STANDARD_SEEDS)
def test_it_detects_the_standard_dialect_when_products_is_refused(upstream, client, seed):
    serve(upstream, f"seed{seed}_balance.json", "balance")
    upstream.post(
        URL,
        json={"error": "Incorrect request"},
        match=[matchers.urlencoded_params_matcher({"key": KEY, "action": "products"})],
    )

    assert client.detect_dialect() == "standard"


# Shapes the same panels send beyond their documented examples.


def test_it_reads_flags_ids_and_counts_in_every_spelling_the_panels_use(upstream, client):
    upstream.post(
        URL,
        json=[
            {
                "service": 7,
                "name": "A",
                "rate": 2.5,
                "min": 10,
                "max": "100",
                "refill": 1,
                "cancel": "yes",
                "dripfeed": "1",
            },
            {
                "service": "8",
                "name": "B",
                "type": "custom comments",
                "rate": "0.004",
                "min": "1",
                "max": 5,
                "refill": "true",
                "cancel": "0",
                "dripfeed": False,
                "description": "One per line",
            },
        ],
    )

    assert client.services() == [
        UpstreamService("7", "A", "Default", "", Decimal("2.5"), 10, 100, True, True, True, ""),
        UpstreamService("8", "B", "Custom Comments", "", Decimal("0.004"), 1, 5, True, False, False, "One per line"),
    ]


def test_it_skips_a_service_it_cannot_price_and_keeps_the_others(upstream, client, caplog):
    upstream.post(
        URL,
        json=[
            {"service": 1, "name": "No rate", "rate": "", "min": 1, "max": 10},
            {"service": 2, "name": "Max below min", "rate": "1", "min": 100, "max": 10},
            {"service": 3, "name": "Fine", "rate": "1", "min": 1, "max": 10},
        ],
    )

    services = client.services()

    assert [service.service_id for service in services] == ["3"]
    assert "skipped service 1" in caplog.text
    assert "skipped service 2" in caplog.text


def test_it_unwraps_a_data_wrapper_around_a_list(upstream, client):
    upstream.post(URL, json={"status": "success", "data": [{"order": 1, "cancel": 1}]})

    assert client.cancel(["1"]) == {"1": CancelResult("1", "1", None)}


def test_it_reads_a_one_id_batch_answered_in_the_single_id_form(upstream, client):
    upstream.post(URL, json={"charge": "1.5", "status": "Completed", "start_count": 5, "remains": 0})

    assert client.statuses(["9"]) == {
        "9": OrderStatusResult("9", OrderStatus.COMPLETED, "Completed", Decimal("1.5"), 5, 0, None, None)
    }


def test_it_reads_a_one_id_refill_batch_answered_in_the_single_id_form(upstream, client):
    upstream.post(URL, json={"refill": "12"})

    assert client.refills(["9"]) == {"9": RefillResult("9", "12", None)}


def test_it_never_reads_a_bare_success_wrapper_as_a_completed_order(upstream, client):
    upstream.post(URL, json={"status": "success"})

    assert client.statuses(["9"]) == {
        "9": OrderStatusResult("9", None, "", None, None, None, None, "missing from the provider's answer")
    }


def test_it_leaves_an_unknown_status_unnormalised_and_warns(upstream, client, caplog):
    upstream.post(URL, json={"5": {"status": "Failed", "charge": "1"}})

    result = client.statuses(["5"])["5"]

    assert result == OrderStatusResult("5", None, "Failed", Decimal("1"), None, None, None, None)
    assert "unknown order status 'Failed' for 5" in caplog.text


def test_it_sends_list_fields_one_per_line_and_leaves_out_none(upstream, client):
    upstream.post(
        URL,
        json={"order": 77},
        match=[
            matchers.urlencoded_params_matcher(
                {
                    "key": KEY,
                    "action": "add",
                    "service": "2",
                    "link": "https://instagram.com/p/x",
                    "comments": "first\nsecond",
                }
            )
        ],
    )

    result = client.add(service=2, link="https://instagram.com/p/x", comments=["first", "second"], runs=None)

    assert result == AddResult("77")


def test_it_refuses_order_fields_that_would_override_the_key_or_action(client):
    with pytest.raises(TypeError, match="key"):
        client.add(service=1, link="x", quantity=10, key="other")


def test_it_keeps_a_product_result_line_by_line(upstream, client):
    upstream.post(URL, json={"charge": 2, "status": "Completed", "result": "user1:pass1\nuser2:pass2\u0000"})

    result = client.product_order_statuses(["70001"])["70001"]

    assert result == ProductOrderStatusResult(
        "70001", OrderStatus.COMPLETED, "Completed", Decimal("2"), "user1:pass1\nuser2:pass2", None, None
    )
