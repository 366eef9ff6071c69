"""`POST /api/v2` under thousands of malformed requests: always a JSON answer, never a stray cent.

Bodies come form-encoded (with repeated fields), multipart, as JSON (nested values, duplicated
keys, lone surrogates, huge numbers) or as raw bytes; most carry a real customer's key so that
every action's parsing is reached. Whatever comes in, the answer is HTTP 200 with a JSON object
or list, an error is `{"error": "..."}` and never our internal one, and money moves only with
an order: the customers' balances plus what their orders hold stay constant.
"""

import json
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.db.models import F, Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.selectors import ledger_mismatches
from orders.models import Order, Refill, Service
from orders.services.ordering import order_create
from panel.api import ACTIONS as API_ACTIONS
from panel.api import ORDER_FIELDS
from panel.services import api_key_rotate
from tests.orders.factories import OrderFactory, ServiceFactory
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db

ACTIONS = tuple(API_ACTIONS)
# Every parameter the endpoint reads: the order fields, and the ids and names of the other actions.
FIELDS = (*ORDER_FIELDS, "service", "product", "order", "orders", "refill", "refills", "require")
INTERNAL_ERROR = "Internal error"


@pytest.fixture
def api_world(settings):
    """Two customers with keys, a catalog of every kind of service, and orders in many statuses."""
    settings.API_THROTTLE_KEY_RATE = "1000000/min"
    settings.API_THROTTLE_IP_RATE = "1000000/min"
    customer = UserFactory(balance="500")
    other = UserFactory(balance="20")
    services = [
        ServiceFactory(rate=Decimal("1.20"), min=10, max=100_000, refill=True, cancel=True, dripfeed=True),
        ServiceFactory(rate=Decimal("0.07"), min=100, max=5000, refill=False, cancel=False),
        ServiceFactory(provider_service__type="Custom Comments", rate=Decimal("3"), min=1, max=100),
        ServiceFactory(provider_service__type="Package", rate=Decimal("2.5"), min=1, max=1),
        ServiceFactory(provider_service__type="Subscriptions", rate=Decimal("0.5"), min=10, max=1000),
        ServiceFactory(provider_service__type="Mentions with Hashtags", rate=Decimal("4"), min=10, max=1000),
        ServiceFactory(kind=Service.Kind.PRODUCT, rate=Decimal("1.5"), min=1, max=5, require="Input your email"),
        ServiceFactory(is_enabled=False),
    ]
    orders = [order_create(user=customer, service_id=services[0].pk, data={"link": "https://x.test/a", "quantity": 50})]
    orders += [
        OrderFactory(user=customer, service=services[0], status=status, upstream_order_id=str(n))
        for n, status in enumerate(
            [Order.Status.PENDING, Order.Status.IN_PROGRESS, Order.Status.COMPLETED, Order.Status.PARTIAL], start=1
        )
    ]
    orders.append(OrderFactory(user=other, service=services[0], status=Order.Status.COMPLETED))
    orders.append(OrderFactory(user=customer, service=services[6], status=Order.Status.COMPLETED))
    refills = [Refill.objects.create(order=orders[3], user=customer, status=Refill.Status.COMPLETED)]
    world = {
        "key": api_key_rotate(user=customer),
        "other_key": api_key_rotate(user=other),
        "service_ids": [str(service.pk) for service in services],
        "order_ids": [str(order.pk) for order in orders],
        "refill_ids": [str(refill.pk) for refill in refills],
    }
    world["ids"] = world["service_ids"] + world["order_ids"] + world["refill_ids"]
    return world


# Values, as text for form bodies and as any JSON value for JSON bodies.

NASTY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "1\x00",
        "0",
        "-1",
        "-100",
        "+5",
        "1.5",
        "1e3",
        "0x10",
        "1_000",
        "١٢٣",  # Arabic-Indic digits: \d and int() accept them
        "²",
        "９９",  # full-width digits
        "NaN",
        "Infinity",
        "null",
        "true",
        "[]",
        "{}",
        "error",
        "9" * 19,
        "9" * 40,
        "-" + "9" * 40,
        "https://x.test/ok",
        "https://x.test/a b",
        "line1\nline2\r\nline3",
        "31/12/2030",
        "30/02/2030",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "%00",
        "\u202e\ufeff\u200b",
        "🙂" * 50,
    ]
)


# Long values, built when drawn: a strategy's repr stays short.
LONG_TEXT = st.sampled_from([("x", 100_001), ("9", 5000), ("https://x.test/" + "a", 3000), ("1,", 60_000)]).map(
    lambda spec: spec[0] * spec[1]
)


def _id_text(ids: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(ids),
        st.integers(-(10**20), 10**20).map(str),
        st.sampled_from(ids).map(lambda i: f" {i} "),
        NASTY_TEXT,
    )


def _text_value(ids: list[str]) -> st.SearchStrategy[str]:
    id_text = _id_text(ids)
    return st.one_of(
        id_text,
        st.lists(id_text, max_size=8).map(",".join),
        # Around the protocol's limit of 100 ids, drawn at once: a list of 100 draws is slow to generate.
        st.tuples(st.integers(95, 105), st.sampled_from(ids)).map(
            lambda spec: ",".join(str(int(spec[1]) + n) for n in range(spec[0]))
        ),
        st.text(max_size=40),
        LONG_TEXT,
        st.integers(0, 300).map(lambda n: "," * n),
    )


def _json_value(ids: list[str]) -> st.SearchStrategy[object]:
    scalar = st.one_of(
        _text_value(ids),
        st.integers(-(2**70), 2**70),
        st.sampled_from(ids).map(int),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.none(),
        st.sampled_from(["\ud800", "1\udfff", "https://x.test/\udc00"]),  # lone surrogates, valid JSON escapes
    )
    return st.recursive(
        scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner), max_leaves=5
    )


# Whole requests: (content type, body) or ("multipart", dict).


def _weighted(*choices: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """One of the strategies, drawn in proportion to its weight (one_of favours none in particular)."""
    table = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(table) - 1).flatmap(lambda index: table[index])


MISSING = st.just(None)


def _good_values(world: dict) -> dict[str, st.SearchStrategy]:
    """Plausible values, so that most requests get past the first check and into an action's own."""
    small = st.integers(0, 2000).map(str)
    lines = st.lists(st.sampled_from(["nice", "great post", "@user", "#tag"]), min_size=1, max_size=4).map("\n".join)
    services, orders, refills = (st.sampled_from(world[name]) for name in ("service_ids", "order_ids", "refill_ids"))
    return {
        "service": services,
        "product": services,
        "link": st.sampled_from(["https://x.test/ok", "https://x.test/a", "@someone"]),
        "quantity": small,
        "runs": st.integers(0, 1001).map(str),
        "interval": st.integers(0, 100).map(str),
        "order": orders,
        "orders": st.lists(orders, min_size=1, max_size=5).map(",".join),
        "refill": refills,
        "refills": st.lists(refills, min_size=1, max_size=3).map(",".join),
        "comments": lines,
        "usernames": lines,
        "hashtags": lines,
        "min": small,
        "max": small,
        "posts": small,
        "delay": st.sampled_from(["0", "5", "7", "600"]),
        "expiry": st.sampled_from(["31/12/2030", "2030-12-31"]),
        "require": st.sampled_from(["me@example.com", ""]),
    }


# The fields each action reads; a request carries most of its action's fields and a few others.
ACTION_FIELDS = {
    "add": ("service", "link", "quantity", "runs", "interval", "comments", "usernames", "hashtags", "min", "max"),
    "add_product_order": ("product", "quantity", "require"),
    "status": ("order", "orders"),
    "product_order_status": ("order", "orders"),
    "refill": ("order", "orders"),
    "cancel": ("order", "orders"),
    "refill_status": ("refill", "refills"),
}
CORE_FIELDS = {"add": 3, "add_product_order": 2}  # how many of the first fields to send almost always


def _fields(action: object, good: dict, value: st.SearchStrategy) -> st.SearchStrategy[list[tuple[str, object]]]:
    def field(name: str, missing: int) -> st.SearchStrategy:
        return st.tuples(st.just(name), _weighted((missing, MISSING), (6, good.get(name, value)), (2, value)))

    name = action.strip().lower() if isinstance(action, str) else ""
    own = ACTION_FIELDS.get(name, ())
    core = CORE_FIELDS.get(name, 0)
    odd = st.tuples(_weighted((4, st.sampled_from(FIELDS)), (1, st.text(max_size=8))), value)
    return st.tuples(
        st.tuples(*(field(n, 1 if i < core else 30) for i, n in enumerate(own))),
        st.lists(odd, max_size=3),
    ).map(lambda parts: [(n, v) for n, v in parts[0] if v is not None] + parts[1])


def _pairs(world: dict, value: st.SearchStrategy) -> st.SearchStrategy[list[tuple[str, object]]]:
    key = _weighted(
        (20, st.just(world["key"])),
        (1, st.just(f" {world['key']}\n")),
        (1, st.just(world["other_key"])),
        (1, MISSING),
        (2, value),
    )
    action = _weighted(
        (12, st.sampled_from(ACTIONS)),
        (6, st.just("add")),  # the one action that moves money
        (1, st.sampled_from(ACTIONS).map(str.upper)),
        (1, st.sampled_from(ACTIONS).map(lambda a: f"  {a}\t")),
        (1, MISSING),
        (2, value),
    )
    good = _good_values(world)
    # A repeated key or action comes after the first: the last one counts, as in PHP.
    repeat = st.tuples(st.sampled_from(["key", "action"]), key | action)
    return st.tuples(key, action).flatmap(
        lambda head: st.tuples(
            st.just(head),
            _fields(head[1], good, value),
            _weighted((9, st.just([])), (1, st.lists(repeat, min_size=1, max_size=2))),
        ).map(
            lambda parts: (
                [(name, v) for name, v in zip(("key", "action"), parts[0], strict=True) if v is not None]
                + parts[1]
                + [(name, v) for name, v in parts[2] if v is not None]
            )
        )
    )


def _requests(world: dict) -> st.SearchStrategy[tuple[str, object]]:
    text = _text_value(world["ids"])
    form = _pairs(world, text).map(
        lambda pairs: ("application/x-www-form-urlencoded", urlencode([(k, str(v)) for k, v in pairs]))
    )
    multipart = _pairs(world, text).map(lambda pairs: ("multipart", {k: str(v) for k, v in pairs}))
    json_body = _pairs(world, _json_value(world["ids"])).map(
        # Written by hand so that a repeated name stays repeated in the text.
        lambda pairs: ("application/json", "{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in pairs) + "}")
    )
    other_json = _json_value(world["ids"]).map(lambda value: ("application/json", json.dumps(value)))
    raw = st.tuples(
        st.sampled_from(
            ["application/json", "application/x-www-form-urlencoded", "multipart/form-data", "text/plain", "text/html"]
        ),
        st.binary(max_size=200) | st.text(max_size=200),
    )
    return _weighted((4, form), (2, multipart), (4, json_body), (1, other_json), (1, raw))


def _post(client, request: tuple[str, object]):
    content_type, body = request
    if content_type == "multipart":
        return client.post("/api/v2", body)
    return client.generic("POST", "/api/v2", body, content_type=content_type)


def _money_held() -> Decimal:
    """The customers' balances plus what their orders still hold: only an order moves money between them."""
    balances = get_user_model().objects.aggregate(total=Sum("balance"))["total"] or Decimal("0")
    held = Order.objects.aggregate(total=Sum(F("charge") - F("refunded")))["total"] or Decimal("0")
    return balances + held


def _check_answer(response) -> object:
    """HTTP 200 (429 only when throttled) with a JSON object or list; errors are sentences, never our own failure."""
    assert response.status_code in (200, 429), response.content[:300]
    assert response["Content-Type"] == "application/json", response.content[:300]
    answer = json.loads(response.content)
    assert isinstance(answer, dict | list), answer
    if response.status_code == 429:
        assert answer["error"].startswith("Too many requests")
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        # A status of many orders answers each id under its own spelling: the id "error" included.
        assert answer["error"] == {"error": "Incorrect order ID"}, answer
    elif isinstance(answer, dict) and "error" in answer:
        assert list(answer) == ["error"] and isinstance(answer["error"], str), answer
    for message in _error_messages(answer):
        assert not message.startswith(INTERNAL_ERROR), answer
    return answer


def _error_messages(answer: object) -> list[str]:
    """Every "error" sentence in an answer, at the top or for one of many ids."""
    if isinstance(answer, list):
        return [message for item in answer for message in _error_messages(item)]
    if not isinstance(answer, dict):
        return []
    own = [answer["error"]] if isinstance(answer.get("error"), str) else []
    return own + [message for value in answer.values() for message in _error_messages(value)]


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_malformed_requests_get_json_answers_and_move_no_money(client, api_world, data):
    requests = data.draw(st.lists(_requests(api_world), min_size=1, max_size=10), label="requests")
    # Customer orders only: a drip-feed the panel runs places its runs as child orders of its own.
    customer_orders = Order.objects.filter(parent__isnull=True)
    held, orders = _money_held(), customer_orders.count()
    taken = 0
    for request in requests:
        answer = _check_answer(_post(client, request))
        taken += isinstance(answer, dict) and list(answer) == ["order"]
    assert _money_held() == held
    assert ledger_mismatches() == []
    assert not get_user_model().objects.filter(balance__lt=0).exists()
    assert customer_orders.count() == orders + taken


# What the fuzzing found, pinned as plain examples.


@pytest.mark.parametrize(
    "fields",
    [
        {"action": "status", "orders": "\ud800"},
        {"action": "refill", "orders": "\ud800"},
        {"action": "cancel", "orders": "\ud800"},
        {"action": "refill_status", "refills": "\ud800"},
        {"action": "product_order_status", "orders": "\ud800"},
        {"action": "add", "service": "{default}", "link": "https://x.test/\udc00", "quantity": "100"},
        {"action": "add", "service": "{comments}", "link": "https://x.test/a", "comments": "nice\n\udc00"},
    ],
    ids=["status", "refill", "cancel", "refill_status", "product_order_status", "add link", "add comments"],
)
def test_an_unpaired_surrogate_in_a_json_body_gets_a_json_refusal(client, api_world, fields):
    # "\ud800" is a valid JSON escape that decodes to a str no UTF-8 encoder (renderer, psycopg) accepts.
    default, comments = api_world["service_ids"][0], api_world["service_ids"][2]
    fields = {name: value.format(default=default, comments=comments) for name, value in fields.items()}
    client.raise_request_exception = False
    held = _money_held()
    response = client.post("/api/v2", {"key": api_world["key"], **fields}, content_type="application/json")
    answer = _check_answer(response)
    assert isinstance(answer, dict | list)
    assert _money_held() == held


@pytest.mark.parametrize(
    "body",
    [
        "key={key}&action=balance&pad=" + "x" * 3_000_000,  # past DATA_UPLOAD_MAX_MEMORY_SIZE
        "key={key}&action=balance&" + "&".join(f"f{n}=1" for n in range(1200)),  # past DATA_UPLOAD_MAX_NUMBER_FIELDS
    ],
    ids=["too large", "too many fields"],
)
def test_a_body_past_the_upload_limits_is_the_clients_mistake_not_ours(client, api_world, body):
    response = client.generic(
        "POST", "/api/v2", body.format(key=api_world["key"]), content_type="application/x-www-form-urlencoded"
    )
    assert _check_answer(response) == {"error": "Incorrect request"}


def test_json_nested_too_deep_is_the_clients_mistake_not_ours(client, api_world):
    response = client.generic("POST", "/api/v2", "[" * 100_000 + "]" * 100_000, content_type="application/json")
    assert _check_answer(response) == {"error": "Incorrect request"}
