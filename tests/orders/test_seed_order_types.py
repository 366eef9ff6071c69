"""Each order type of each seed (000-004), through /api/v2 and the website, against the simulator in the seed's dialect.

For every type a seed documents: accepted with the seed's parameters, refused in the protocol's
words when a required one is missing or out of bounds, charged by the documented rule
(`orders.pricing.order_price`), placed upstream with exactly the seed's fields, and settled
(completed, partial, cancelled) with exact refunds.
"""

from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from billing.selectors import ledger_mismatches
from core.money import money_round, partial_refund
from orders.models import Order, Service
from orders.order_types import SUBSCRIPTION_HOLD_POSTS
from orders.services.cycle import orders_cycle
from panel.services import api_key_rotate
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db
S = Order.Status
LINK = "https://instagram.com/p/seed"

# (seed, dialect, the add types its documentation shows)
SEEDS = {
    "000": ("standard", ("Default", "Package", "Custom Comments", "Subscriptions", "Custom Comments Package")),
    "001": ("standard", ("Default", "Subscriptions")),
    "002": (
        "002",
        (
            "Default",
            "Package",
            "Custom Comments",
            "Mentions with Hashtags",
            "Mentions Custom List",
            "Mentions Hashtag",
            "Mentions User Followers",
            "Custom Comments Package",
            "Comment Likes",
            "Subscriptions",
        ),
    ),
    "003": ("003", ("Default", "Package", "Custom Comments", "Special (1DG)", "Special 1 (1DG)")),
    "004": (
        "standard",
        (
            "Default",
            "Package",
            "Custom Comments",
            "Subscriptions",
            "Comment Likes",
            "Comment Replies",
            "Invites from Groups",
        ),
    ),
}
CASES = [(seed, dialect, kind) for seed, (dialect, kinds) in SEEDS.items() for kind in kinds]


def _lines(count: int, word: str = "nice") -> str:
    return "\n".join(f"{word} {n}" for n in range(count))


def seed_params(kind: str, service: Service, dialect: str) -> tuple[dict, int]:
    """The parameters the seed documents for this type (besides key, action, service), and the units they buy."""
    low = service.min
    if kind == "Default":
        return {"link": LINK, "quantity": str(low)}, low
    if kind in ("Package", "Custom Comments Package"):
        params = {"link": LINK} | ({"comments": "great\nnice"} if kind == "Custom Comments Package" else {})
        return params, service.min
    if kind == "Custom Comments":
        return {"link": LINK, "comments": _lines(low)}, low
    if kind == "Comment Replies":
        return {"link": LINK, "username": "owner", "comments": _lines(low)}, low
    if kind == "Mentions Custom List":
        return {"link": LINK, "usernames": _lines(low, "@user")}, low
    if kind == "Mentions with Hashtags":
        return {"link": LINK, "quantity": str(low), "usernames": "@a\n@b", "hashtags": "#x\n#y"}, low
    if kind == "Mentions Hashtag":
        return {"link": LINK, "quantity": str(low), "hashtag": "#travel"}, low
    if kind in ("Mentions User Followers", "Comment Likes"):
        return {"link": LINK, "quantity": str(low), "username": "someone"}, low
    if kind == "Invites from Groups":
        return {"link": LINK, "quantity": str(low), "groups": "group one\ngroup two"}, low
    if kind == "Special (1DG)":
        return {"link": LINK, "quantity": str(low), "list": "https://youtu.be/a\nhttps://youtu.be/b"}, low
    if kind == "Special 1 (1DG)":
        return {"link": LINK, "quantity": str(low), "suggest": "https://youtu.be/a", "search": "cats\ndogs"}, low
    if kind == "Subscriptions":
        params = {"username": "someone", "min": str(low), "max": str(low), "delay": "30", "expiry": "31/12/2030"}
        if dialect == "002":  # seed 002's subscriptions take no posts: unlimited, charged as the hold
            return params, low * SUBSCRIPTION_HOLD_POSTS
        return params | {"posts": "2"}, low * 2
    raise AssertionError(kind)


def refusals(kind: str, service: Service, params: dict) -> list[tuple[dict, str]]:
    """A required parameter missing, and one out of the service's bounds, with the protocol's words."""
    first_required = next(name for name in params if name not in ("expiry", "list", "suggest", "search"))
    missing = {k: v for k, v in params.items() if k != first_required}
    cases = [(missing, f"Incorrect request: {first_required} is required.")]
    over = f"Quantity more than maximum {service.max}"
    if "quantity" in params:
        cases.append((params | {"quantity": str(service.max + 1)}, over))
    elif kind == "Subscriptions":
        cases.append((params | {"max": str(service.max + 1)}, over))
    elif kind in ("Custom Comments", "Comment Replies"):
        cases.append((params | {"comments": _lines(service.max + 1)}, over))
    elif kind == "Mentions Custom List":
        cases.append((params | {"usernames": _lines(service.max + 1)}, over))
    return cases


def api(client, key: str, **fields) -> object:
    response = client.post(
        "/api/v2", urlencode({"key": key, **fields}), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize(("seed", "dialect", "kind"), CASES, ids=[f"{s}-{k}" for s, _, k in CASES])
def test_each_seed_type_is_ordered_charged_placed_and_settled_through_the_api_and_the_website(
    client, upstream_factory, seed, dialect, kind
):
    upstream = upstream_factory(dialect, services=20)
    upstream.connect()
    service = Service.objects.filter(provider=upstream.provider, kind="service", type=kind).order_by("pk").first()
    upstream_id = int(service.provider_service.service_id)
    params, units = seed_params(kind, service, dialect)
    user = UserFactory(balance="100000")
    key = api_key_rotate(user=user)

    for bad, error in refusals(kind, service, params):
        assert api(client, key, action="add", service=service.pk, **bad) == {"error": error}
    assert Order.objects.count() == 0

    upstream.sim.force_next_fate("completed")
    upstream.sim.force_next_fate("partial", remains=1)
    upstream.sim.force_next_fate("canceled")
    completed = api(client, key, action="add", service=service.pk, **params)["order"]
    client.force_login(user)
    response = client.post(reverse("new_order"), {"service": service.pk, **params})
    assert response.status_code == 302, response.content.decode()[:3000]
    partial = Order.objects.exclude(pk=completed).get().pk
    canceled = api(client, key, action="add", service=service.pk, **params)["order"]

    charge = money_round(service.rate * units / 1000)
    orders = {pk: Order.objects.get(pk=pk) for pk in (completed, partial, canceled)}
    for order in orders.values():
        assert (order.quantity, order.charge) == (units, charge), kind

    orders_cycle(concurrency=1)
    sent = [form for action, form in upstream.sim.requests if action == "add"]
    expected = {"action": "add", "service": str(upstream_id), **params}
    if "quantity" in expected:
        expected["quantity"] = str(units)
    assert sent == [expected] * 3

    upstream.finish_everything()
    orders_cycle(concurrency=1)
    for order in orders.values():
        order.refresh_from_db()
    assert [orders[pk].status for pk in (completed, partial, canceled)] == [S.COMPLETED, S.PARTIAL, S.CANCELED]
    assert orders[completed].refunded == 0
    assert orders[partial].refunded == partial_refund(charge=charge, remains=1, quantity=units)
    assert orders[canceled].refunded == charge
    user.refresh_from_db()
    assert user.balance == Decimal("100000") - sum(order.net_charge for order in orders.values())
    status = api(client, key, action="status", order=canceled)
    assert status["charge"] == "0.00" and status["status"] == "Canceled"
    assert ledger_mismatches() == []
