"""What each service type asks of an order, as the seeds' providers describe them.

`order_fields_clean` turns a customer's raw input (a form or an `/api/v2` request) into the
fields we store and send upstream, or raises OrderInvalid naming the field at fault.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from core.errors import PanelError

SUBSCRIPTION_DELAYS = (0, 5, 10, 15, 20, 30, 40, 50, 60, 90, 120, 150, 180, 210, 240, 270, 300, 360, 420, 480, 540, 600)
MAX_LINK_LENGTH = 2000
MAX_LIST_TEXT = 100_000
MAX_RUNS = 1000
MAX_INTERVAL_MINUTES = 60 * 24 * 30


class OrderInvalid(PanelError):
    default_message = "Incorrect request"


@dataclass(frozen=True)
class OrderType:
    """needs: fields that must be given; optional: fields that may be; quantity_from: where the
    quantity comes from when the customer does not give it (a list's line count, or 1 for a package)."""

    needs: tuple[str, ...]
    optional: tuple[str, ...] = ()
    quantity_from: str | None = None


DEFAULT = OrderType(needs=("link", "quantity"), optional=("runs", "interval"))
PACKAGE = OrderType(needs=("link",), quantity_from="package")
ORDER_TYPES: dict[str, OrderType] = {
    "default": DEFAULT,
    "package": PACKAGE,
    "custom comments": OrderType(needs=("link", "comments"), quantity_from="comments"),
    "custom comments package": OrderType(needs=("link", "comments"), quantity_from="package"),
    "mentions": OrderType(needs=("link", "quantity", "usernames")),
    "mentions with hashtags": OrderType(needs=("link", "quantity", "usernames", "hashtags")),
    "mentions custom list": OrderType(needs=("link", "usernames"), quantity_from="usernames"),
    "mentions hashtag": OrderType(needs=("link", "quantity", "hashtag")),
    "mentions user followers": OrderType(needs=("link", "quantity", "username")),
    "mentions media likers": OrderType(needs=("link", "quantity", "media")),
    "comment likes": OrderType(needs=("link", "quantity", "username")),
    "comment replies": OrderType(needs=("link", "username", "comments"), quantity_from="comments"),
    "poll": OrderType(needs=("link", "quantity", "answer_number")),
    "subscriptions": OrderType(needs=("username", "min", "max", "posts", "delay"), optional=("old_posts", "expiry")),
    "groups": OrderType(needs=("link", "quantity", "groups")),
    "special": OrderType(needs=("link", "quantity"), optional=("list", "suggest", "search")),
    "invites from groups": OrderType(needs=("link", "quantity", "groups")),
    # Seed 003's products: what the buyer must give (an account, an e-mail) goes in `require`.
    "product": OrderType(needs=("quantity",), optional=("require",)),
}
LIST_FIELDS = {"comments", "usernames", "hashtags", "groups", "list", "suggest", "search"}
TEXT_FIELDS = {"hashtag", "username", "media", "require"}
WHOLE_NUMBER_FIELDS = {"quantity", "runs", "interval", "answer_number", "min", "max", "posts", "old_posts", "delay"}


def order_type_for(service_type: str) -> OrderType:
    key = re.sub(r"\s+", " ", service_type.strip().lower())
    if key in ORDER_TYPES:
        return ORDER_TYPES[key]
    if key.startswith("special"):  # seed 003: "Special (1DG)", "Special 1 (1DG)"
        return ORDER_TYPES["special"]
    return DEFAULT


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise OrderInvalid(f"{name} must be text.")
    if any(ch < " " and ch not in "\r\n\t" for ch in value):
        raise OrderInvalid(f"{name} contains control characters.")
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise OrderInvalid(f"{name} must be text.")
    return value.strip()


def _whole_number(name: str, value: object) -> int:
    if isinstance(value, bool):
        raise OrderInvalid(f"{name} must be a whole number.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*\d{1,12}\s*", value):
        number = int(value)
    else:
        raise OrderInvalid(f"{name} must be a whole number.")
    if number < 0:
        raise OrderInvalid(f"{name} must not be negative.")
    return number


def _lines(name: str, value: object) -> list[str]:
    text = _text(name, value)
    if len(text) > MAX_LIST_TEXT:
        raise OrderInvalid(f"{name} is too long.")
    return [line.strip() for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class CleanOrder:
    link: str
    quantity: int
    runs: int | None
    interval: int | None
    params: dict
    is_package: bool
    # What the service's min and max bound: the quantity, or a subscription's per-post max.
    limited_quantity: int
    sends_quantity: bool


def order_fields_clean(*, service_type: str, dripfeed: bool, data: dict) -> CleanOrder:
    """Validate a customer's order fields for a service of this type (min/max are checked by the caller)."""
    kind = order_type_for(service_type)
    given = {k: v for k, v in data.items() if v not in (None, "")}
    for name in kind.needs:
        if name not in given:
            raise OrderInvalid(f"Incorrect request: {name} is required.")
    params: dict[str, object] = {}
    for name in (*kind.needs, *kind.optional):
        if name not in given or name in {"link", "quantity", "runs", "interval"}:
            continue
        value = given[name]
        if name in LIST_FIELDS:
            lines = _lines(name, value)
            if not lines:
                raise OrderInvalid(f"{name} must list at least one line.")
            params[name] = "\n".join(lines)
        elif name in WHOLE_NUMBER_FIELDS:
            params[name] = _whole_number(name, value)
        elif name == "expiry":
            params[name] = _expiry(value)
        else:
            text = _text(name, value)
            if not text:
                raise OrderInvalid(f"Incorrect request: {name} is required.")
            params[name] = text[:500]

    link = ""
    if "link" in kind.needs:
        link = _text("link", given["link"])
        if not link:
            raise OrderInvalid("Incorrect request: link is required.")
        if len(link) > MAX_LINK_LENGTH or any(ch.isspace() for ch in link):
            raise OrderInvalid("link must be a single URL or username without spaces.")

    if kind.quantity_from == "package":
        quantity = 1
    elif kind.quantity_from in ("comments", "usernames"):
        quantity = len(str(params[kind.quantity_from]).splitlines())
    elif kind is ORDER_TYPES["subscriptions"]:
        quantity = _subscription_quantity(params)
    else:
        quantity = _whole_number("quantity", given["quantity"])
    if quantity <= 0:
        raise OrderInvalid("quantity must be at least 1.")

    runs = interval = None
    if "runs" in given or "interval" in given:
        if not dripfeed or "runs" not in kind.optional:
            raise OrderInvalid("runs and interval (drip-feed) are not available for this service.")
        runs = _whole_number("runs", given.get("runs", ""))
        interval = _whole_number("interval", given.get("interval", ""))
        if not 2 <= runs <= MAX_RUNS:
            raise OrderInvalid(f"runs must be between 2 and {MAX_RUNS}.")
        if not 1 <= interval <= MAX_INTERVAL_MINUTES:
            raise OrderInvalid(f"interval must be between 1 and {MAX_INTERVAL_MINUTES} minutes.")
    return CleanOrder(
        link=link,
        quantity=quantity,
        runs=runs,
        interval=interval,
        params=params,
        is_package=kind.quantity_from == "package",
        limited_quantity=params["max"] if kind is ORDER_TYPES["subscriptions"] else quantity,
        sends_quantity="quantity" in kind.needs,
    )


def _subscription_quantity(params: dict) -> int:
    """A subscription is charged for `max` units on each of `posts` posts; quantity is max × posts."""
    low, high, posts = params["min"], params["max"], params["posts"]
    if low > high:
        raise OrderInvalid("min must not be more than max.")
    if params["delay"] not in SUBSCRIPTION_DELAYS:
        raise OrderInvalid(f"delay must be one of {', '.join(map(str, SUBSCRIPTION_DELAYS))}.")
    if posts < 1:
        raise OrderInvalid("posts must be at least 1.")
    return high * posts


def _expiry(value: object) -> str:
    text = _text("expiry", value)
    try:
        day = datetime.strptime(text, "%d/%m/%Y").date()
    except ValueError:
        raise OrderInvalid("expiry must be a date as d/m/Y, e.g. 31/12/2026.") from None
    return day.strftime("%d/%m/%Y")
