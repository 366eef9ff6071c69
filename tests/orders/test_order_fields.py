"""The one declaration of the order fields: refusals carry the field and a code, numbers have bounds that fit."""

from decimal import Decimal

import pytest

from billing.errors import InsufficientFunds
from orders.models import Order
from orders.order_fields import BIGINT_MAX, FIELDS, INT_MAX, Code, FieldKind, OrderInvalid
from orders.order_types import ORDER_TYPES, SERVICE_FIELD_NAMES, order_fields_clean, order_type_for
from orders.services.ordering import order_create
from tests.orders.factories import ServiceFactory
from tests.panel.factories import UserFactory


def refusal(service_type: str, data: dict, *, low: int = 10, high: int = 1000, dialect: str = "standard"):
    with pytest.raises(OrderInvalid) as caught:
        order_fields_clean(service_type=service_type, data=data, low=low, high=high, dialect=dialect)
    return caught.value.field, caught.value.code, caught.value.message


@pytest.mark.parametrize(
    ("service_type", "data", "expected"),
    [
        ("Default", {"quantity": "100"}, ("link", Code.REQUIRED, "Incorrect request: link is required.")),
        ("Default", {"link": "x", "quantity": "5"}, ("quantity", Code.BELOW_MIN, "Quantity less than minimal 10")),
        ("Default", {"link": "x", "quantity": "5000"}, ("quantity", Code.ABOVE_MAX, "Quantity more than maximum 1000")),
        (
            "Default",
            {"link": "x", "quantity": "1e3"},
            ("quantity", Code.NOT_NUMBER, "quantity must be a whole number."),
        ),
        (
            "Default",
            {"link": "x", "quantity": "100", "runs": "1", "interval": "5"},
            ("runs", Code.BELOW_MIN, "runs must be between 2 and 1000."),
        ),
        (
            "Default",
            {"link": "x", "quantity": "100", "runs": "3"},
            ("interval", Code.REQUIRED, "Incorrect request: interval is required."),
        ),
        (
            "Custom Comments",
            {"link": "x", "comments": "a\nb"},
            ("comments", Code.BELOW_MIN, "Quantity less than minimal 10"),
        ),
        (
            "Subscriptions",
            {"username": "u", "min": "20", "max": "10", "delay": "0"},
            ("min", Code.MIN_ABOVE_MAX, "min must not be more than max."),
        ),
        (
            "Subscriptions",
            {"username": "u", "min": "20", "max": "100", "delay": "0", "posts": "999999999999"},
            ("posts", Code.ABOVE_MAX, "posts must be between 1 and 100000."),
        ),
        (
            "Subscriptions",
            {"username": "u", "min": "20", "max": "100", "delay": "20"},
            (
                "delay",
                Code.BAD_CHOICE,
                "delay must be one of 0, 5, 10, 15, 30, 60, 90, 120, 150, 180, 210, 240, "
                "270, 300, 360, 420, 480, 540, 600.",
            ),
        ),
        (
            "Poll",
            {"link": "x", "quantity": "100", "answer_number": "0"},
            ("answer_number", Code.BELOW_MIN, "answer_number must be between 1 and 1000."),
        ),
        (
            "Special (1DG)",
            {"link": "x", "quantity": "100"},
            ("list", Code.REQUIRED, "Incorrect request: list, suggest or search is required."),
        ),
        (
            "Special 1 (1DG)",
            {"link": "x", "quantity": "100", "suggest": "https://youtu.be/a\nnot a link"},
            ("suggest", Code.BAD_LINK, "suggest must list one video link per line."),
        ),
    ],
)
def test_each_refusal_names_its_field_and_code_with_the_protocols_words(service_type, data, expected):
    assert refusal(service_type, data) == expected


def test_a_choice_takes_the_values_of_the_services_own_dialect():
    data = {"username": "u", "min": "20", "max": "100", "delay": "120"}
    assert order_fields_clean(service_type="Subscriptions", data=data, low=10, high=1000).params["delay"] == 120
    assert refusal("Subscriptions", data, dialect="002") == (
        "delay",
        Code.BAD_CHOICE,
        "delay must be one of 0, 5, 10, 15, 30, 60, 90.",
    )


def test_seed_002s_subscriptions_take_no_posts():
    data = {"username": "u", "min": "20", "max": "100", "delay": "30", "posts": "5"}
    assert refusal("Subscriptions", data, dialect="002") == (
        "posts",
        Code.NOT_AVAILABLE,
        "posts is not available for this service.",
    )


def test_every_number_is_bounded_within_its_column():
    for spec in FIELDS.values():
        if spec.kind == FieldKind.NUMBER:
            assert 0 <= spec.low <= spec.high <= BIGINT_MAX, spec.name
    assert FIELDS["runs"].high <= INT_MAX and FIELDS["interval"].high <= INT_MAX
    assert FIELDS["link"].max_length == Order._meta.get_field("link").max_length


def test_every_type_takes_only_declared_fields_and_every_service_field_is_read_by_the_api():
    from panel.api import ORDER_FIELDS

    for kind in ORDER_TYPES.values():
        assert {use.name for use in kind.fields} <= set(FIELDS), kind.name
    assert set(ORDER_FIELDS) == set(SERVICE_FIELD_NAMES)
    assert order_type_for("special 1 (1dg)").name == "Special 1 (1DG)"
    assert order_type_for("an unknown type").name == "Default"


@pytest.mark.django_db
def test_a_huge_subscription_is_a_clear_refusal_not_a_server_error():
    user = UserFactory(balance="10")
    service = ServiceFactory(provider_service__type="Subscriptions", min=10, max=1000, rate=Decimal("1"))
    data = {"username": "someone", "min": "10", "max": "100", "delay": "0", "posts": "999999999999"}
    with pytest.raises(OrderInvalid, match="posts must be between 1 and 100000"):
        order_create(user=user, service_id=service.pk, data=data)
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_a_charge_no_balance_can_hold_is_not_enough_funds():
    user = UserFactory(balance="10")
    service = ServiceFactory(min=1, max=BIGINT_MAX, rate=Decimal("99999"))
    with pytest.raises(InsufficientFunds):
        order_create(user=user, service_id=service.pk, data={"link": "https://x.test/1", "quantity": str(10**17)})
    assert Order.objects.count() == 0
