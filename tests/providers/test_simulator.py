"""The provider simulator: the seeds' answer shapes per dialect, order life over time, validation, faults."""

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.management import CommandError, call_command

from providers.simulator import (
    FAULTS,
    SERVICE_TYPES,
    ManualClock,
    Service,
    SimulatedProvider,
    SimulatorServer,
)

KEY = "sim-key"
PROJECT_ROOT = Path(__file__).resolve().parents[2]

# The seeds' own examples (002's services example is not valid JSON as published: its commas and
# quotes are restored here, keeping its types: string id and numbers, "default", an integer dripfeed).
SEED_SERVICE = {
    "service": 1,
    "name": "Followers",
    "type": "Default",
    "category": "First Category",
    "rate": "0.90",
    "min": "50",
    "max": "10000",
    "refill": True,
    "cancel": True,
}
SEED_002_SERVICE = {
    "service": "5",
    "name": "Instagram Followers [15K] ",
    "category": "Instagram - Followers [Guaranteed/Refill] - Less Drops \u2b50",
    "rate": "1.02",
    "min": "500",
    "max": "10000",
    "type": "default",
    "desc": "usernames",
    "dripfeed": 1,
}
SEED_003_SERVICE = {
    "service": 1,
    "name": "Youtube views",
    "type": "Default",
    "category": "Youtube",
    "rate": "2.5",
    "min": "200",
    "max": "10000",
    "refill": True,
}
SEED_ADD = {"standard": {"order": 23501}, "002": {"status": "success", "order": 32}, "003": {"order": 23501}}
SEED_STATUS = {
    "standard": {"charge": "0.27819", "start_count": "3572", "status": "Partial", "remains": "157", "currency": "USD"},
    "002": {"order": "32", "status": "pending", "charge": "0.0360", "start_count": "0", "remains": "0"},
    "003": {"charge": "2.5", "start_count": "168", "status": "Completed", "remains": "-2"},
}
SEED_STATUS_ERROR = {
    "standard": {"error": "Incorrect order ID"},
    "002": "Incorrect order ID",
    "003": {"error": "Incorrect order ID"},
}
SEED_BALANCE = {
    "standard": {"balance": "100.84292", "currency": "USD"},
    "002": {"status": "success", "balance": "0.03", "currency": "USD"},
    "003": {"balance": "68.6868", "currency": "USD"},
}
SEED_MULTI_REFILL = [
    {"order": 1, "refill": 1},
    {"order": 2, "refill": 2},
    {"order": 3, "refill": {"error": "Incorrect order ID"}},
]
SEED_MULTI_REFILL_STATUS = [
    {"refill": 1, "status": "Completed"},
    {"refill": 2, "status": "Rejected"},
    {"refill": 3, "status": {"error": "Refill not found"}},
]
SEED_CANCEL = [{"order": 9, "cancel": {"error": "Incorrect order ID"}}, {"order": 2, "cancel": 1}]
SEED_PRODUCTS = [
    {
        "product": 1,
        "name": "Netflix premium 1 month",
        "require": "Input your account",
        "rate": 2.5,
        "min": 1,
        "max": 10,
        "category": "Netflix",
        "status": "In stock",
        "inventory": 40,
        "type": "Auto",
    },
    {
        "product": 3,
        "name": "Facebook account 5000 friends",
        "rate": 0.5,
        "min": 1,
        "max": 2,
        "category": "Facebook",
        "status": "In stock",
        "type": "Service",
    },
]
SEED_PRODUCT_ORDER_STATUS = {
    "123": {"charge": 7.5, "status": "Completed", "result": "c85c1d1a-9ef3-4d01-8c58-3dfaf3bbc78e"},
    "456": {"error": "Incorrect order ID"},
    "789": {"charge": 0, "status": "Canceled", "note": "Out of stock"},
}


def shape(value: Any) -> Any:
    """Keys (in order) and JSON types, without the values: what a client's parser depends on."""
    if isinstance(value, dict):
        return [(key, shape(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [shape(item) for item in value]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def make(dialect: str = "standard", **options: Any) -> SimulatedProvider:
    """A simulator on a manual clock where every order completes unless a test says otherwise."""
    options = {"partial_rate": 0, "cancel_rate": 0, "refill_reject_rate": 0, "clock": ManualClock()} | options
    return SimulatedProvider(dialect=dialect, **options)


def call(sim: SimulatedProvider, action: str, **params: Any) -> Any:
    reply = sim.handle({"key": KEY, "action": action, **{name: str(value) for name, value in params.items()}})
    assert (reply.status, reply.content_type, reply.fault) == (200, "application/json", None)
    return reply.json()


def add_followers(sim: SimulatedProvider, quantity: int = 1000, **params: Any) -> int:
    """Service 1: a Default with refill, cancel and drip-feed (at 15.2013 per 1,000 with seed 0)."""
    answer = call(sim, "add", service=1, link="https://instagram.com/someone", quantity=quantity, **params)
    return answer["order"]


def advance(sim: SimulatedProvider, stages: float) -> None:
    sim.clock.advance(stages * sim.stage_seconds)  # type: ignore[attr-defined]


def form_for(service: Service) -> dict[str, str]:
    """The smallest valid `add` form for any service type."""
    kind = service.kind
    form = {"service": str(service.id)}
    if kind.needs_link:
        form["link"] = "https://example.com/post/1"
    if kind.quantity == "param":
        form["quantity"] = str(service.min)
    elif kind.quantity in ("comments", "usernames"):
        form[kind.quantity] = "\n".join(f"line {number}" for number in range(service.min))
    elif kind.quantity == "subscription":
        form |= {"min": str(service.min), "max": str(service.min), "delay": "30"}
    for name in kind.required:
        form.setdefault(name, "someone")
    if kind.one_of:
        form[kind.one_of[0]] = "someone"
    return form


# Answer shapes, against the seeds.


@pytest.mark.parametrize(
    ("dialect", "seed_service"),
    [("standard", SEED_SERVICE), ("002", SEED_002_SERVICE), ("003", SEED_003_SERVICE)],
)
def test_it_answers_services_in_the_shape_of_each_dialects_seed(dialect, seed_service):
    sim = make(dialect, services=30)

    answer = call(sim, "services")

    assert len(answer) == 30
    assert all(shape(service) == shape(seed_service) for service in answer)
    assert len({str(service["service"]) for service in answer}) == 30


def test_it_lists_the_standard_services_with_the_seeds_value_formats():
    sim = make()

    first, second = call(sim, "services")[:2]

    assert first == {
        "service": 1,
        "name": "Telegram Views [Instant] [Max 50,000] [1K/Day] [60 Days Refill]",
        "type": "Default",
        "category": "Telegram - Views [Guaranteed/Refill]",
        "rate": "15.2013",
        "min": "50",
        "max": "50000",
        "refill": True,
        "cancel": True,
    }
    assert (second["service"], second["type"], second["refill"], second["cancel"]) == (
        2,
        "Custom Comments",
        False,
        True,
    )


def test_it_lists_every_service_type_in_a_short_catalog_with_ids_that_have_gaps():
    sim = make(services=40)

    answer = call(sim, "services")

    assert {service["type"] for service in answer} == set(SERVICE_TYPES)
    ids = [service["service"] for service in answer]
    assert ids == sorted(ids) and ids[-1] > len(ids)


def test_it_lists_002_services_with_lowercase_types_a_description_and_a_numeric_dripfeed_flag():
    sim = make("002")

    first = call(sim, "services")[0]

    assert first == {
        "service": "1",
        "name": "Telegram Views [Instant] [Max 50,000] [1K/Day] [60 Days Refill]",
        "category": "Telegram - Views [Guaranteed/Refill]",
        "rate": "15.2013",
        "min": "50",
        "max": "50000",
        "type": "default",
        "desc": "Start: Instant\nSpeed: 1K/Day\nRefill: yes\nLink: telegram profile or post",
        "dripfeed": 1,
    }


@pytest.mark.parametrize("dialect", ["standard", "002", "003"])
def test_it_answers_add_status_and_balance_in_the_shape_of_each_dialects_seed(dialect):
    sim = make(dialect)

    added = call(sim, "add", service=1, link="https://x.example/p", quantity=1000)
    single = call(sim, "status", order=added["order"])
    many = call(sim, "status", orders=f"{added['order']},10")
    balance = call(sim, "balance")

    assert shape(added) == shape(SEED_ADD[dialect])
    assert shape(single) == shape(SEED_STATUS[dialect])
    assert shape(many) == [
        (str(added["order"]), shape(SEED_STATUS[dialect])),
        ("10", shape(SEED_STATUS_ERROR[dialect])),
    ]
    assert many["10"] == SEED_STATUS_ERROR[dialect]
    assert shape(balance) == shape(SEED_BALANCE[dialect])


def test_it_answers_each_dialect_with_its_own_number_formats():
    answers = {}
    for dialect in ("standard", "002", "003"):
        sim = make(dialect)
        order_id = add_followers(sim)
        answers[dialect] = (call(sim, "add", service=1, link="x", quantity=50), call(sim, "status", order=order_id))
        answers[dialect] += (call(sim, "balance"),)

    assert answers["standard"] == (
        {"order": 10002},
        {"charge": "15.2013", "start_count": "0", "status": "Pending", "remains": "1000", "currency": "USD"},
        {"balance": "984.03863", "currency": "USD"},
    )
    assert answers["002"] == (
        {"status": "success", "order": 10002},
        {"order": "10001", "status": "pending", "charge": "15.2013", "start_count": "0", "remains": "1000"},
        {"status": "success", "balance": "984.03", "currency": "USD"},
    )
    assert answers["003"] == (
        {"order": 10002},
        {"charge": "15.2013", "start_count": "0", "status": "Pending", "remains": "1000"},
        {"balance": "984.0386", "currency": "USD"},
    )


@pytest.mark.parametrize(("dialect", "not_found"), [("standard", "Refill not found"), ("003", "Incorrect refill ID")])
def test_it_answers_refills_refill_statuses_and_cancels_in_the_seeds_shapes(dialect, not_found):
    sim = make(dialect)
    first, second = add_followers(sim), add_followers(sim)
    advance(sim, 4)

    single = call(sim, "refill", order=first)
    many = call(sim, "refill", orders=f"{second},3")
    status = call(sim, "refill_status", refill=single["refill"])
    statuses = call(sim, "refill_status", refills=f"{single['refill']},3")
    unknown = call(sim, "refill_status", refill=3)
    canceled = call(sim, "cancel", orders="9,10001")

    assert single == {"refill": "501"}
    assert many == [{"order": second, "refill": 502}, {"order": 3, "refill": {"error": "Incorrect order ID"}}]
    assert shape(many) == shape(SEED_MULTI_REFILL[1:])
    assert status == {"status": "Pending"}
    assert statuses == [{"refill": 501, "status": "Pending"}, {"refill": 3, "status": {"error": not_found}}]
    assert shape(statuses) == shape(SEED_MULTI_REFILL_STATUS[1:])
    assert unknown == {"error": not_found}
    assert canceled == [
        {"order": 9, "cancel": {"error": "Incorrect order ID"}},
        {"order": 10001, "cancel": {"error": "Order is already completed"}},
    ]
    assert shape(canceled[0]) == shape(SEED_CANCEL[0])


def test_it_answers_002_refills_and_cancels_with_a_success_wrapper_and_plain_string_errors():
    sim = make("002")
    first = add_followers(sim)
    pending = add_followers(sim)
    advance(sim, 4)
    call(sim, "cancel", orders=str(pending))

    assert call(sim, "refill", order=first) == {"status": "success", "refill": "501"}
    assert call(sim, "refill", orders="3") == [{"order": 3, "refill": "Incorrect order ID"}]
    assert call(sim, "refill_status", refill=501) == {"status": "pending"}
    assert call(sim, "refill_status", refills="501,7") == [
        {"refill": 501, "status": "pending"},
        {"refill": 7, "status": "Refill not found"},
    ]
    assert call(sim, "cancel", orders=f"9,{first}") == [
        {"order": 9, "cancel": "Incorrect order ID"},
        {"order": first, "cancel": "Order is already completed"},
    ]


def test_it_answers_products_and_product_orders_in_seed_003s_shapes():
    sim = make("003")

    products = call(sim, "products")
    ordered = call(sim, "add_product_order", product=1, quantity=1, require="me@example.com")
    pending = call(sim, "product_order_status", order=ordered["order"])
    advance(sim, 1)
    completed = call(sim, "product_order_status", order=ordered["order"])
    many = call(sim, "product_order_status", orders=f"{ordered['order']},456")

    assert shape(products[0]) == shape(SEED_PRODUCTS[0])
    assert shape(products[2]) == shape(SEED_PRODUCTS[1])
    assert products[1]["status"] == "Out of stock" and products[1]["inventory"] == 0
    assert ordered == {"order": 70001}
    assert pending == {"charge": 12, "status": "Pending"}
    assert shape(completed) == shape(SEED_PRODUCT_ORDER_STATUS["123"])
    assert completed == {"charge": 12, "status": "Completed", "result": "6c245bf3-3cda-4468-ac5f-52bd1efab9b8"}
    assert many == {str(ordered["order"]): completed, "456": {"error": "Incorrect order ID"}}
    assert call(sim, "products")[0]["inventory"] == 39


def test_it_cancels_a_product_order_with_a_note_and_gives_the_money_back():
    sim = make("003", cancel_rate=1)

    ordered = call(sim, "add_product_order", product=3, quantity=2)
    advance(sim, 1)
    in_progress = call(sim, "product_order_status", order=ordered["order"])
    advance(sim, 1)
    canceled = call(sim, "product_order_status", orders=str(ordered["order"]))

    assert in_progress == {"charge": 1, "status": "In progress"}
    assert canceled == {"70001": {"charge": 0, "status": "Canceled", "note": "Out of stock"}}
    assert shape(canceled["70001"]) == shape(SEED_PRODUCT_ORDER_STATUS["789"])
    assert sim.balance == Decimal("1000")


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"product": "99", "quantity": "1"}, "Incorrect product ID"),
        ({"product": "2", "quantity": "1", "require": "me"}, "Product is out of stock"),
        ({"product": "1", "quantity": "1"}, "Incorrect request"),
        ({"product": "3", "quantity": "3"}, "Quantity more than maximum 2"),
        ({"product": "3", "quantity": "0"}, "Quantity less than minimal 1"),
    ],
)
def test_it_validates_product_orders(params, error):
    sim = make("003")

    assert call(sim, "add_product_order", **params) == {"error": error}
    assert sim.product_order_count == 0


def test_it_keeps_the_product_actions_to_dialect_003():
    sim = make()

    assert call(sim, "products") == {"error": "Incorrect request"}
    assert "products" not in sim.actions


# An order's life.


def test_it_moves_an_order_from_pending_through_in_progress_to_completed():
    sim = make()
    order_id = add_followers(sim)
    answers = []
    for _ in range(5):
        answers.append(call(sim, "status", order=order_id))
        advance(sim, 1)

    def status(start_count: str, status: str, remains: str) -> dict[str, str]:
        return {
            "charge": "15.2013",
            "start_count": start_count,
            "status": status,
            "remains": remains,
            "currency": "USD",
        }

    assert answers == [
        status("0", "Pending", "1000"),
        status("17172", "In progress", "750"),
        status("17172", "In progress", "500"),
        status("17172", "In progress", "250"),
        status("17172", "Completed", "0"),
    ]
    assert sim.balance == Decimal("984.79870")


@pytest.mark.parametrize(("dialect", "word"), [("002", "processing"), ("003", "Processing")])
def test_it_shows_processing_for_the_first_in_progress_stage_where_the_seed_knows_it(dialect, word):
    sim = make(dialect)
    order_id = add_followers(sim)

    advance(sim, 1)
    first = call(sim, "status", order=order_id)["status"]
    advance(sim, 1)
    second = call(sim, "status", order=order_id)["status"]

    assert (first, second) == (word, word.replace("Processing", "In progress").replace("processing", "in progress"))


def test_it_ends_a_forced_partial_order_with_its_remains_and_refunds_the_undelivered_part():
    sim = make()
    sim.force_next_fate("partial", remains=157)
    order_id = add_followers(sim)

    advance(sim, 3)
    before = (call(sim, "status", order=order_id), sim.balance)
    advance(sim, 1)
    after = (call(sim, "status", order=order_id), sim.balance)

    assert before == (
        {"charge": "15.2013", "start_count": "17172", "status": "In progress", "remains": "368", "currency": "USD"},
        Decimal("984.79870"),
    )
    assert after == (
        {"charge": "12.8147", "start_count": "17172", "status": "Partial", "remains": "157", "currency": "USD"},
        Decimal("987.18530"),
    )
    assert sim.order(order_id).refund == Decimal("2.38660")


def test_it_refunds_a_canceled_order_in_full_once():
    sim = make()
    sim.force_next_fate("canceled")
    order_id = add_followers(sim)

    advance(sim, 1)
    first = call(sim, "status", order=order_id)
    advance(sim, 10)
    again = call(sim, "status", order=order_id)

    assert (
        first
        == again
        == {"charge": "0", "start_count": "0", "status": "Canceled", "remains": "1000", "currency": "USD"}
    )
    assert sim.balance == Decimal("1000")


def test_it_draws_fates_from_the_configured_rates():
    sim = make(partial_rate=0.3, cancel_rate=0.2)
    order_ids = [add_followers(sim, 100) for _ in range(300)]
    advance(sim, 10)

    statuses = [sim.order(order_id).status for order_id in order_ids]

    counts = {status: statuses.count(status) for status in ("Completed", "Partial", "Canceled")}
    assert sum(counts.values()) == 300
    assert 120 < counts["Completed"] < 180 and 60 < counts["Partial"] < 120 and 35 < counts["Canceled"] < 85


def test_it_cancels_an_unfinished_order_at_its_next_stage_and_gives_everything_back():
    sim = make()
    order_id = add_followers(sim)
    advance(sim, 1.5)

    asked = call(sim, "cancel", orders=str(order_id))
    still = call(sim, "status", order=order_id)
    again = call(sim, "cancel", orders=str(order_id))
    advance(sim, 0.5)
    canceled = call(sim, "status", order=order_id)

    assert asked == [{"order": order_id, "cancel": 1}]
    assert still["status"] == "In progress"
    assert again == [{"order": order_id, "cancel": {"error": "Cancel already requested"}}]
    assert canceled == {
        "charge": "0",
        "start_count": "17172",
        "status": "Canceled",
        "remains": "1000",
        "currency": "USD",
    }
    assert sim.balance == Decimal("1000")


def test_it_refuses_to_cancel_where_the_service_has_no_cancel_or_the_order_is_over():
    sim = make()
    no_cancel = call(sim, "add", service=3, link="x", quantity=1000)["order"]
    sim.force_next_fate("canceled")
    canceled = add_followers(sim)
    advance(sim, 1)

    answer = call(sim, "cancel", orders=f"{no_cancel},{canceled},abc")

    assert answer == [
        {"order": no_cancel, "cancel": {"error": "Cancel is disabled for this service"}},
        {"order": canceled, "cancel": {"error": "Order is already canceled"}},
        {"order": "abc", "cancel": {"error": "Incorrect order ID"}},
    ]


def test_it_walks_a_refill_to_completed_or_to_rejected():
    sim = make()
    completed, rejected = add_followers(sim), add_followers(sim)
    advance(sim, 4)
    sim.force_next_refill_fate("completed")
    sim.force_next_refill_fate("rejected")
    first = call(sim, "refill", order=completed)["refill"]
    second = call(sim, "refill", order=rejected)["refill"]

    walk = []
    for _ in range(3):
        walk.append(call(sim, "refill_status", refills=f"{first},{second}"))
        advance(sim, 1)

    assert walk == [
        [{"refill": 501, "status": "Pending"}, {"refill": 502, "status": "Pending"}],
        [{"refill": 501, "status": "In progress"}, {"refill": 502, "status": "In progress"}],
        [{"refill": 501, "status": "Completed"}, {"refill": 502, "status": "Rejected"}],
    ]
    assert call(sim, "refill", order=completed) == {"refill": "503"}
    assert sim.refill(501).order_id == completed


def test_it_refuses_a_refill_before_completion_twice_at_once_or_where_the_service_has_none():
    sim = make()
    order_id = add_followers(sim)
    no_refill = call(sim, "add", service=3, link="x", quantity=1000)["order"]

    early = call(sim, "refill", order=order_id)
    advance(sim, 4)
    call(sim, "refill", order=order_id)

    assert early == {"error": "The order is not completed"}
    assert call(sim, "refill", orders=f"{order_id},{no_refill}") == [
        {
            "order": order_id,
            "refill": {"error": "The order was completed or refill was requested less than 24 hours ago"},
        },
        {"order": no_refill, "refill": {"error": "Refill is disabled for this service"}},
    ]


def test_it_over_delivers_some_completed_orders_in_dialect_003_as_its_seed_shows():
    sim = make("003", overdelivery_rate=1)
    order_id = add_followers(sim)
    advance(sim, 4)

    assert call(sim, "status", order=order_id) == {
        "charge": "15.2013",
        "start_count": "17172",
        "status": "Completed",
        "remains": "-4",
    }


# Validation.


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"key": "wrong", "action": "balance"}, "Invalid API key"),
        ({"action": "balance"}, "Invalid API key"),
        ({"key": KEY, "action": "transfer"}, "Incorrect request"),
        ({"key": KEY}, "Incorrect request"),
        ({"key": KEY, "action": "status"}, "Incorrect request"),
        ({"key": KEY, "action": "status", "order": "424242"}, "Incorrect order ID"),
        ({"key": KEY, "action": "refill"}, "Incorrect request"),
        ({"key": KEY, "action": "refill", "order": "424242"}, "Incorrect order ID"),
        ({"key": KEY, "action": "refill_status"}, "Incorrect request"),
        ({"key": KEY, "action": "refill_status", "refill": "424242"}, "Refill not found"),
        ({"key": KEY, "action": "cancel"}, "Incorrect request"),
        ({"key": KEY, "action": "add"}, "Incorrect request"),
    ],
)
def test_it_refuses_a_wrong_key_an_unknown_action_and_missing_parameters(form, error):
    sim = make()

    reply = sim.handle(form)

    assert (reply.status, reply.json()) == (200, {"error": error})


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"service": "999999", "link": "x", "quantity": "100"}, "Incorrect service ID"),
        ({"service": "abc", "link": "x", "quantity": "100"}, "Incorrect service ID"),
        ({"service": "1", "quantity": "100"}, "Bad link"),
        ({"service": "1", "link": "  ", "quantity": "100"}, "Bad link"),
        ({"service": "1", "link": "x"}, "Incorrect request"),
        ({"service": "1", "link": "x", "quantity": "ten"}, "Incorrect request"),
        ({"service": "1", "link": "x", "quantity": "49"}, "Quantity less than minimal 50"),
        ({"service": "1", "link": "x", "quantity": "-5"}, "Quantity less than minimal 50"),
        ({"service": "1", "link": "x", "quantity": "50001"}, "Quantity more than maximum 50000"),
        ({"service": "1", "link": "x", "quantity": "100", "runs": "2"}, "Incorrect request"),
        ({"service": "1", "link": "x", "quantity": "100", "runs": "0", "interval": "5"}, "Incorrect request"),
        (
            {"service": "3", "link": "x", "quantity": "1000", "runs": "2", "interval": "5"},
            "Drip-feed is disabled for this service",
        ),
        ({"service": "2", "link": "x"}, "Incorrect request"),
        ({"service": "2", "link": "x", "comments": "\n \r\n"}, "Incorrect request"),
        ({"service": "2", "link": "x", "comments": "nice\n" * 1501}, "Quantity more than maximum 1500"),
    ],
)
def test_it_validates_add_like_a_real_panel_and_charges_nothing_when_it_refuses(params, error):
    sim = make()

    assert call(sim, "add", **params) == {"error": error}
    assert (sim.order_count, sim.balance) == (0, Decimal("1000"))


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"min": "100", "max": "200"}, "Incorrect request"),
        ({"min": "9", "max": "200", "delay": "30"}, "Quantity less than minimal 10"),
        ({"min": "100", "max": "100001", "delay": "30"}, "Quantity more than maximum 100000"),
        ({"min": "300", "max": "200", "delay": "30"}, "Incorrect request"),
        ({"min": "100", "max": "200", "delay": "7"}, "Incorrect delay"),
        ({"min": "100", "max": "200", "delay": "30", "expiry": "2025-01-31"}, "Incorrect expiry date"),
    ],
)
def test_it_validates_subscriptions(params, error):
    sim = make()
    subscription = next(service for service in sim.services if service.type == "Subscriptions")

    assert call(sim, "add", service=subscription.id, username="someone", **params) == {"error": error}


def test_it_accepts_an_order_for_every_service_type_with_its_own_parameters():
    sim = make(services=20)

    answers = {service.type: call(sim, "add", **form_for(service)) for service in sim.services}

    assert set(answers) == set(SERVICE_TYPES)
    assert all("order" in answer for answer in answers.values()), answers


def test_it_counts_custom_comments_as_the_quantity():
    sim = make()

    order_id = call(sim, "add", service=2, link="x", comments="great!\r\nwow\n\nso good\n")["order"]

    assert (sim.order(order_id).quantity, sim.order(order_id).charge) == (3, Decimal("0.07446"))


def test_it_charges_drip_feed_orders_for_every_run():
    sim = make()

    order_id = add_followers(sim, 1000, runs=3, interval=15)

    assert (sim.order(order_id).quantity, sim.order(order_id).runs) == (3000, 3)
    assert sim.order(order_id).charge == Decimal("45.60390")
    assert sim.balance == Decimal("954.39610")


def test_it_refuses_an_order_it_cannot_afford_and_takes_nothing():
    sim = make(balance="15.2012")

    assert call(sim, "add", service=1, link="x", quantity=1000) == {"error": "Not enough funds on balance"}
    assert (sim.order_count, sim.balance) == (0, Decimal("15.2012"))
    sim.balance = "15.2013"
    assert call(sim, "add", service=1, link="x", quantity=1000) == {"order": 10001}
    assert sim.balance == Decimal("0")


def test_it_answers_status_for_100_ids_and_refuses_101():
    sim = make()
    order_ids = [add_followers(sim, 100) for _ in range(100)]

    answer = call(sim, "status", orders=",".join(map(str, order_ids)))
    too_many = call(sim, "status", orders=",".join(map(str, [*order_ids, 1])))

    assert list(answer) == [str(order_id) for order_id in order_ids]
    assert {item["status"] for item in answer.values()} == {"Pending"}
    assert too_many == {"error": "Too many IDs: up to 100 at once"}


# Faults, over a real socket.


@pytest.fixture
def served():
    sim = make(timeout_seconds=5)
    with SimulatorServer(sim) as server:
        yield sim, server.url


def post(url: str, timeout: float = 5, **form: Any) -> requests.Response:
    return requests.post(url, data={"key": KEY, **form}, timeout=timeout)


ORDER = {"service": "1", "link": "https://x.example/p", "quantity": "1000"}
ADD = {"action": "add", **ORDER}


def test_a_timeout_fault_makes_the_client_time_out_before_anything_happens(served):
    sim, url = served
    sim.inject("timeout", action="add")

    with pytest.raises(requests.ReadTimeout):
        post(url, timeout=0.3, **ADD)

    assert (sim.order_count, sim.balance, sim.faults_fired) == (0, Decimal("1000"), [("add", "timeout")])
    assert post(url, **ADD).json() == {"order": 10001}


def test_a_lost_response_drops_the_connection_after_placing_and_charging_the_order(served):
    sim, url = served
    sim.inject("lost_response", action="add")

    with pytest.raises(requests.ConnectionError):
        post(url, **ADD)

    assert sim.order_count == 1
    assert sim.order(10001).charge == Decimal("15.2013")
    assert sim.balance == Decimal("984.79870")
    assert post(url, action="status", order="10001").json()["status"] == "Pending"


def test_a_500_fault_answers_an_html_error_page_and_processes_nothing(served):
    sim, url = served
    sim.inject("500")

    response = post(url, **ADD)

    assert response.status_code == 500
    assert response.headers["Content-Type"].startswith("text/html")
    assert b"Internal Server Error" in response.content
    assert sim.order_count == 0


def test_a_garbage_fault_answers_200_with_a_body_no_parser_accepts(served):
    sim, url = served
    sim.inject("garbage", action="add")

    response = post(url, **ADD)

    assert (response.status_code, response.headers["Content-Type"]) == (200, "application/json")
    with pytest.raises(requests.JSONDecodeError):
        response.json()
    assert sim.order_count == 0


def test_an_html_fault_answers_200_with_a_web_page(served):
    sim, url = served
    sim.inject("html", action="balance")

    response = post(url, action="balance")

    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")


def test_a_no_funds_fault_answers_the_usual_error_and_places_nothing(served):
    sim, url = served
    sim.inject("no_funds", action="add")

    assert post(url, **ADD).json() == {"error": "Not enough funds on balance"}
    assert (sim.order_count, sim.balance) == (0, Decimal("1000"))


def test_an_injected_fault_waits_for_its_action_and_fires_the_given_number_of_times(served):
    sim, url = served
    sim.inject("500", action="status", times=2)

    codes = [post(url, action=action, order="1").status_code for action in ("balance", "status", "status", "status")]

    assert codes == [200, 500, 500, 200]
    assert sim.faults_fired == [("status", "500"), ("status", "500")]


def test_a_fault_rate_of_one_faults_every_request_with_a_seeded_choice():
    first, second = make(fault_rate=1), make(fault_rate=1)

    faults = [first.handle({"key": KEY, "action": "balance"}).fault for _ in range(50)]

    assert set(faults) == {"timeout", "500", "garbage", "html", "lost_response"}
    assert faults == [second.handle({"key": KEY, "action": "balance"}).fault for _ in range(50)]
    assert make(fault_rate=0.5, random_faults=["500"]).handle({"key": KEY, "action": "balance"}).fault in ("500", None)


def test_every_fault_has_a_name_the_simulator_refuses_to_guess():
    sim = make()

    with pytest.raises(ValueError, match="fault must be one of"):
        sim.inject("slow")
    assert FAULTS == ("timeout", "500", "garbage", "html", "lost_response", "no_funds")


def test_latency_delays_every_answer(served):
    sim, url = served
    sim.latency_ms = 150

    started = time.monotonic()
    post(url, action="balance")

    assert time.monotonic() - started >= 0.15


# HTTP.


def test_it_serves_form_and_json_bodies_with_or_without_the_trailing_slash(served):
    _, url = served

    as_form = requests.post(url + "/", data={"key": KEY, "action": "balance"}, timeout=5)
    as_json = requests.post(
        url, json={"key": KEY, "action": "add", "service": 1, "link": "x", "quantity": 50}, timeout=5
    )

    assert as_form.json() == {"balance": "1000.00000", "currency": "USD"}
    assert as_json.json() == {"order": 10001}


def test_it_asks_for_post_on_get_and_answers_404_elsewhere(served):
    sim, url = served

    on_get = requests.get(url, timeout=5)
    elsewhere = requests.post(url.replace("/api/v2", "/api/v1"), data={"key": KEY, "action": "balance"}, timeout=5)

    assert (on_get.status_code, on_get.json()) == (405, {"error": "Incorrect request: use POST"})
    assert elsewhere.status_code == 404
    assert sim.requests == []


def test_it_records_every_request_without_the_key(served):
    sim, url = served
    sim.inject("500", action="balance")

    post(url, action="balance")
    post(url, action="status", orders="1,2")

    assert sim.requests == [("balance", {"action": "balance"}), ("status", {"action": "status", "orders": "1,2"})]


def test_stopping_the_server_does_not_wait_for_a_held_timeout():
    sim = make(timeout_seconds=60)
    server = SimulatorServer(sim)
    url = server.start()
    sim.inject("timeout")
    with pytest.raises(requests.ReadTimeout):
        post(url, timeout=0.2, action="balance")

    started = time.monotonic()
    server.stop()

    assert time.monotonic() - started < 2


# Determinism and speed.


def test_two_simulators_with_the_same_seed_give_the_same_services_and_fates():
    def run(seed: int) -> tuple[bytes, list[tuple[str, int, int]]]:
        sim = SimulatedProvider(seed=seed, services=200, balance=100_000, clock=ManualClock())
        services = sim.handle({"key": KEY, "action": "services"}).body
        order_ids = [add_followers(sim, 1000) for _ in range(40)]
        advance(sim, 10)
        fates = [(sim.order(i).status, sim.order(i).remains, sim.order(i).start_count) for i in order_ids]
        return services, fates

    first, again, other = run(7), run(7), run(8)

    assert first == again
    assert first[0] != other[0] and first[1] != other[1]
    assert {status for status, _, _ in first[1]} == {"Completed", "Partial", "Canceled"}


def test_it_stays_fast_with_10000_services_1000_concurrent_orders_and_100_ids_per_status():
    sim = make(services=10_000, balance="1000000")
    server = SimulatorServer(sim)
    url = server.start()
    started = time.monotonic()
    try:
        services = post(url, action="services").json()
        with ThreadPoolExecutor(max_workers=16) as pool:
            over_http = list(pool.map(lambda _: post(url, **ADD).json()["order"], range(200)))
            direct = list(pool.map(lambda _: call(sim, "add", **ORDER)["order"], range(800)))
        statuses = [
            post(url, action="status", orders=",".join(map(str, range(n, n + 100)))).json()
            for n in range(10001, 11001, 100)
        ]
    finally:
        server.stop()

    assert len(services) == 10_000
    assert len(set(over_http) | set(direct)) == 1000 == sim.order_count
    assert sum(len(answer) for answer in statuses) == 1000
    assert sim.balance == Decimal("1000000") - 1000 * Decimal("15.2013")
    assert time.monotonic() - started < 20


# The command.


def test_the_command_refuses_bad_options():
    with pytest.raises(CommandError, match="--fault-rate"):
        call_command("simulate_provider", "--fault-rate", "2")
    with pytest.raises(CommandError, match="--balance"):
        call_command("simulate_provider", "--balance", "lots")


def test_the_command_serves_the_simulator_until_interrupted():
    process = subprocess.Popen(
        [sys.executable, "manage.py", "simulate_provider", "--port", "0", "--dialect", "002", "--key", "k1"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"DEBUG": "1"},
    )
    try:
        lines = [process.stdout.readline() for _ in range(4)]
        url = lines[1].removeprefix("URL: ").strip()
        answer = requests.post(url, data={"key": "k1", "action": "balance"}, timeout=5).json()
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()

    assert lines[0].startswith("Simulated provider (dialect 002, 20 services, seed 0, balance 1000")
    assert url.startswith("http://127.0.0.1:") and url.endswith("/api/v2")
    assert lines[2:] == ["Key: k1\n", "Ctrl-C stops it.\n"]
    assert answer == {"status": "success", "balance": "1000.00", "currency": "USD"}
    assert (process.returncode, out) == (0, "Simulated provider stopped.\n")
