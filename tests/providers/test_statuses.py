import pytest

from providers.statuses import (
    OrderStatus,
    RefillStatus,
    normalize_order_status,
    normalize_refill_status,
)

S = OrderStatus
R = RefillStatus


def test_the_protocol_values_are_exactly_the_documented_words():
    assert [status.value for status in OrderStatus] == [
        "Pending",
        "In progress",
        "Processing",
        "Completed",
        "Partial",
        "Canceled",
        "Refunded",
    ]
    assert [status.value for status in RefillStatus] == ["Pending", "In progress", "Completed", "Rejected", "Canceled"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Pending", S.PENDING),
        ("pending", S.PENDING),
        ("Awaiting", S.PENDING),
        ("Queued", S.PENDING),
        ("waiting", S.PENDING),
        ("In progress", S.IN_PROGRESS),
        ("IN_PROGRESS", S.IN_PROGRESS),
        ("inprogress", S.IN_PROGRESS),
        ("in-progress", S.IN_PROGRESS),
        ("  In   Progress  ", S.IN_PROGRESS),
        ("Active", S.IN_PROGRESS),
        ("Processing", S.PROCESSING),
        ("processing", S.PROCESSING),
        ("Completed", S.COMPLETED),
        ("Complete", S.COMPLETED),
        ("Success", S.COMPLETED),
        ("DONE", S.COMPLETED),
        ("Partial", S.PARTIAL),
        ("PARTIALLY COMPLETED", S.PARTIAL),
        ("partially_completed", S.PARTIAL),
        ("Partially-Completed", S.PARTIAL),
        ("Canceled", S.CANCELED),
        ("Cancelled", S.CANCELED),
        ("CANCELED", S.CANCELED),
        ("Rejected", S.CANCELED),
        ("Refunded", S.REFUNDED),
        ("refunded", S.REFUNDED),
    ],
)
def test_it_reads_every_known_spelling_of_an_order_status(raw, expected):
    assert normalize_order_status(raw) is expected


@pytest.mark.parametrize(
    "raw", ["Fail", "Failed", "Error", "Unknown", "Partially", "In", "", "   ", None, 3, {"error": "x"}, ["Completed"]]
)
def test_it_never_guesses_an_unknown_order_status(raw):
    assert normalize_order_status(raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Pending", R.PENDING),
        ("queued", R.PENDING),
        ("In progress", R.IN_PROGRESS),
        ("IN_PROGRESS", R.IN_PROGRESS),
        ("Processing", R.IN_PROGRESS),
        ("Active", R.IN_PROGRESS),
        ("Completed", R.COMPLETED),
        ("success", R.COMPLETED),
        ("Done", R.COMPLETED),
        ("Rejected", R.REJECTED),
        ("REJECTED", R.REJECTED),
        ("Canceled", R.CANCELED),
        ("Cancelled", R.CANCELED),
    ],
)
def test_it_reads_every_known_spelling_of_a_refill_status(raw, expected):
    assert normalize_refill_status(raw) is expected


@pytest.mark.parametrize("raw", ["Failed", "Error", "Partial", "Refunded", "", None])
def test_it_never_guesses_an_unknown_refill_status(raw):
    assert normalize_refill_status(raw) is None
