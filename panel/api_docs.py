"""The API page's content: every action with its parameters and an example answer.

The `add` tables come from the one declaration of the order fields and types
(`orders.order_fields`, `orders.order_types`), so a new type or field appears here by itself;
the words follow the seeds' own documentation.
"""

import json

from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.order_fields import DELAYS_BY_DIALECT, MAX_INTERVAL_MINUTES, MAX_RUNS, FieldKind
from orders.order_types import ORDER_TYPES, PRODUCT, SUBSCRIPTION_HOLD_POSTS, FieldUse, OrderType, QuantityFrom

IDS_TEXT = gettext_lazy("Order IDs (separated by a comma, up to 100 IDs)")

# How each kind of type is charged: the rule of orders.pricing.order_price, in words.
CHARGE_RULES = {
    QuantityFrom.PARAM: gettext_lazy("Charged rate × quantity / 1000."),
    QuantityFrom.PACKAGE: gettext_lazy(
        "A package is bought whole: it delivers the service's size (its min, which equals its max) and costs "
        "rate × size / 1000, the package price the services list shows. Send no quantity."
    ),
    QuantityFrom.COMMENTS: gettext_lazy("Each non-empty line of comments is one unit: charged rate × lines / 1000."),
    QuantityFrom.USERNAMES: gettext_lazy("Each non-empty line of usernames is one unit: charged rate × lines / 1000."),
    QuantityFrom.SUBSCRIPTION: format_lazy(
        gettext_lazy(
            "Charged up front for max on each post: rate × max × (posts + old_posts) / 1000. Without posts the "
            "subscription is unlimited at the provider, and you pay up front a hold of {hold} posts "
            "(rate × max × {hold} / 1000); the panel stops the subscription when the provider has "
            "used the hold, and what the provider reports undelivered is refunded."
        ),
        hold=SUBSCRIPTION_HOLD_POSTS,
    ),
}
DRIPFEED_RULE = format_lazy(
    gettext_lazy(
        "Drip-feed: runs (2 to {runs}) deliveries of quantity, interval (1 to {minutes}) minutes apart, "
        "charged rate × quantity × runs / 1000 up front. Where the provider has no drip-feed of its own, this panel "
        "runs it: it places one order of quantity upstream per run when the run is due, and a cancel stops the runs "
        "not yet placed and refunds them. None of the upstream APIs this panel follows documents a drip-feed run "
        "by the panel: it is this panel's own."
    ),
    runs=MAX_RUNS,
    minutes=MAX_INTERVAL_MINUTES,
)


def _json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _delay_text() -> str:
    lists = {values: [] for values in DELAYS_BY_DIALECT.values()}
    widest = max(lists, key=len)
    shorter = [values for values in lists if values != widest]
    text = _("Delay in minutes. Possible values: %(values)s") % {"values": ", ".join(map(str, widest))}
    for values in shorter:
        text += " " + _("(some services accept only %(values)s: the order form lists each service's)") % {
            "values": ", ".join(map(str, values))
        }
    return text


def _param(use: FieldUse) -> dict:
    spec = use.field
    text = str(use.doc or spec.doc)
    if spec.kind == FieldKind.CHOICE and spec.name == "delay":
        text = _delay_text()
    name = spec.name
    if not use.required:
        name += " " + _("(optional)")
    if use.dialects is not None:
        text += " " + _("Not every service of this type takes it.")
    return {"name": name, "text": text}


def _note(kind: OrderType) -> str:
    note = str(CHARGE_RULES[kind.quantity_from])
    if kind.takes_dripfeed:
        note += " " + str(DRIPFEED_RULE)
    if kind.one_of:
        note += " " + _("At least one of %(names)s is required; suggest lists one video link per line.") % {
            "names": ", ".join(kind.one_of)
        }
    return note


def add_variants() -> list[dict]:
    """One parameter table per order type, with the type names that share it."""
    variants: dict[tuple, dict] = {}
    for kind in ORDER_TYPES.values():
        if kind is PRODUCT:
            continue
        params = [_param(use) for use in kind.fields]
        note = _note(kind)
        key = (tuple((p["name"], p["text"]) for p in params), note)
        if key not in variants:
            variants[key] = {"types": [], "params": params, "note": note}
        variants[key]["types"].append(kind.name)
    return list(variants.values())


def api_sections(*, currency: str) -> list[dict]:
    status = {"charge": "0.27819", "start_count": "3572", "status": "Partial", "remains": "157", "currency": currency}
    service = {
        "service": 1,
        "name": "Followers",
        "type": "Default",
        "category": "First Category",
        "rate": "0.90",
        "min": "50",
        "max": "10000",
        "refill": True,
        "cancel": True,
        "dripfeed": False,
        "desc": "Real-looking followers, 10k/day",
    }
    return [
        {
            "id": "services",
            "title": _("Service list"),
            "params": [("action", "services")],
            "note": f"rate is your own price per 1000 in {currency} (your discount or your own rate included).",
            "example": _json([service, {**service, "service": 2, "name": "Comments", "type": "Custom Comments"}]),
        },
        {
            "id": "add",
            "title": _("Add order"),
            "params": [("action", "add"), ("service", _("Service ID"))],
            "variants": add_variants(),
            "example": _json({"order": 23501}),
        },
        {
            "id": "status",
            "title": _("Order status"),
            "params": [("action", "status"), ("order", _("Order ID"))],
            "note": _("charge is what the order finally costs you: what was charged minus what was refunded."),
            "example": _json(status),
        },
        {
            "id": "multi-status",
            "title": _("Multiple orders status"),
            "params": [("action", "status"), ("orders", IDS_TEXT)],
            "example": _json(
                {
                    "1": status,
                    "10": {"error": "Incorrect order ID"},
                    "100": {
                        **status,
                        "charge": "1.44219",
                        "start_count": "234",
                        "status": "In progress",
                        "remains": "10",
                    },
                }
            ),
        },
        {
            "id": "refill",
            "title": _("Create refill"),
            "params": [("action", "refill"), ("order", _("Order ID"))],
            "example": _json({"refill": "1"}),
        },
        {
            "id": "multi-refill",
            "title": _("Create multiple refill"),
            "params": [("action", "refill"), ("orders", IDS_TEXT)],
            "example": _json(
                [
                    {"order": 1, "refill": 1},
                    {"order": 2, "refill": 2},
                    {"order": 3, "refill": {"error": "Incorrect order ID"}},
                ]
            ),
        },
        {
            "id": "refill-status",
            "title": _("Get refill status"),
            "params": [("action", "refill_status"), ("refill", _("Refill ID"))],
            "example": _json({"status": "Completed"}),
        },
        {
            "id": "multi-refill-status",
            "title": _("Get multiple refill status"),
            "params": [("action", "refill_status"), ("refills", _("Refill IDs (separated by a comma, up to 100 IDs)"))],
            "example": _json(
                [
                    {"refill": 1, "status": "Completed"},
                    {"refill": 2, "status": "Rejected"},
                    {"refill": 3, "status": {"error": "Refill not found"}},
                ]
            ),
        },
        {
            "id": "cancel",
            "title": _("Create cancel"),
            "params": [("action", "cancel"), ("orders", IDS_TEXT)],
            "note": _("1 for each cancel accepted; the refund follows when the provider reports the order cancelled."),
            "example": _json([{"order": 9, "cancel": {"error": "Incorrect order ID"}}, {"order": 2, "cancel": 1}]),
        },
        {
            "id": "balance",
            "title": _("User balance"),
            "params": [("action", "balance")],
            "example": _json({"balance": "100.84292", "currency": currency}),
        },
        {
            "id": "products",
            "title": _("Product list"),
            "params": [("action", "products")],
            "note": _(
                'Products are sold per unit: charged rate × quantity. status is "In stock" or "Out of stock"; '
                "inventory, where the provider counts it, is how many are left."
            ),
            "example": _json(
                [
                    {
                        "product": 1,
                        "name": "Netflix premium 1 month",
                        "require": "Input your account",
                        "rate": "2.50",
                        "min": 1,
                        "max": 10,
                        "category": "Netflix",
                        "status": "In stock",
                        "inventory": 40,
                        "type": "Product",
                    },
                    {
                        "product": 3,
                        "name": "Facebook account 5000 friends",
                        "require": "",
                        "rate": "0.50",
                        "min": 1,
                        "max": 2,
                        "category": "Facebook",
                        "status": "In stock",
                        "type": "Product",
                    },
                ]
            ),
        },
        {
            "id": "add-product-order",
            "title": _("Add product order"),
            "params": [
                ("action", "add_product_order"),
                ("product", _("Product ID")),
                ("quantity", _("Needed quantity")),
                ("require", _("Infomation need to process (required when the product's require says what it needs)")),
            ],
            "note": _("An out-of-stock product, or more than its inventory, is refused with an error."),
            "example": _json({"order": 23502}),
        },
        {
            "id": "product-order-status",
            "title": _("Product order status"),
            "params": [("action", "product_order_status"), ("order", _("Product Order ID"))],
            "example": _json(
                {"charge": "7.50", "status": "Completed", "result": "c85c1d1a-9ef3-4d01-8c58-3dfaf3bbc78e"}
            ),
        },
        {
            "id": "multi-product-order-status",
            "title": _("Multiple product orders status"),
            "params": [("action", "product_order_status"), ("orders", IDS_TEXT)],
            "example": _json(
                {
                    "123": {"charge": "7.50", "status": "Completed", "result": "c85c1d1a-9ef3-4d01-8c58-3dfaf3bbc78e"},
                    "456": {"error": "Incorrect order ID"},
                    "789": {"charge": "0.00", "status": "Canceled", "result": "", "note": "Out of stock"},
                }
            ),
        },
    ]


PYTHON_EXAMPLE = """\
import requests

API_URL = "{url}"
API_KEY = "your-api-key"


def call(action, **params):
    answer = requests.post(API_URL, data={{"key": API_KEY, "action": action, **params}}, timeout=30).json()
    if isinstance(answer, dict) and "error" in answer:
        raise RuntimeError(answer["error"])
    return answer


print(call("balance"))
services = call("services")
order = call("add", service=services[0]["service"], link="https://instagram.com/p/abc", quantity=100)
print(call("status", order=order["order"]))
print(call("status", orders="1,2,3"))
"""

PHP_EXAMPLE = """\
<?php
$apiUrl = '{url}';
$apiKey = 'your-api-key';

function call($action, $params = []) {{
    global $apiUrl, $apiKey;
    $ch = curl_init($apiUrl);
    curl_setopt($ch, CURLOPT_POST, true);
    $fields = array_merge(['key' => $apiKey, 'action' => $action], $params);
    curl_setopt($ch, CURLOPT_POSTFIELDS, http_build_query($fields));
    curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
    curl_setopt($ch, CURLOPT_TIMEOUT, 30);
    $answer = json_decode(curl_exec($ch), true);
    curl_close($ch);
    return $answer;
}}

print_r(call('balance'));
$order = call('add', ['service' => 1, 'link' => 'https://instagram.com/p/abc', 'quantity' => 100]);
print_r(call('status', ['order' => $order['order']]));
"""
