"""The demo's data: logins, simulated providers and a customer's history that show every feature of the panel.

`manage.py demo_setup` calls `demo_load`; `manage.py run_demo` serves the simulators described here. Loading is
idempotent: each part looks for what it made before and makes only what is missing, so `make run` can run again on
the same database. Everything goes through the services a person's clicks would call (orders charged and refunded
through the ledger, statuses moved by the one transition function, deposits credited with their commission), with
two exceptions said where they happen: the earlier orders' timestamps, and what the provider reported for them.
"""

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import Group
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from billing.gateways import gateway_for, test_gateway_enabled
from billing.gateways.test import TestGateway
from billing.models import AffiliateAccount, FundsRequest, PaymentMethod
from billing.services import (
    affiliate_account_get,
    affiliate_referrer_set,
    deposit_notification_receive,
    deposit_start,
    funds_request_approve,
    funds_request_create,
)
from orders.models import Order, OrderEvent, Refill, Service, ServiceAlternative
from orders.services.alerts import alerts_refresh
from orders.services.catalog import service_operator_edit, services_completion_update, services_sync
from orders.services.customer_prices import customer_discount_set, customer_rate_set
from orders.services.ordering import order_create
from orders.services.transitions import UPSTREAM_ACTIVE, Move, order_transition, orders_transition
from panel.languages import account_language_set
from panel.models import DisplayCurrency, User
from panel.services import api_key_rotate, customer_create, favourite_set
from providers.models import Provider, ProviderService
from providers.services import provider_create
from providers.simulator import SimulatedProvider, SimulatorServer
from providers.simulator.state import FIRST_ORDER_ID, FIRST_PRODUCT_ORDER_ID, FIRST_REFILL_ID
from support.models import Announcement, Ticket
from support.services import ticket_open, ticket_staff_reply

S = Order.Status

DEMO_SIMULATOR_KEY = "sim-key"
DEMO_PROVIDER_PORT = 8001
# How long a simulated order stays in each stage when the demo runs: an order is final in about a minute and a
# half, a few polls (every 10 seconds) after it was placed.
DEMO_STAGE_SECONDS = 20.0
DEMO_MARKUP_PERCENT = Decimal("30")
# The event actor of the orders that finished before the demo starts (see demo_history).
HISTORY_ACTOR = "demo history"
RESTART_ACTOR = "run_demo"
FORGOTTEN = "The simulated provider forgot this order when the demo stopped: cancelled and refunded."


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    email: str
    role: str


ADMIN = DemoLogin("admin", "admin", "admin@example.com", "superuser")
SUPPORT = DemoLogin("support", "support-password", "support@example.com", 'staff, group "Support"')
FINANCE = DemoLogin("finance", "finance-password", "finance@example.com", 'staff, group "Finance"')
SUPERVISOR = DemoLogin("supervisor", "supervisor-password", "supervisor@example.com", 'staff, group "Supervisors"')
CUSTOMER = DemoLogin("demo", "demo-password", "demo@example.com", "customer")
PARTNER = DemoLogin("partner", "partner-password", "partner@example.com", "customer, referred demo")
DEMO_LOGINS = (ADMIN, SUPPORT, FINANCE, SUPERVISOR, CUSTOMER, PARTNER)
STAFF_GROUPS = {SUPPORT.username: "Support", FINANCE.username: "Finance", SUPERVISOR.username: "Supervisors"}
DEMO_BALANCE = Decimal("100")
# The partner's own commission percent (the panel's default is AFFILIATE_COMMISSION_PERCENT): 10% of demo's two
# deposits (50 and 100) reaches the minimum payout, so the partner can move it or ask for it.
PARTNER_COMMISSION_PERCENT = Decimal("10")
# The partner reads the panel in this language (see demo_language_set) and its prices also in euros.
PARTNER_LANGUAGE = "es"
DISPLAY_CURRENCY = ("EUR", Decimal("0.92"))
# Demo's own prices: a discount on everything, and a fixed rate for the package.
DEMO_DISCOUNT_PERCENT = Decimal("5")
DEMO_PACKAGE_RATE = Decimal("11")


@dataclass(frozen=True)
class DemoProvider:
    """A simulated provider of the demo: `run_demo` serves it on the provider port + `port_offset`."""

    name: str
    dialect: str
    seed: int
    port_offset: int
    balance: Decimal
    low_balance_alert: Decimal = Decimal("10")

    def simulator(self, *, stage_seconds: float = DEMO_STAGE_SECONDS, **first_ids: int) -> SimulatedProvider:
        """`first_ids`: where its order, refill and product order ids start (demo_simulator_first_ids)."""
        return SimulatedProvider(
            dialect=self.dialect,
            key=DEMO_SIMULATOR_KEY,
            seed=self.seed,
            balance=self.balance,
            stage_seconds=stage_seconds,
            **first_ids,
        )


# The main provider speaks the standard dialect; the shop, seed 003's, sells products (one out of stock) and
# stands in for a service of the main one (failover). Its balance is below its alert threshold: an operator alert.
MAIN = DemoProvider("Demo provider (simulated)", "standard", seed=10, port_offset=0, balance=Decimal("1000"))
SHOP = DemoProvider(
    "Demo shop (simulated, products)",
    "003",
    seed=11,
    port_offset=1,
    balance=Decimal("40"),
    low_balance_alert=Decimal("50"),
)
DEMO_PROVIDERS = (MAIN, SHOP)

# The simulators' services (same seed, same catalog) the demo uses, by their ids upstream.
CHEAP_DEFAULT = "1"  # refill 30 days, cancel; its provider takes drip-feed when asked: an operator ticked it
PLAIN_DEFAULT = "3"  # no refill, no drip-feed: the panel runs drip-feeds itself; it has the finished orders
PACKAGE = "18"
SUBSCRIPTION = "6"
SHOP_DEFAULT = "19"  # the failover alternative of PLAIN_DEFAULT
PRODUCT_OUT_OF_STOCK = "2"
PRODUCT_AUTO = "4"  # Spotify premium, asks for an e-mail, delivered at once
PRODUCT_BY_HAND = "3"  # Facebook account, done by the provider's staff

DESCRIPTIONS = {
    CHEAP_DEFAULT: "Real-looking shares from Telegram accounts.\n\n- Start: within an hour\n- Speed: up to 1,000 a "
    "day\n- Refill: 30 days\n\nGive a public post's link.",
    PLAIN_DEFAULT: "Shares for Threads posts, no refill.\n\n- Start: 0-6 hours\n- Drip-feed: runs and interval spread "
    "the order over time.",
}

FIRST_LIVE_LINK = "https://t.me/demo_channel/1"
REVIEW_LINK = "https://t.me/demo_channel/review"


@dataclass
class DemoReport:
    api_key: str
    logins: list[DemoLogin]
    lines: list[str] = field(default_factory=list)


@contextmanager
def demo_simulators(*, providers=DEMO_PROVIDERS) -> Iterator[dict[str, str]]:
    """Serve short-lived copies of the demo's simulators on free ports: {provider name: URL}."""
    with ExitStack() as stack:
        urls = {}
        for spec in providers:
            server = stack.enter_context(SimulatorServer(spec.simulator(), port=0))
            urls[spec.name] = server.url
        yield urls


def demo_load(*, provider_port: int = DEMO_PROVIDER_PORT) -> DemoReport:
    """Load (or complete) the demo data and return the customer's fresh API key, the logins and a summary."""
    admin, support, finance = demo_staff()
    partner = _customer(PARTNER)
    customer, key = demo_customer()
    providers = demo_providers(provider_port=provider_port)
    report = DemoReport(api_key=key, logins=list(DEMO_LOGINS))
    report.lines += demo_catalog(providers=providers)
    report.lines += demo_prices(customer=customer, partner=partner, providers=providers)
    report.lines += demo_affiliate(customer=customer, partner=partner)
    report.lines += demo_deposits(customer=customer, finance=finance)
    report.lines += demo_history(customer=customer, providers=providers)
    report.lines += demo_live_orders(customer=customer, providers=providers)
    report.lines += demo_support(customer=customer, support=support, admin=admin)
    report.lines += demo_favourites(customer=customer, providers=providers)
    report.lines += demo_alerts()
    report.lines += demo_language_set(user=partner, language=PARTNER_LANGUAGE)
    return report


# People


def demo_staff() -> tuple[User, User, User]:
    """The superuser, and one staff member in each group the panel ships (made by panel's migrations): returns the
    superuser, the support and the finance member."""
    admin = User.objects.filter(username=ADMIN.username).first()
    if admin is None:
        admin, _ = customer_create(username=ADMIN.username, email=ADMIN.email, password=ADMIN.password, is_staff=True)
    staff = []
    for login in (SUPPORT, FINANCE, SUPERVISOR):
        user = User.objects.filter(username=login.username).first()
        if user is None:
            user = User.objects.create_user(
                username=login.username, email=login.email, password=login.password, is_staff=True
            )
        user.groups.add(Group.objects.get(name=STAFF_GROUPS[login.username]))
        staff.append(user)
    return admin, staff[0], staff[1]


def _customer(login: DemoLogin, *, balance: Decimal = Decimal("0")) -> User:
    user = User.objects.filter(username=login.username).first()
    if user is None:
        user, _ = customer_create(username=login.username, email=login.email, password=login.password, balance=balance)
    return user


def demo_customer() -> tuple[User, str]:
    """The demo customer and a fresh API key: only a hash is stored, so a new key is the only way to show one."""
    customer = _customer(CUSTOMER, balance=DEMO_BALANCE)
    return customer, api_key_rotate(user=customer)


# Providers and catalog


def demo_providers(*, provider_port: int) -> dict[str, Provider]:
    """Add the simulators as providers and sync their catalogs, from short-lived copies of them (same seeds, same
    services) served here; then point each at the port `run_demo` serves it on."""
    missing = [spec for spec in DEMO_PROVIDERS if not Provider.objects.filter(name=spec.name).exists()]
    if missing:
        with demo_simulators(providers=missing) as urls:
            for spec in missing:
                provider = provider_create(
                    name=spec.name,
                    api_url=urls[spec.name],
                    api_key=DEMO_SIMULATOR_KEY,
                    markup_percent=DEMO_MARKUP_PERCENT,
                )
                Provider.objects.filter(pk=provider.pk).update(low_balance_alert=spec.low_balance_alert)
                services_sync(provider_id=provider.pk)
    providers = {}
    for spec in DEMO_PROVIDERS:
        Provider.objects.filter(name=spec.name).update(
            api_url=f"http://127.0.0.1:{provider_port + spec.port_offset}/api/v2"
        )
        providers[spec.name] = Provider.objects.get(name=spec.name)
    return providers


def _service(provider: Provider, upstream_id: str, kind: str = Service.Kind.SERVICE) -> Service:
    return Service.objects.select_related("provider_service").get(
        provider=provider, kind=kind, provider_service__service_id=upstream_id
    )


def demo_catalog(*, providers: dict[str, Provider]) -> list[str]:
    """An operator's touches: descriptions, a drip-feed flag the provider does not advertise, a failover alternative."""
    main, shop = providers[MAIN.name], providers[SHOP.name]
    for upstream_id, text in DESCRIPTIONS.items():
        service = _service(main, upstream_id)
        if not service.description_edited:
            service.description = text
            service_operator_edit(service=service, changed={"description"})
    dripfeed = _service(main, CHEAP_DEFAULT)
    if not dripfeed.dripfeed_edited:
        dripfeed.dripfeed = True
        service_operator_edit(service=dripfeed, changed={"dripfeed"})
    plain = _service(main, PLAIN_DEFAULT)
    alternative = ProviderService.objects.get(provider=shop, kind=ProviderService.Kind.SERVICE, service_id=SHOP_DEFAULT)
    ServiceAlternative.objects.get_or_create(service=plain, provider_service=alternative, defaults={"position": 1})
    out_of_stock = _service(shop, PRODUCT_OUT_OF_STOCK, Service.Kind.PRODUCT)
    return [
        f"Catalog: {Service.objects.filter(kind=Service.Kind.SERVICE).count()} services and "
        f"{Service.objects.filter(kind=Service.Kind.PRODUCT).count()} products from {len(providers)} simulated "
        f"providers; {out_of_stock.name!r} is out of stock.",
        f"Service {dripfeed.pk} takes drip-feed at its provider; service {plain.pk}'s drip-feeds are run by the panel "
        f"and its orders fail over to {shop.name}.",
    ]


# Money


def demo_prices(*, customer: User, partner: User, providers: dict[str, Provider]) -> list[str]:
    """Demo's own prices (an operator's discount and one custom rate) and a display currency the partner reads."""
    customer_discount_set(user_id=customer.pk, percent=DEMO_DISCOUNT_PERCENT, note="Demo: a loyal customer")
    package = _service(providers[MAIN.name], PACKAGE)
    customer_rate_set(user_id=customer.pk, service_id=package.pk, rate=DEMO_PACKAGE_RATE, note="Demo: agreed price")
    code, rate = DISPLAY_CURRENCY
    currency, _ = DisplayCurrency.objects.get_or_create(code=code, defaults={"rate": rate})
    User.objects.filter(pk=partner.pk, display_currency__isnull=True).update(display_currency=currency)
    return [
        f"Prices: {customer.username} has {DEMO_DISCOUNT_PERCENT}% off and {DEMO_PACKAGE_RATE} per 1,000 for "
        f"service {package.pk}; {partner.username} also reads prices in {code}."
    ]


def demo_affiliate(*, customer: User, partner: User) -> list[str]:
    """The partner referred the demo customer (as if demo had signed up through the partner's referral link)."""
    referrer = affiliate_account_get(user_id=partner.pk)
    AffiliateAccount.objects.filter(pk=referrer.pk).update(commission_percent=PARTNER_COMMISSION_PERCENT)
    account = affiliate_account_get(user_id=customer.pk)
    if account.referred_by_id is None:
        # A referrer must have joined before the customer; on a database made by an older demo, demo came first.
        if partner.date_joined >= customer.date_joined:
            User.objects.filter(pk=partner.pk).update(date_joined=customer.date_joined - timedelta(days=1))
        affiliate_referrer_set(user_id=customer.pk, code=referrer.code)
    return [f"Affiliates: {partner.username} referred {customer.username} ({PARTNER_COMMISSION_PERCENT}% commission)."]


def _payment_methods() -> tuple[PaymentMethod | None, PaymentMethod]:
    test = None
    if test_gateway_enabled():
        test = PaymentMethod.objects.filter(gateway=TestGateway.code).first()
        if test is None:
            test = PaymentMethod.objects.create(
                name="Test card (no real money)", gateway=TestGateway.code, sort_order=1
            )
    bank = PaymentMethod.objects.filter(gateway="", name="Bank transfer").first()
    if bank is None:
        bank = PaymentMethod.objects.create(
            name="Bank transfer",
            instructions="IBAN XX00 DEMO 0000 0000, reference: your username. An operator approves it.",
            min_amount=Decimal("10"),
            sort_order=2,
        )
    return test, bank


def demo_deposits(*, customer: User, finance: User) -> list[str]:
    """A deposit paid through the test gateway (only where it exists: DEBUG or PAYMENTS_TEST_GATEWAY), a bank
    transfer Finance approved, and one waiting for Finance."""
    test, bank = _payment_methods()
    lines = []
    if test is not None:
        if not FundsRequest.objects.filter(user=customer, method=test).exists():
            deposit = funds_request_create(user_id=customer.pk, method_id=test.pk, amount=Decimal("50"))
            deposit_start(
                deposit_id=deposit.pk,
                notify_url=reverse("payment_webhook", args=[TestGateway.code]),
                back_url=reverse("deposit_detail", args=[deposit.pk]),
            )
            deposit.refresh_from_db()
            # What the test gateway's "Pay" button does: a notification signed by the server, verified as any.
            notification = gateway_for(TestGateway.code).notification_for(
                reference=deposit.reference, amount=deposit.amount
            )
            deposit_notification_receive(gateway_code=TestGateway.code, notification=notification)
        lines.append("Deposits: 50 paid through the test gateway.")
    if not FundsRequest.objects.filter(user=customer, method=bank).exists():
        approved = funds_request_create(
            user_id=customer.pk, method_id=bank.pk, amount=Decimal("100"), note="Transfer DEMO-001"
        )
        funds_request_approve(funds_request_id=approved.pk, staff_id=finance.pk)
        funds_request_create(user_id=customer.pk, method_id=bank.pk, amount=Decimal("25"), note="Transfer DEMO-002")
    lines.append("Deposits: a bank transfer of 100 approved by finance, one of 25 waiting for Finance.")
    return lines


# Orders


def _history_order(
    *, customer: User, service: Service, data: dict, upstream_id: str, minutes: int, hours_ago: int, **final
) -> Order:
    """An order that finished before the demo: charged by order_create, moved by the transition function as the
    provider reported, refunded by it (partial, canceled).

    The simulator's stages last seconds; a real provider takes an hour or two. So the times are set here, as a
    real provider would have taken them: the service's average time is computed from them.
    """
    status = final.pop("status")
    order = order_create(user=customer, service_id=service.pk, data=data, kind=service.kind)
    finished = timezone.now() - timedelta(hours=hours_ago)
    placed = finished - timedelta(minutes=minutes)
    for before, after, fields in (
        (S.AWAITING, S.PLACING, {}),
        (S.PLACING, S.PENDING, {"upstream_order_id": upstream_id, "placed_at": placed}),
        (S.PENDING, S.IN_PROGRESS, {"upstream_status": "In progress", "start_count": 1200}),
        (S.IN_PROGRESS, status, {"upstream_status": S(status).label, **final}),
    ):
        order_transition(order_id=order.pk, from_status=before, status=after, actor=HISTORY_ACTOR, **fields)
    Order.objects.filter(pk=order.pk).update(created_at=placed - timedelta(minutes=1), finished_at=finished)
    return order


def demo_history(*, customer: User, providers: dict[str, Provider]) -> list[str]:
    """Orders finished earlier today: completed (the average time), partial and canceled (refunds), and a product
    with what it delivered. Upstream ids below the simulators' own (10001 and up), so none is ever given twice."""
    if OrderEvent.objects.filter(order__user=customer, actor=HISTORY_ACTOR).exists():
        return ["History: orders finished earlier (already loaded)."]
    main, shop = providers[MAIN.name], providers[SHOP.name]
    plain = _service(main, PLAIN_DEFAULT)
    with transaction.atomic():
        for number, (quantity, minutes, final) in enumerate(
            (
                (100, 70, {"status": S.COMPLETED, "remains": 0}),
                (200, 85, {"status": S.COMPLETED, "remains": 0}),
                (300, 100, {"status": S.COMPLETED, "remains": 0}),
                (400, 120, {"status": S.PARTIAL, "remains": 150}),
                (150, 30, {"status": S.CANCELED, "remains": 150}),
            ),
            start=1,
        ):
            _history_order(
                customer=customer,
                service=plain,
                data={"link": f"https://threads.net/@demo/post/{number}", "quantity": quantity},
                upstream_id=str(9000 + number),
                minutes=minutes,
                hours_ago=8 - number,
                **final,
            )
        product = _service(shop, PRODUCT_AUTO, Service.Kind.PRODUCT)
        _history_order(
            customer=customer,
            service=product,
            data={"quantity": 1, "require": "music@example.com"},
            upstream_id="69001",
            minutes=2,
            hours_ago=5,
            status=S.COMPLETED,
            remains=0,
            result="Spotify premium, 3 months\nActivation code: DEMO-7F3K-Q9PX-2LMW",
        )
        review = order_create(
            user=customer, service_id=_service(main, CHEAP_DEFAULT).pk, data={"link": REVIEW_LINK, "quantity": 500}
        )
        # As a worker leaves an order whose `add` may have reached the provider: Support resends it or attaches
        # the provider's id, a supervisor may settle it.
        order_transition(order_id=review.pk, from_status=S.AWAITING, status=S.PLACING, actor=HISTORY_ACTOR)
        order_transition(
            order_id=review.pk,
            from_status=S.PLACING,
            status=S.NEEDS_REVIEW,
            actor=HISTORY_ACTOR,
            reason="answer lost after sending: the provider did not answer add within 30 s",
            error="Waiting for a check by our staff.",
        )
    services_completion_update(provider_id=main.pk)
    plain.refresh_from_db()
    return [
        f"History: 6 orders finished earlier (service {plain.pk}'s average time is {plain.average_completion}) "
        f"and one waiting for a check by staff (review)."
    ]


def demo_live_orders(*, customer: User, providers: dict[str, Provider]) -> list[str]:
    """Orders the running demo places and polls: they move through their statuses within two minutes."""
    if Order.objects.filter(user=customer, link=FIRST_LIVE_LINK).exists():
        return ["Live orders: already loaded."]
    main, shop = providers[MAIN.name], providers[SHOP.name]
    cheap, plain = _service(main, CHEAP_DEFAULT), _service(main, PLAIN_DEFAULT)
    link = "https://t.me/demo_channel/{}".format
    orders = (
        (cheap, {"link": link(1), "quantity": cheap.min}),
        (cheap, {"link": link(2), "quantity": cheap.min * 2}),
        (cheap, {"link": link(3), "quantity": cheap.min * 3}),
        # Drip-feed by the provider (the operator ticked the service's flag): runs and interval go upstream.
        (cheap, {"link": link(4), "quantity": cheap.min, "runs": 2, "interval": 5}),
        # Drip-feed by the panel: three runs of 100, one a minute, each a child order placed when due.
        (plain, {"link": "https://threads.net/@demo/post/drip", "quantity": 100, "runs": 3, "interval": 1}),
        (_service(main, PACKAGE), {"link": "https://open.spotify.com/track/demo"}),
        (
            _service(main, SUBSCRIPTION),
            {"username": "demo_channel", "min": 50, "max": 100, "posts": 5, "delay": 0},
        ),
        (_service(shop, PRODUCT_AUTO, Service.Kind.PRODUCT), {"quantity": 1, "require": "demo@example.com"}),
        (_service(shop, PRODUCT_BY_HAND, Service.Kind.PRODUCT), {"quantity": 2}),
    )
    for service, data in orders:
        order_create(user=customer, service_id=service.pk, data=data, kind=service.kind)
    return [
        "Live orders: 3 plain, a drip-feed at the provider, one run by the panel, a package, a subscription and "
        "2 products; the demo places and polls them."
    ]


# Support, favourites, alerts, language


def demo_support(*, customer: User, support: User, admin: User) -> list[str]:
    """A ticket about a live order, answered by the support user; an announcement on the dashboard."""
    title = "Can this order go faster?"
    if not Ticket.objects.filter(user=customer, title=title).exists():
        order = Order.objects.filter(user=customer, link=FIRST_LIVE_LINK).first()
        ticket = ticket_open(
            user=customer,
            subject_type=Ticket.SubjectType.ORDER_SPEED_UP,
            title=title,
            body="Hello, I need these shares before tonight's launch. Can you speed the order up?",
            order_ids=[order.pk] if order else [],
        )
        ticket_staff_reply(
            staff=support,
            ticket_id=ticket.pk,
            body="Hello! We asked the provider to prioritise it: it should be completed within the hour.",
        )
    Announcement.objects.get_or_create(
        title="Welcome to the demo panel",
        defaults={
            "body": "This panel runs on **simulated providers**: orders move on their own, every 10 seconds.\n\n"
            "- Try a *drip-feed*, a package or a product\n- Add funds with the test card (no real money)\n"
            "- Share your referral link from the Affiliates page",
            "created_by": admin,
        },
    )
    return ["Support: a ticket answered by support; an announcement."]


def demo_favourites(*, customer: User, providers: dict[str, Provider]) -> list[str]:
    main = providers[MAIN.name]
    for upstream_id in (CHEAP_DEFAULT, PACKAGE):
        favourite_set(user=customer, service_id=_service(main, upstream_id).pk, favourite=True)
    return ["Favourites: 2 services starred by demo."]


def demo_alerts() -> list[str]:
    """The shop's balance is below its threshold: the check beat runs every few minutes raises the alert now."""
    alerts_refresh()
    return [f"Alerts: the low balance at {SHOP.name} (staff dashboard, admin → Alerts)."]


def demo_language_set(*, user: User, language: str) -> list[str]:
    """The partner reads the panel, and gets its e-mails, in another language than English."""
    kept = account_language_set(user=user, language=language)
    return [f"Language: {user.username} reads the panel in {kept}."]


# Restarts: the simulators keep their orders in memory only, so a new run of the demo starts with simulators that
# know nothing of the orders the last run placed.


def _next_id(values, *, first: int) -> int:
    numbers = [int(value) for value in values if value and value.isdigit()]
    return max([first - 1, *numbers]) + 1


def demo_simulator_first_ids(*, provider: Provider) -> dict[str, int]:
    """Where a restarted simulator's ids start: past every id it gave before, so that it never gives one twice
    (the panel would rightly send a new order whose id another order already has to review)."""
    orders = Order.objects.filter(provider=provider)
    products = orders.filter(service__kind=Service.Kind.PRODUCT)
    return {
        "first_order_id": _next_id(
            orders.exclude(pk__in=products).values_list("upstream_order_id", flat=True), first=FIRST_ORDER_ID
        ),
        "first_product_order_id": _next_id(
            products.values_list("upstream_order_id", flat=True), first=FIRST_PRODUCT_ORDER_ID
        ),
        "first_refill_id": _next_id(
            Refill.objects.filter(order__provider=provider).values_list("upstream_refill_id", flat=True),
            first=FIRST_REFILL_ID,
        ),
    }


def demo_orphans_cancel() -> int:
    """Cancel, with their refunds, the orders the last run left running at its simulators, which forgot them when
    they stopped: their provider would answer "Incorrect order ID" forever. Only for run_demo, before it starts its
    simulators (at that moment no simulator has them); a drip-feed run by the panel then settles from its runs."""
    orphans = Order.objects.filter(
        provider__name__in=[spec.name for spec in DEMO_PROVIDERS],
        status__in=UPSTREAM_ACTIVE,
        upstream_order_id__isnull=False,
    ).values_list("pk", flat=True)
    moves = [
        Move(
            order_id=pk,
            from_status=UPSTREAM_ACTIVE,
            status=S.CANCELED,
            fields={"error": FORGOTTEN},
            reason=FORGOTTEN,
        )
        for pk in orphans
    ]
    return len(orders_transition(moves=moves, actor=RESTART_ACTOR))
