"""The simulated provider's catalog: services and products, generated deterministically from a seed.

Everything here is immutable; the same seed gives the same catalog on every run and machine
(`random.Random` with a str seed hashes it with SHA-512, independent of PYTHONHASHSEED).
"""

import math
import random
from dataclasses import dataclass
from decimal import Decimal

# The seeds' lists of allowed subscription delays, in minutes: seeds 000 and 001 (the standard
# dialect; seed 004 adds 20, 40 and 50), and seed 002, which stops at 90.
SUBSCRIPTION_DELAYS = frozenset((0, 5, 10, 15, 30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 360, 420, 480, 540, 600))
SUBSCRIPTION_DELAYS_002 = frozenset((0, 5, 10, 15, 30, 60, 90))


@dataclass(frozen=True)
class ServiceType:
    """What `add` needs for a service type (the seeds' parameter tables).

    `quantity` says where the ordered quantity comes from: the `quantity` parameter, the number of
    `comments` or `usernames` lines, the service's fixed size (`min`, packages) or the subscription's `max`.
    """

    name: str
    quantity: str = "param"
    needs_link: bool = True
    required: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()  # at least one of these (seed 003's Special types)


SERVICE_TYPES: dict[str, ServiceType] = {
    t.name: t
    for t in (
        ServiceType("Default"),
        ServiceType("Package", quantity="fixed"),
        ServiceType("Custom Comments", quantity="comments"),
        ServiceType("Mentions with Hashtags", required=("usernames", "hashtags")),
        ServiceType("Subscriptions", quantity="subscription", needs_link=False, required=("username",)),
        ServiceType("Poll", required=("answer_number",)),
        ServiceType("Comment Likes", required=("username",)),
        ServiceType("Custom Comments Package", quantity="fixed", required=("comments",)),
        ServiceType("Mentions Custom List", quantity="usernames"),
        ServiceType("Mentions Hashtag", required=("hashtag",)),
        ServiceType("Mentions User Followers", required=("username",)),
        ServiceType("Mentions Media Likers", required=("media",)),
        ServiceType("Comment Replies", quantity="comments", required=("username",)),
        ServiceType("Invites from Groups", required=("groups",)),
        ServiceType("Special (1DG)", one_of=("list", "suggest", "search")),
        ServiceType("Special 1 (1DG)", one_of=("list", "suggest", "search")),
    )
}


@dataclass(frozen=True)
class Service:
    id: int
    name: str
    type: str
    category: str
    rate: Decimal
    min: int
    max: int
    refill: bool
    cancel: bool
    dripfeed: bool
    desc: str

    @property
    def kind(self) -> ServiceType:
        return SERVICE_TYPES[self.type]


@dataclass(frozen=True)
class Product:
    """A seed-003 product: sold per unit (rate × quantity), not per 1,000."""

    id: int
    name: str
    category: str
    rate: Decimal
    min: int
    max: int
    type: str
    require: str | None
    inventory: int | None


_PLATFORMS = ("Instagram", "TikTok", "YouTube", "Telegram", "Twitter", "Facebook", "Spotify", "Threads")
_DEFAULT_KINDS = ("Followers", "Likes", "Views", "Story Views", "Shares", "Saves", "Plays", "Members", "Reactions")
_TYPE_KINDS = {
    "Package": "Likes Package",
    "Custom Comments": "Custom Comments",
    "Mentions with Hashtags": "Mentions",
    "Subscriptions": "Auto Likes",
    "Poll": "Poll Votes",
    "Comment Likes": "Comment Likes",
    "Custom Comments Package": "Comments Package",
    "Mentions Custom List": "Mentions",
    "Mentions Hashtag": "Mentions",
    "Mentions User Followers": "Mentions",
    "Mentions Media Likers": "Mentions",
    "Comment Replies": "Comment Replies",
    "Invites from Groups": "Group Invites",
    "Special (1DG)": "Suggested Views",
    "Special 1 (1DG)": "Search Views",
}
_QUALITIES = (
    "Real",
    "HQ",
    "Mixed",
    "Bots",
    "Premium",
    "Targeted USA",
    "Instant",
    "Non Drop",
    "Arab",
    "Indian Majority",
)
_SPEEDS = ("1K/Day", "5K/Day", "10K/Day", "30-40K/Day", "100K/Day", "Instant")


def _rate(rng: random.Random) -> Decimal:
    """A rate per 1,000 between 0.01 and 30, spread evenly on a log scale, written as panels do:
    "0.90", "8", "1.2", "0.0125" (the digits kept as given, trailing zeros included)."""
    places = rng.choice((0, 1, 2, 2, 2, 3, 4))
    low, high = max(1, 10 ** (places - 2)), 30 * 10**places
    units = int(math.exp(rng.uniform(math.log(low), math.log(high))))
    return Decimal(max(units, low)).scaleb(-places)


def _bounds(rng: random.Random, service_type: str) -> tuple[int, int]:
    if service_type in ("Package", "Custom Comments Package"):
        size = rng.choice((100, 250, 500, 1000))
        return size, size
    if service_type in ("Custom Comments", "Comment Replies", "Mentions Custom List"):
        return rng.choice((1, 5, 10)), rng.choice((500, 1000, 1500))
    low = rng.choice((10, 20, 50, 100, 100, 200, 500, 1000))
    high = rng.choice((1000, 5000, 10000, 10000, 50000, 100000, 300000, 1000000))
    return low, max(high, low * 10)


# The first services, as in the seeds' examples (service 1 a refillable, cancellable Default; service 2
# Custom Comments), then a Default with no options and one of every other type with their flags drawn.
_OPENING: tuple[tuple[str, tuple[bool, bool, bool] | None], ...] = (
    ("Default", (True, True, True)),
    ("Custom Comments", (False, True, False)),
    ("Default", (False, False, False)),
    *((name, None) for name in SERVICE_TYPES if name not in ("Default", "Custom Comments")),
)


def services_generate(*, seed: int, count: int) -> tuple[Service, ...]:
    """`count` services; the first ones cover every type so that even a short list exercises all of them.

    Ids then grow with gaps, as on a real panel whose operator deleted services: clients must not assume 1..N.
    """
    rng = random.Random(f"{seed}:services")
    type_names = list(SERVICE_TYPES)
    services = []
    service_id = 0
    for index in range(count):
        service_id += 1 if index < len(_OPENING) else rng.choice((1, 1, 1, 2, 3, 7))
        if index < len(_OPENING):
            service_type, flags = _OPENING[index]
        else:
            service_type = rng.choice(("Default",) * 12 + tuple(type_names))
            flags = None
        platform = rng.choice(_PLATFORMS)
        kind = _TYPE_KINDS.get(service_type) or rng.choice(_DEFAULT_KINDS)
        low, high = _bounds(rng, service_type)
        refill = service_type != "Subscriptions" and rng.random() < 0.45
        cancel = service_type != "Subscriptions" and rng.random() < 0.5
        dripfeed = service_type == "Default" and rng.random() < 0.5
        if flags is not None:
            refill, cancel, dripfeed = flags
        quality = rng.choice(_QUALITIES)
        speed = rng.choice(_SPEEDS)
        name = f"{platform} {kind} [{quality}] [Max {high:,}] [{speed}]"
        if refill:
            name += f" [{rng.choice((30, 60, 365))} Days Refill]"
        if rng.random() < 0.1:
            name += " \u2b50"
        category = f"{platform} - {kind}" + (" [Guaranteed/Refill]" if refill else "")
        desc = (
            f"Start: {rng.choice(('0-1 hour', '0-6 hours', 'Instant'))}\n"
            f"Speed: {speed}\nRefill: {'yes' if refill else 'no'}\nLink: {platform.lower()} profile or post"
        )
        services.append(
            Service(
                id=service_id,
                name=name,
                type=service_type,
                category=category,
                rate=_rate(rng),
                min=low,
                max=high,
                refill=refill,
                cancel=cancel,
                dripfeed=dripfeed,
                desc=desc,
            )
        )
    return tuple(services)


_PRODUCT_TEMPLATES = (
    ("Netflix premium 1 month", "Netflix", "Auto", "Input your account"),
    ("Youtube premium 1 month", "Youtube", "Auto", "Input your account"),
    ("Facebook account 5000 friends", "Facebook", "Service", None),
    ("Spotify premium 3 months", "Spotify", "Auto", "Input your email"),
    ("Canva Pro 1 year", "Canva", "Auto", None),
    ("Instagram verified account setup", "Instagram", "Service", "Input your username"),
)


def products_generate(*, seed: int, count: int) -> tuple[Product, ...]:
    """Seed 003's products: some auto-delivered with an inventory (one out of stock), some done by hand."""
    rng = random.Random(f"{seed}:products")
    products = []
    for index in range(count):
        name, category, product_type, require = _PRODUCT_TEMPLATES[index % len(_PRODUCT_TEMPLATES)]
        if index >= len(_PRODUCT_TEMPLATES):
            name = f"{name} #{index // len(_PRODUCT_TEMPLATES) + 1}"
        inventory = None
        if product_type == "Auto":
            inventory = 0 if index == 1 else rng.choice((5, 12, 40, 100))
        products.append(
            Product(
                id=index + 1,
                name=name,
                category=category,
                rate=Decimal(rng.choice((5, 10, 25, 50, 75, 120))).scaleb(-1),
                min=1,
                max=rng.choice((1, 2, 5, 10)),
                type=product_type,
                require=require,
                inventory=inventory,
            )
        )
    return tuple(products)
