"""Every order field, declared once.

A field has a name (the protocol's parameter), a kind (link, number, text, list, date or
choice), the words the website and the API page show, and bounds that also fit the column it
ends in. `orders.order_types` lists which fields each service type takes; from these two
declarations come the `/api/v2` parsing, the website's form fields and widgets, the API page's
parameter tables and the validation itself (`orders.order_types.order_fields_clean`).

A refusal is an `OrderInvalid` carrying the field at fault and a code (`required`,
`below_min`, `above_max`, ...): its message keeps the protocol's words for `/api/v2`, and the
website places it on its field by `field` and words it by `code`, without reading the message.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.errors import PanelError

# The columns the numbers end in: Order.quantity is a PositiveBigIntegerField, runs and
# interval PositiveIntegerFields; the type's own numbers are kept in Order.params (JSON) and
# sent upstream, where a PHP panel reads them as 64-bit integers.
BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1
# Digits a number may be written with before it is refused as not a number: far past any
# bound below, short enough that int() stays cheap on hostile input.
MAX_NUMBER_DIGITS = 30


class FieldKind(StrEnum):
    LINK = "link"
    NUMBER = "number"
    TEXT = "text"
    LIST = "list"
    DATE = "date"
    CHOICE = "choice"


class Code(StrEnum):
    """Why an order was refused; the website words each code, `/api/v2` keeps the message."""

    REQUIRED = "required"
    BELOW_MIN = "below_min"
    ABOVE_MAX = "above_max"
    NOT_NUMBER = "not_number"
    NOT_TEXT = "not_text"
    TOO_LONG = "too_long"
    BAD_LINK = "bad_link"
    BAD_DATE = "bad_date"
    BAD_CHOICE = "bad_choice"
    EMPTY_LIST = "empty_list"
    MIN_ABOVE_MAX = "min_above_max"
    NOT_AVAILABLE = "not_available"
    UNKNOWN_SERVICE = "unknown_service"
    OUT_OF_STOCK = "out_of_stock"
    ACTIVE_LINK = "active_link"
    INVALID = "invalid"


class OrderInvalid(PanelError):
    """An order refused before anything is written: `message` in the protocol's words, `field`
    the parameter at fault (None when no single one is), `code` why, `limit` the bound it broke."""

    default_message = "Incorrect request"

    def __init__(
        self, message: str | None = None, *, field: str | None = None, code: str = Code.INVALID, limit=None
    ) -> None:
        super().__init__(message)
        self.field = field
        self.code = Code(code)
        self.limit = limit


@dataclass(frozen=True)
class OrderField:
    """One order parameter. `low`/`high` bound a number (and are the column's bounds at most);
    `max_length` bounds text; `choices` are a choice's values per provider dialect."""

    name: str
    kind: FieldKind
    label: str  # the words are translated when shown (gettext_lazy)
    help: str = ""
    doc: str = ""
    low: int = 0
    high: int = BIGINT_MAX
    max_length: int = 500
    choices: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    unit: str = ""

    def choices_for(self, dialect: str) -> tuple[int, ...]:
        return self.choices.get(dialect or "standard", self.choices.get("standard", ()))

    def all_choices(self) -> tuple[int, ...]:
        return tuple(sorted({value for values in self.choices.values() for value in values}))


# Subscription delays, as each dialect's documentation lists them. Seeds 000 and 001 (standard)
# list the first; seed 004, also standard, adds 20, 40 and 50, which 000 and 001 refuse, so the
# standard dialect keeps the list every standard provider accepts. Seed 002 stops at 90.
# Seed 003 documents no subscriptions; its dialect is otherwise the standard one.
STANDARD_DELAYS = (0, 5, 10, 15, 30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 360, 420, 480, 540, 600)
DELAYS_BY_DIALECT: Mapping[str, tuple[int, ...]] = MappingProxyType(
    {"standard": STANDARD_DELAYS, "002": (0, 5, 10, 15, 30, 60, 90), "003": STANDARD_DELAYS}
)
MAX_LIST_TEXT = 100_000
MAX_RUNS = 1000
MAX_INTERVAL_MINUTES = 60 * 24 * 30
MAX_POSTS = 100_000

_FIELDS = (
    OrderField(
        "link",
        FieldKind.LINK,
        _("Link"),
        _("The page, post or profile to deliver to."),
        _("Link to page"),
        max_length=2000,  # Order.link
    ),
    OrderField("quantity", FieldKind.NUMBER, _("Quantity"), "", _("Needed quantity"), low=1),
    OrderField(
        "runs",
        FieldKind.NUMBER,
        _("Runs"),
        format_lazy(_("How many times the quantity is delivered (2 to {runs})."), runs=MAX_RUNS),
        _("Runs to deliver"),
        low=2,
        high=MAX_RUNS,
    ),
    OrderField(
        "interval",
        FieldKind.NUMBER,
        _("Interval"),
        _("Minutes between runs."),
        _("Interval in minutes"),
        low=1,
        high=MAX_INTERVAL_MINUTES,
        unit="minutes",
    ),
    OrderField(
        "username",
        FieldKind.TEXT,
        _("Username"),
        _("The account the service asks for: see its description."),
        _("Username"),
    ),
    OrderField(
        "comments",
        FieldKind.LIST,
        _("Comments"),
        _("One comment per line; each line is one unit."),
        _("Comments list separated by \\r\\n or \\n"),
        max_length=MAX_LIST_TEXT,
    ),
    OrderField(
        "usernames",
        FieldKind.LIST,
        _("Usernames"),
        _("One username per line."),
        _("Usernames list separated by \\r\\n or \\n"),
        max_length=MAX_LIST_TEXT,
    ),
    OrderField(
        "hashtags",
        FieldKind.LIST,
        _("Hashtags"),
        _("One hashtag per line."),
        _("Hashtags list separated by \\r\\n or \\n"),
        max_length=MAX_LIST_TEXT,
    ),
    OrderField(
        "hashtag",
        FieldKind.TEXT,
        _("Hashtag"),
        _("The hashtag to take usernames from."),
        _("Hashtag to scrape usernames from"),
    ),
    OrderField(
        "media",
        FieldKind.TEXT,
        _("Media link"),
        _("The post whose likers are mentioned."),
        _("Media URL to scrape likers from"),
    ),
    OrderField(
        "answer_number",
        FieldKind.NUMBER,
        _("Answer number"),
        _("The number of the poll answer to vote for."),
        _("Answer number of the poll"),
        low=1,
        high=1000,
    ),
    OrderField(
        "groups",
        FieldKind.LIST,
        _("Groups"),
        _("One group per line."),
        _("Groups list separated by \\r\\n or \\n"),
        max_length=MAX_LIST_TEXT,
    ),
    OrderField(
        "list",
        FieldKind.LIST,
        _("List"),
        _("Suggested videos or search keywords, one per line."),
        _("Suggest video list or Keyword search list"),
        max_length=MAX_LIST_TEXT,
    ),
    OrderField(
        "suggest",
        FieldKind.LIST,
        _("Suggested videos"),
        _("One video link per line."),
        _("Suggest video list"),
        max_length=MAX_LIST_TEXT,
    ),
    OrderField(
        "search",
        FieldKind.LIST,
        _("Search keywords"),
        _("One keyword per line."),
        _("Keyword search list"),
        max_length=MAX_LIST_TEXT,
    ),
    OrderField(
        "min", FieldKind.NUMBER, _("Minimum per post"), _("The least to deliver to each new post."), _("Quantity min")
    ),
    OrderField(
        "max", FieldKind.NUMBER, _("Maximum per post"), _("The most to deliver to each new post."), _("Quantity max")
    ),
    OrderField(
        "posts",
        FieldKind.NUMBER,
        _("New posts"),
        _("How many future posts to deliver to; empty for unlimited."),
        _(
            "Use this parameter if you want to limit the number of new (future) posts that will be parsed and for "
            "which orders will be created. If posts parameter is not set, the subscription will be created for an "
            "unlimited number of posts."
        ),
        low=1,
        high=MAX_POSTS,
    ),
    OrderField(
        "old_posts",
        FieldKind.NUMBER,
        _("Existing posts"),
        _("How many existing posts to deliver to (optional)."),
        _(
            "Number of existing posts that will be parsed and for which orders will be created, can be used if this "
            "option is available for the service."
        ),
        low=0,
        high=MAX_POSTS,
    ),
    OrderField(
        "delay",
        FieldKind.CHOICE,
        _("Delay"),
        _("Minutes to wait after each new post."),
        _("Delay in minutes"),
        choices=DELAYS_BY_DIALECT,
        unit="minutes",
    ),
    OrderField(
        "expiry",
        FieldKind.DATE,
        _("Expiry date"),
        _("Optional, as day/month/year, e.g. 31/12/2026."),
        _("Expiry date. Format d/m/Y"),
    ),
    OrderField(
        "require",
        FieldKind.TEXT,
        _("Your details"),
        _("What the product asks you for: see its description."),
        _("Infomation need to process"),
    ),
)
FIELDS: Mapping[str, OrderField] = MappingProxyType({f.name: f for f in _FIELDS})
# Every order parameter `/api/v2` reads for `add`, in the order the website's form shows them.
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in _FIELDS)
DRIPFEED_FIELDS = ("runs", "interval")
