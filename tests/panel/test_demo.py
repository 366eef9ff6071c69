import socket
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from billing.models import AffiliateAccount, AffiliateEntry, FundsRequest, LedgerEntry, PaymentMethod
from core.money import partial_refund
from orders.customer_prices import CustomerDiscount
from orders.models import Alert, Order, OrderEvent, Service, ServiceAlternative
from orders.services.ordering import order_create
from orders.services.transitions import order_transition
from panel.demo import (
    DEMO_LOGINS,
    FINANCE,
    FORGOTTEN,
    HISTORY_ACTOR,
    MAIN,
    PARTNER_LANGUAGE,
    SHOP,
    SUPERVISOR,
    SUPPORT,
    demo_orphans_cancel,
    demo_simulator_first_ids,
)
from panel.models import Favourite, User
from panel.selectors import user_by_api_key
from providers.models import Provider
from support.models import Announcement, Ticket, TicketMessage

pytestmark = pytest.mark.django_db
S = Order.Status


def _call(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def _counts() -> dict[str, int]:
    models = (
        User,
        Provider,
        Service,
        Order,
        OrderEvent,
        LedgerEntry,
        FundsRequest,
        PaymentMethod,
        AffiliateEntry,
        Ticket,
        TicketMessage,
        Announcement,
        Favourite,
        ServiceAlternative,
        Alert,
    )
    return {model.__name__: model.objects.count() for model in models}


@pytest.fixture
def test_gateway(settings):
    settings.PAYMENTS_TEST_GATEWAY = True


def test_demo_setup_run_twice_loads_every_feature_once_and_prints_the_logins(test_gateway):
    first = _call("demo_setup")
    counts = _counts()
    second = _call("demo_setup")
    assert _counts() == counts

    for output in (first, second):
        for login in DEMO_LOGINS:
            assert f"{login.username} / {login.password}" in output
    key = second.strip().splitlines()[-1].removeprefix("Customer API key: ")
    demo = user_by_api_key(key=key)
    assert demo.username == "demo"
    assert first.strip().splitlines()[-1] != second.strip().splitlines()[-1]

    # Staff: the superuser, and one member of each shipped group who is nothing more.
    assert User.objects.get(username="admin").is_superuser
    for login, group in ((SUPPORT, "Support"), (FINANCE, "Finance"), (SUPERVISOR, "Supervisors")):
        user = User.objects.get(username=login.username)
        assert (user.is_staff, user.is_superuser) == (True, False)
        assert list(user.groups.values_list("name", flat=True)) == [group]
        assert user.check_password(login.password)
    assert Group.objects.get(name="Support").user_set.count() == 1

    # Two simulated providers, pointed at the ports run_demo serves them on.
    assert sorted(Provider.objects.values_list("api_url", flat=True)) == [
        "http://127.0.0.1:8001/api/v2",
        "http://127.0.0.1:8002/api/v2",
    ]
    orders = Order.objects.filter(user=demo)
    # Drip-feed: one the provider runs (runs forwarded), one the panel runs (its first run already a child order).
    by_provider = orders.get(runs=2)
    assert (by_provider.dripfeed_by_panel, by_provider.service.dripfeed, by_provider.service.dripfeed_edited) == (
        False,
        True,
        True,
    )
    by_panel = orders.get(dripfeed_by_panel=True)
    assert (by_panel.runs, by_panel.runs_placed, by_panel.run_orders.count()) == (3, 1, 1)
    # Packages and subscriptions.
    package = orders.get(service__type="Package")
    assert package.charge == Decimal("11") * package.quantity / 1000  # demo's own rate for it
    assert orders.filter(service__type="Subscriptions").count() == 1
    # Products: one delivered with its result, two on their way, and one product out of stock.
    products = orders.filter(service__kind=Service.Kind.PRODUCT)
    assert products.count() == 3
    delivered = products.get(status=S.COMPLETED)
    assert "Activation code" in delivered.result
    assert list(Service.objects.filter(kind=Service.Kind.PRODUCT, in_stock=False).values_list("name", flat=True)) == [
        "Youtube premium 1 month"
    ]
    # Finished orders: completed, partial and canceled, refunded by the transition function.
    history = orders.filter(events__actor=HISTORY_ACTOR).distinct()
    assert sorted(history.values_list("status", flat=True)) == sorted(
        [S.CANCELED, S.COMPLETED, S.COMPLETED, S.COMPLETED, S.COMPLETED, S.PARTIAL, S.NEEDS_REVIEW]
    )
    assert history.get(status=S.NEEDS_REVIEW).error == "Waiting for a check by our staff."
    partial = history.get(status=S.PARTIAL)
    assert partial.refunded == partial_refund(charge=partial.charge, remains=150, quantity=400) > 0
    assert history.get(status=S.CANCELED).net_charge == 0
    # Orders the running demo places: nine awaiting (or pending, the panel's drip-feed) the workers.
    live = orders.exclude(pk__in=history).filter(parent__isnull=True)
    assert live.count() == 9
    assert set(live.values_list("status", flat=True)) == {S.AWAITING, S.PENDING}

    # Service details: descriptions written by an operator, the average time, the refill guarantee from the name.
    described = Service.objects.filter(description_edited=True)
    assert described.count() == 2 and all(service.description for service in described)
    assert Service.objects.get(pk=by_panel.service_id).average_completion == timedelta(hours=1, minutes=25)
    assert by_provider.service.refill_days == 30
    assert ServiceAlternative.objects.get().service_id == by_panel.service_id

    # Affiliates: the partner referred demo and earned 10% of each of demo's two credited deposits.
    partner = User.objects.get(username="partner")
    assert AffiliateAccount.objects.get(pk=demo.pk).referred_by_id == partner.pk
    commissions = AffiliateEntry.objects.filter(account_id=partner.pk, kind=AffiliateEntry.Kind.COMMISSION)
    assert sorted(commissions.values_list("amount", flat=True)) == [Decimal("5"), Decimal("10")]

    # Deposits: through the test gateway, a manual one Finance approved, a manual one waiting.
    deposits = FundsRequest.objects.filter(user=demo)
    assert deposits.get(method__gateway="test").status == FundsRequest.Status.APPROVED
    manual = deposits.filter(method__gateway="")
    assert sorted(manual.values_list("status", flat=True)) == [
        FundsRequest.Status.APPROVED,
        FundsRequest.Status.PENDING,
    ]
    assert manual.get(status=FundsRequest.Status.APPROVED).reviewed_by.username == "finance"

    # Support: a ticket about an order, answered by the support user; an announcement.
    ticket = Ticket.objects.get(user=demo)
    assert ticket.orders.count() == 1 and ticket.status == Ticket.Status.WAITING_CUSTOMER
    assert list(ticket.messages.values_list("author__username", "from_staff")) == [
        ("demo", False),
        ("support", True),
    ]
    assert Announcement.objects.filter(is_published=True).count() == 1

    assert Favourite.objects.filter(user=demo).count() == 2
    # Prices: demo's discount on everything else; the partner reads prices in euros too.
    assert CustomerDiscount.objects.get(user=demo).percent == Decimal("5")
    plain = orders.filter(service__type="Default", runs__isnull=True, parent__isnull=True).first()
    assert plain.rate == plain.service.price * Decimal("0.95")
    assert partner.display_currency.code == "EUR"
    alert = Alert.objects.get(resolved_at__isnull=True)
    assert alert.kind == Alert.Kind.LOW_BALANCE and "Demo shop" in alert.message

    # Every balance is the sum of its ledger rows, after all of that.
    assert "OK" in _call("verify_ledger")
    demo.refresh_from_db()
    assert demo.balance == sum(demo.ledger_entries.values_list("amount", flat=True))
    assert demo.balance > 0


def test_demo_setup_gives_the_partner_a_language_other_than_english():
    _call("demo_setup")
    assert User.objects.get(username="partner").language == PARTNER_LANGUAGE == "es"
    assert User.objects.get(username="demo").language == ""  # the language of the pages demo first signs in on


def test_demo_setup_pays_through_the_test_gateway_only_where_it_exists(settings):
    settings.DEBUG = False
    settings.PAYMENTS_TEST_GATEWAY = False
    output = _call("demo_setup")
    assert "test gateway" not in output
    assert not PaymentMethod.objects.filter(gateway="test").exists()
    assert FundsRequest.objects.filter(method__gateway="").count() == 2


def test_demo_setup_points_the_providers_at_the_ports_given():
    _call("demo_setup", "--provider-port", "18431")
    _call("demo_setup", "--provider-port", "18501")
    assert sorted(Provider.objects.values_list("api_url", flat=True)) == [
        "http://127.0.0.1:18501/api/v2",
        "http://127.0.0.1:18502/api/v2",
    ]


def test_run_demo_refuses_a_provider_port_in_use_with_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CommandError, match=f"cannot listen on port {port}.*--provider-port"):
            _call("run_demo", "--provider-port", str(port))


def _demo_order(*, status: str, upstream_id: str | None, kind: str = Service.Kind.SERVICE) -> Order:
    """One of demo's orders at a demo provider, moved to `status` as the workers would."""
    demo = User.objects.get(username="demo")
    if kind == Service.Kind.PRODUCT:
        service = Service.objects.get(provider__name=SHOP.name, kind=kind, provider_service__service_id="3")
    else:
        service = Service.objects.get(provider__name=MAIN.name, provider_service__service_id="3")
    data = {"quantity": 1} if kind == Service.Kind.PRODUCT else {"link": "https://t.me/x", "quantity": service.min}
    order = order_create(user=demo, service_id=service.pk, data=data, kind=kind)
    if status != S.AWAITING:
        order_transition(order_id=order.pk, from_status=S.AWAITING, status=S.PLACING, actor="test")
        order_transition(
            order_id=order.pk, from_status=S.PLACING, status=status, actor="test", upstream_order_id=upstream_id
        )
    return order


def test_a_restarted_demo_simulator_gives_ids_past_those_it_gave_before():
    _call("demo_setup")
    main, shop = Provider.objects.get(name=MAIN.name), Provider.objects.get(name=SHOP.name)
    assert demo_simulator_first_ids(provider=main) == {
        "first_order_id": 10001,
        "first_product_order_id": 70001,
        "first_refill_id": 501,
    }
    _demo_order(status=S.COMPLETED, upstream_id="10007")
    _demo_order(status=S.PENDING, upstream_id="70004", kind=Service.Kind.PRODUCT)
    assert demo_simulator_first_ids(provider=main)["first_order_id"] == 10008
    assert demo_simulator_first_ids(provider=shop)["first_product_order_id"] == 70005

    simulator = MAIN.simulator(**demo_simulator_first_ids(provider=main))
    reply = simulator.handle({"key": "sim-key", "action": "add", "service": "3", "link": "x", "quantity": "100"})
    assert reply.json() == {"order": 10008}


def test_orders_a_stopped_demo_left_at_its_simulators_are_cancelled_and_refunded_when_it_restarts():
    _call("demo_setup")
    running = _demo_order(status=S.IN_PROGRESS, upstream_id="10001")
    waiting = _demo_order(status=S.AWAITING, upstream_id=None)
    finished = _demo_order(status=S.COMPLETED, upstream_id="10002")
    demo = User.objects.get(username="demo")
    balance = demo.balance

    assert demo_orphans_cancel() == 1
    assert demo_orphans_cancel() == 0
    running.refresh_from_db()
    assert (running.status, running.refunded, running.error) == (S.CANCELED, running.charge, FORGOTTEN)
    assert running.events.last().actor == "run_demo"
    assert Order.objects.get(pk=waiting.pk).status == S.AWAITING
    assert Order.objects.get(pk=finished.pk).status == S.COMPLETED
    assert User.objects.get(pk=demo.pk).balance == balance + running.charge
