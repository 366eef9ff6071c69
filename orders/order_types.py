"""What each service type asks of an order, as the seeds' providers describe them.

An order type is a list of the fields of `orders.order_fields`, each required or optional (and
some only at providers of a given dialect), plus where its quantity comes from. From it come
the `/api/v2` parsing, the website's form, the API page's tables, what `add` sends upstream, and
`order_fields_clean`, which turns a customer's raw input (a form or an `/api/v2` request) into
the fields we store and send upstream, or raises OrderInvalid naming the field and the code.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from orders.order_fields import (
    BIGINT_MAX,
    DRIPFEED_FIELDS,
    FIELD_NAMES,
    FIELDS,
    MAX_NUMBER_DIGITS,
    Code,
    FieldKind,
    OrderField,
    OrderInvalid,
)

__all__ = [
    "ORDER_TYPES",
    "SERVICE_FIELD_NAMES",
    "SUBSCRIPTION_HOLD_POSTS",
    "CleanOrder",
    "FieldUse",
    "OrderInvalid",
    "OrderType",
    "QuantityFrom",
    "order_fields_clean",
    "order_type_for",
]

# A subscription without `posts` is unlimited at the provider; the customer pays up front for
# this many posts of `max` (a hold shown on the form and the API page), see README "Subscriptions".
SUBSCRIPTION_HOLD_POSTS = 10
NOT_AVAILABLE = "runs and interval (drip-feed) are not available for this service."


class QuantityFrom(StrEnum):
    PARAM = "quantity"  # the customer's `quantity`
    PACKAGE = "package"  # the service's fixed size: its min (= max)
    COMMENTS = "comments"  # one unit per line of `comments`
    USERNAMES = "usernames"  # one unit per line of `usernames`
    SUBSCRIPTION = "subscription"  # max × posts (+ old posts)


@dataclass(frozen=True)
class FieldUse:
    """A field of an order type; `dialects` limits it to providers of those dialects; `doc` words it for this type."""

    name: str
    required: bool = True
    dialects: tuple[str, ...] | None = None
    doc: str = ""

    @property
    def field(self) -> OrderField:
        return FIELDS[self.name]

    def taken_by(self, dialect: str) -> bool:
        return self.dialects is None or (dialect or "standard") in self.dialects


@dataclass(frozen=True)
class OrderType:
    name: str
    fields: tuple[FieldUse, ...]
    quantity_from: QuantityFrom = QuantityFrom.PARAM
    # At least one of these must be given (seed 003's Special types: a list, suggestions or keywords).
    one_of: tuple[str, ...] = ()

    def uses(self, dialect: str = "standard") -> list[FieldUse]:
        return [use for use in self.fields if use.taken_by(dialect)]

    def names(self, dialect: str = "standard") -> list[str]:
        return [use.name for use in self.uses(dialect)]

    @property
    def bounded_fields(self) -> tuple[str, ...]:
        """The fields the service's min and max bound (errors about them name these fields)."""
        return {
            QuantityFrom.PARAM: ("quantity",),
            QuantityFrom.PACKAGE: (),
            QuantityFrom.COMMENTS: ("comments",),
            QuantityFrom.USERNAMES: ("usernames",),
            QuantityFrom.SUBSCRIPTION: ("min", "max"),
        }[self.quantity_from]

    @property
    def is_package(self) -> bool:
        return self.quantity_from == QuantityFrom.PACKAGE

    @property
    def takes_dripfeed(self) -> bool:
        return "runs" in self.names()


def _type(name: str, *uses: FieldUse | str, quantity_from: QuantityFrom = QuantityFrom.PARAM, one_of=()) -> OrderType:
    fields = tuple(use if isinstance(use, FieldUse) else FieldUse(use) for use in uses)
    return OrderType(name=name, fields=fields, quantity_from=quantity_from, one_of=one_of)


def _optional(name: str, **options) -> FieldUse:
    return FieldUse(name, required=False, **options)


# Seed 002's subscriptions take neither posts nor old_posts.
_POSTS_DIALECTS = ("standard", "003")
_SPECIAL = (
    "link",
    "quantity",
    _optional("list"),
    _optional("suggest"),
    _optional("search"),
)

_TYPES = (
    _type("Default", "link", "quantity", _optional("runs"), _optional("interval")),
    _type("Package", "link", quantity_from=QuantityFrom.PACKAGE),
    _type("Custom Comments", "link", "comments", quantity_from=QuantityFrom.COMMENTS),
    _type("Custom Comments Package", "link", "comments", quantity_from=QuantityFrom.PACKAGE),
    _type("Mentions", "link", "quantity", "usernames"),
    _type("Mentions with Hashtags", "link", "quantity", "usernames", "hashtags"),
    _type("Mentions Custom List", "link", "usernames", quantity_from=QuantityFrom.USERNAMES),
    _type("Mentions Hashtag", "link", "quantity", "hashtag"),
    _type("Mentions User Followers", "link", "quantity", FieldUse("username", doc=_("URL to scrape followers from"))),
    _type("Mentions Media Likers", "link", "quantity", "media"),
    _type("Comment Likes", "link", "quantity", FieldUse("username", doc=_("Username of the comment owner"))),
    _type("Comment Replies", "link", "username", "comments", quantity_from=QuantityFrom.COMMENTS),
    _type("Poll", "link", "quantity", "answer_number"),
    _type(
        "Subscriptions",
        "username",
        "min",
        "max",
        _optional("posts", dialects=_POSTS_DIALECTS),
        _optional("old_posts", dialects=_POSTS_DIALECTS),
        "delay",
        _optional("expiry"),
        quantity_from=QuantityFrom.SUBSCRIPTION,
    ),
    _type("Invites from Groups", "link", "quantity", "groups"),
    _type("Groups", "link", "quantity", "groups"),
    _type("Special (1DG)", *_SPECIAL, one_of=("list", "suggest", "search")),
    _type("Special 1 (1DG)", *_SPECIAL, one_of=("list", "suggest", "search")),
    # Seed 003's products: what the buyer must give (an account, an e-mail) goes in `require`.
    _type("Product", "quantity", _optional("require")),
)
ORDER_TYPES: dict[str, OrderType] = {kind.name.lower(): kind for kind in _TYPES}
DEFAULT = ORDER_TYPES["default"]
PRODUCT = ORDER_TYPES["product"]
# Every parameter some service type takes in `add`, in the declaration's order (the form's too).
SERVICE_FIELD_NAMES: tuple[str, ...] = tuple(
    name
    for name in FIELD_NAMES
    if any(name in kind.names(d) for kind in _TYPES if kind is not PRODUCT for d in ("standard", "002", "003"))
)


def order_type_for(service_type: str) -> OrderType:
    key = re.sub(r"\s+", " ", (service_type or "").strip().lower())
    if key in ORDER_TYPES:
        return ORDER_TYPES[key]
    if key.startswith("special"):  # seed 003 writes "Special (1DG)", "Special 1 (1DG)"; others vary
        return ORDER_TYPES["special (1dg)"]
    return DEFAULT


# Parsing one field by its kind.


def _text(name: str, value: object, *, max_length: int) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise OrderInvalid(f"{name} must be text.", field=name, code=Code.NOT_TEXT)
    value = str(value)
    if any(ch < " " and ch not in "\r\n\t" for ch in value):
        raise OrderInvalid(f"{name} contains control characters.", field=name, code=Code.NOT_TEXT)
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise OrderInvalid(f"{name} must be text.", field=name, code=Code.NOT_TEXT)
    text = value.strip()
    if len(text) > max_length:
        raise OrderInvalid(f"{name} is too long.", field=name, code=Code.TOO_LONG, limit=max_length)
    return text


def _number(name: str, value: object) -> int:
    if isinstance(value, bool):
        raise OrderInvalid(f"{name} must be a whole number.", field=name, code=Code.NOT_NUMBER)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(rf"\s*[0-9]{{1,{MAX_NUMBER_DIGITS}}}\s*", value):
        number = int(value)
    else:
        raise OrderInvalid(f"{name} must be a whole number.", field=name, code=Code.NOT_NUMBER)
    if number < 0:
        raise OrderInvalid(f"{name} must be a whole number.", field=name, code=Code.NOT_NUMBER)
    return number


def _within(spec: OrderField, number: int) -> int:
    """A number inside its field's own bounds (which fit its column)."""
    if not spec.low <= number <= spec.high:
        code = Code.BELOW_MIN if number < spec.low else Code.ABOVE_MAX
        unit = f" {spec.unit}" if spec.unit else ""
        raise OrderInvalid(
            f"{spec.name} must be between {spec.low} and {spec.high}{unit}.",
            field=spec.name,
            code=code,
            limit=spec.low if code == Code.BELOW_MIN else spec.high,
        )
    return number


def _field_value(spec: OrderField, value: object, *, dialect: str) -> object:
    name = spec.name
    if spec.kind == FieldKind.NUMBER:
        return _number(name, value)
    if spec.kind == FieldKind.CHOICE:
        choices = spec.choices_for(dialect)
        number = _number(name, value)
        if number not in choices:
            raise OrderInvalid(
                f"{name} must be one of {', '.join(map(str, choices))}.", field=name, code=Code.BAD_CHOICE
            )
        return number
    if spec.kind == FieldKind.DATE:
        text = _text(name, value, max_length=spec.max_length)
        try:
            day = datetime.strptime(text, "%d/%m/%Y").date()
        except ValueError:
            raise OrderInvalid(
                f"{name} must be a date as d/m/Y, e.g. 31/12/2026.", field=name, code=Code.BAD_DATE
            ) from None
        return day.strftime("%d/%m/%Y")
    if spec.kind == FieldKind.LIST:
        text = _text(name, value, max_length=spec.max_length)
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if not lines:
            raise OrderInvalid(f"{name} must list at least one line.", field=name, code=Code.EMPTY_LIST)
        return "\n".join(lines)
    text = _text(name, value, max_length=spec.max_length)
    if not text:
        raise OrderInvalid(f"Incorrect request: {name} is required.", field=name, code=Code.REQUIRED)
    if spec.kind == FieldKind.LINK and any(ch.isspace() for ch in text):
        raise OrderInvalid(f"{name} must be a single URL or username without spaces.", field=name, code=Code.BAD_LINK)
    return text


@dataclass(frozen=True)
class CleanOrder:
    link: str
    quantity: int
    runs: int | None
    interval: int | None
    # The type's own fields (comments, subscription settings...), sent upstream as they are.
    params: dict
    order_type: OrderType

    @property
    def is_package(self) -> bool:
        return self.order_type.is_package


def _bounded(name: str, number: int, *, low: int, high: int) -> None:
    """The service's own min and max, in the protocol's words."""
    if number < low:
        raise OrderInvalid(f"Quantity less than minimal {low}", field=name, code=Code.BELOW_MIN, limit=low)
    if number > high:
        raise OrderInvalid(f"Quantity more than maximum {high}", field=name, code=Code.ABOVE_MAX, limit=high)


def order_fields_clean(*, service_type: str, data: dict, low: int, high: int, dialect: str = "standard") -> CleanOrder:
    """Validate a customer's order fields for a service of this type, bounded by the service's `low`..`high`.

    `dialect` is the service's provider's: it decides a choice's values and the fields a type takes
    there. Runs and interval are taken by every type that declares them (the provider runs the
    drip-feed where it advertises one, the panel everywhere else).
    """
    kind = order_type_for(service_type)
    dialect = dialect or "standard"
    given = {k: v for k, v in data.items() if v is not None and not (isinstance(v, str) and not v.strip())}
    uses = kind.uses(dialect)
    for use in uses:
        if use.required and use.name not in given:
            raise OrderInvalid(f"Incorrect request: {use.name} is required.", field=use.name, code=Code.REQUIRED)
    if kind.one_of and not any(name in given for name in kind.one_of):
        names = ", ".join(kind.one_of[:-1]) + f" or {kind.one_of[-1]}"
        raise OrderInvalid(f"Incorrect request: {names} is required.", field=kind.one_of[0], code=Code.REQUIRED)

    for use in kind.fields:
        if use.name in given and not use.taken_by(dialect):
            raise OrderInvalid(
                f"{use.name} is not available for this service.", field=use.name, code=Code.NOT_AVAILABLE
            )
    values: dict[str, object] = {}
    for use in uses:
        if use.name in given:
            values[use.name] = _field_value(use.field, given[use.name], dialect=dialect)
    if "suggest" in values:
        _check_links("suggest", str(values["suggest"]))

    quantity = _quantity(kind, values, low=low, high=high)
    runs = interval = None
    if "runs" in given or "interval" in given:
        if not kind.takes_dripfeed:
            raise OrderInvalid(NOT_AVAILABLE, field="runs", code=Code.NOT_AVAILABLE)
        for name in DRIPFEED_FIELDS:
            if name not in values:
                raise OrderInvalid(f"Incorrect request: {name} is required.", field=name, code=Code.REQUIRED)
        runs, interval = _within(FIELDS["runs"], values["runs"]), _within(FIELDS["interval"], values["interval"])
    for name, value in values.items():
        spec = FIELDS[name]
        if spec.kind == FieldKind.NUMBER and name not in ("quantity", "runs", "interval", "min", "max"):
            _within(spec, value)
    params = {name: value for name, value in values.items() if name not in ("link", "quantity", *DRIPFEED_FIELDS)}
    return CleanOrder(
        link=str(values.get("link", "")),
        quantity=quantity,
        runs=runs,
        interval=interval,
        params=params,
        order_type=kind,
    )


def _check_links(name: str, lines: str) -> None:
    """Seed 003: `suggest` is a list of videos, each one link."""
    for line in lines.splitlines():
        if any(ch.isspace() for ch in line):
            raise OrderInvalid(f"{name} must list one video link per line.", field=name, code=Code.BAD_LINK)


def _quantity(kind: OrderType, values: dict, *, low: int, high: int) -> int:
    """The units an order buys, checked against the service's min and max where the customer chooses them."""
    source = kind.quantity_from
    if source == QuantityFrom.PACKAGE:
        # A package is bought whole: it delivers the service's size (min = max), never a customer's quantity.
        return max(low, 1)
    if source == QuantityFrom.SUBSCRIPTION:
        per_post_low, per_post_high = values["min"], values["max"]
        _bounded("min", per_post_low, low=low, high=high)
        _bounded("max", per_post_high, low=low, high=high)
        if per_post_low > per_post_high:
            raise OrderInvalid("min must not be more than max.", field="min", code=Code.MIN_ABOVE_MAX)
        posts = _within(FIELDS["posts"], values["posts"]) if "posts" in values else SUBSCRIPTION_HOLD_POSTS
        old_posts = _within(FIELDS["old_posts"], values.get("old_posts", 0))
        quantity = max(per_post_high, 1) * (posts + old_posts)
        if quantity > BIGINT_MAX:
            raise OrderInvalid(
                f"Quantity more than maximum {high}", field="posts", code=Code.ABOVE_MAX, limit=FIELDS["posts"].high
            )
        return quantity
    if source in (QuantityFrom.COMMENTS, QuantityFrom.USERNAMES):
        quantity = len(str(values[source.value]).splitlines())
        _bounded(source.value, quantity, low=low, high=high)
        return quantity
    quantity = values["quantity"]
    _bounded("quantity", quantity, low=max(low, 1), high=high)
    return quantity
