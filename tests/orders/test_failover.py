"""Failover through simulated providers: an order its provider refuses goes to the next alternative, never to two."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from billing.models import LedgerEntry
from billing.selectors import ledger_mismatches
from orders.models import Order, OrderEvent, Service, ServiceAlternative
from orders.services.catalog import services_sync
from orders.services.cycle import orders_cycle
from orders.services.failover import AlternativeInvalid, order_failover, service_alternative_check
from orders.services.ordering import order_create
from orders.services.upstream import MAX_CONNECT_ATTEMPTS, order_place
from providers.errors import ProviderRefused
from providers.models import ProviderService
from providers.services import provider_create
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db
S = Order.Status

# Service 1 of each simulated catalogue is a Default service; its rate per 1,000 differs with the seed.
PRIMARY_RATE, BACKUP_RATE, THIRD_RATE = Decimal("15.2013"), Decimal("2.688"), Decimal("0.08")
CHARGE = Decimal("19.76169")  # 15.2013 per 1,000 with the primary's 30% markup, for 1,000


@pytest.fixture
def providers(upstream_factory):
    """Three simulated providers; the catalogue sells the primary's service 1 with a 30% markup."""
    made = {}
    for name, seed, markup in (("primary", 0, "30"), ("backup", 1, "0"), ("third", 2, "0")):
        upstream = upstream_factory(seed=seed)
        upstream.provider = provider_create(
            name=name, api_url=upstream.url, api_key=upstream.sim.key, markup_percent=Decimal(markup)
        )
        services_sync(provider_id=upstream.provider.pk)
        made[name] = upstream
    return made


def _upstream_service(upstream, service_id: int = 1) -> ProviderService:
    return ProviderService.objects.get(provider=upstream.provider, service_id=str(service_id))


def _alternatives(providers, *names: str):
    service = providers["primary"].service(1)
    for position, name in enumerate(names, start=1):
        ServiceAlternative.objects.create(
            service=service, provider_service=_upstream_service(providers[name]), position=position
        )
    return service


def _order(service, user=None, quantity: int = 1000) -> Order:
    user = user or UserFactory(balance="100")
    return order_create(user=user, service_id=service.pk, data={"link": "https://insta.test/p/1", "quantity": quantity})


def _adds(upstream) -> list[dict]:
    return [form for action, form in upstream.sim.requests if action == "add"]


def _failovers(order) -> list[str]:
    return list(
        OrderEvent.objects.filter(order=order, from_status=S.PLACING, to_status=S.PLACING).values_list(
            "reason", flat=True
        )
    )


def test_an_order_the_primary_refuses_for_lack_of_funds_is_placed_at_the_backup_at_the_backups_cost(providers):
    service = _alternatives(providers, "backup", "third")
    providers["primary"].sim.balance = 0
    user = UserFactory(balance="100")
    order = _order(service, user)
    assert (order.charge, order.cost) == (CHARGE, PRIMARY_RATE)

    outcome = order_place(order_id=order.pk)

    order.refresh_from_db()
    assert outcome.status == S.PENDING
    assert (order.status, order.upstream_order_id) == (S.PENDING, "10001")
    assert (order.provider, order.provider_service) == (
        providers["backup"].provider,
        _upstream_service(providers["backup"]),
    )
    assert (order.charge, order.cost, order.refunded) == (CHARGE, BACKUP_RATE, 0)
    assert len(_adds(providers["primary"])) == 1 and providers["primary"].sim.order_count == 0
    assert _adds(providers["backup"]) == [
        {"action": "add", "service": "1", "link": "https://insta.test/p/1", "quantity": "1000"}
    ]
    assert providers["backup"].sim.balance == Decimal("1000") - BACKUP_RATE
    assert _adds(providers["third"]) == []
    assert _failovers(order) == [
        "failover: primary service 1 did not take it (Not enough funds on balance); "
        "placing at backup service 1, cost 2.68800"
    ]
    user.refresh_from_db()
    assert user.balance == Decimal("100") - CHARGE
    assert ledger_mismatches() == []


def test_the_backup_then_runs_the_order_to_completion_polled_there(providers):
    service = _alternatives(providers, "backup")
    providers["primary"].sim.balance = 0
    providers["backup"].sim.force_next_fate("partial", remains=250)
    user = UserFactory(balance="100")
    order = _order(service, user)
    orders_cycle()
    providers["backup"].finish_everything()
    orders_cycle()
    order.refresh_from_db()
    assert (order.status, order.remains, order.refunded) == (S.PARTIAL, 250, Decimal("4.94042"))
    # What the backup reports it took (2.688 per 1,000 for the 750 delivered) is the dashboard's cost.
    assert order.upstream_charge == Decimal("2.016")
    assert not [form for action, form in providers["primary"].sim.requests if action == "status"]
    user.refresh_from_db()
    assert user.balance == Decimal("100") - CHARGE + Decimal("4.94042")
    assert ledger_mismatches() == []


def test_a_service_the_primary_disabled_is_placed_at_the_backup(providers):
    service = _alternatives(providers, "backup")
    providers["primary"].sim.withdraw_service(1)
    order = _order(service)
    order_place(order_id=order.pk)
    order.refresh_from_db()
    assert (order.status, order.provider) == (S.PENDING, providers["backup"].provider)
    assert _failovers(order) == [
        "failover: primary service 1 did not take it (Incorrect service ID); placing at backup service 1, cost 2.68800"
    ]


@pytest.mark.parametrize("fault", ["lost_response", "500", "garbage", "html"])
def test_an_add_whose_answer_was_lost_goes_to_review_and_never_to_the_backup(providers, fault):
    service = _alternatives(providers, "backup", "third")
    providers["primary"].sim.inject(fault, "add")
    user = UserFactory(balance="100")
    order = _order(service, user)

    order_place(order_id=order.pk)
    orders_cycle()

    order.refresh_from_db()
    assert (order.status, order.provider, order.provider_service) == (
        S.NEEDS_REVIEW,
        providers["primary"].provider,
        None,
    )
    assert _adds(providers["backup"]) == [] and _adds(providers["third"]) == []
    assert _failovers(order) == []
    user.refresh_from_db()
    assert user.balance == Decimal("100") - CHARGE
    assert ledger_mismatches() == []


def test_when_every_alternative_refuses_the_order_is_canceled_and_refunded_in_full(providers):
    service = _alternatives(providers, "backup", "third")
    providers["primary"].sim.balance = 0
    providers["backup"].sim.withdraw_service(1)
    providers["third"].sim.balance = 0
    user = UserFactory(balance="100")
    order = _order(service, user)

    order_place(order_id=order.pk)

    order.refresh_from_db()
    assert (order.status, order.refunded, order.error) == (S.CANCELED, CHARGE, "Not enough funds on balance")
    assert [len(_adds(providers[name])) for name in ("primary", "backup", "third")] == [1, 1, 1]
    assert _failovers(order) == [
        "failover: primary service 1 did not take it (Not enough funds on balance); "
        "placing at backup service 1, cost 2.68800",
        "failover: backup service 1 did not take it (Incorrect service ID); placing at third service 1, cost 0.08000",
    ]
    user.refresh_from_db()
    assert user.balance == Decimal("100")
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND, amount=CHARGE).count() == 1
    assert ledger_mismatches() == []


def test_without_alternatives_a_refusal_cancels_and_refunds_as_before(providers):
    service = providers["primary"].service(1)
    providers["primary"].sim.balance = 0
    user = UserFactory(balance="100")
    order = _order(service, user)
    order_place(order_id=order.pk)
    order.refresh_from_db()
    assert (order.status, order.refunded, order.provider) == (S.CANCELED, CHARGE, providers["primary"].provider)
    assert _adds(providers["backup"]) == []
    user.refresh_from_db()
    assert user.balance == Decimal("100")


def test_alternatives_are_tried_by_position(providers):
    service = providers["primary"].service(1)
    ServiceAlternative.objects.create(
        service=service, provider_service=_upstream_service(providers["backup"]), position=5
    )
    ServiceAlternative.objects.create(
        service=service, provider_service=_upstream_service(providers["third"]), position=2
    )
    providers["primary"].sim.balance = 0
    order = _order(service)
    order_place(order_id=order.pk)
    order.refresh_from_db()
    assert (order.status, order.provider, order.cost) == (S.PENDING, providers["third"].provider, THIRD_RATE)
    assert _adds(providers["backup"]) == []


def test_an_alternative_the_provider_no_longer_lists_or_of_an_inactive_provider_is_skipped(providers):
    service = _alternatives(providers, "backup", "third")
    ProviderService.objects.filter(pk=_upstream_service(providers["backup"]).pk).update(is_available=False)
    providers["primary"].sim.balance = 0
    order = _order(service)
    order_place(order_id=order.pk)
    order.refresh_from_db()
    assert (order.status, order.provider) == (S.PENDING, providers["third"].provider)
    assert _adds(providers["backup"]) == []


def test_a_lost_answer_at_the_backup_leaves_the_order_in_review_at_the_backup(providers):
    service = _alternatives(providers, "backup", "third")
    providers["primary"].sim.balance = 0
    providers["backup"].sim.inject("lost_response", "add")
    order = _order(service)
    order_place(order_id=order.pk)
    order.refresh_from_db()
    # The operator checks the backup, where the order may be running; the third provider never hears of it.
    assert (order.status, order.provider) == (S.NEEDS_REVIEW, providers["backup"].provider)
    assert providers["backup"].sim.order_count == 1
    assert _adds(providers["third"]) == []


def test_a_provider_unreachable_on_every_attempt_fails_over_after_the_last_attempt(providers):
    service = _alternatives(providers, "backup")
    providers["primary"].server.stop()
    user = UserFactory(balance="100")
    order = _order(service, user)
    for _ in range(MAX_CONNECT_ATTEMPTS - 1):
        assert order_place(order_id=order.pk).retry
    outcome = order_place(order_id=order.pk)
    order.refresh_from_db()
    assert (outcome.status, order.status, order.provider) == (S.PENDING, S.PENDING, providers["backup"].provider)
    assert order.placement_attempts == 1
    (reason,) = _failovers(order)
    assert reason.startswith(
        "failover: primary service 1 did not take it (Provider primary, action add: could not connect"
    )
    assert reason.endswith("; placing at backup service 1, cost 2.68800")
    assert ledger_mismatches() == []


def test_a_retry_at_the_backup_goes_on_to_the_third_never_back_to_the_primary(providers):
    service = _alternatives(providers, "backup", "third")
    providers["primary"].sim.balance = 0
    providers["backup"].server.stop()
    order = _order(service)
    assert order_place(order_id=order.pk).retry
    order.refresh_from_db()
    assert (order.status, order.provider, order.placement_attempts) == (S.AWAITING, providers["backup"].provider, 1)
    for _ in range(MAX_CONNECT_ATTEMPTS - 1):
        order_place(order_id=order.pk)
    order.refresh_from_db()
    assert (order.status, order.provider) == (S.PENDING, providers["third"].provider)
    assert len(_adds(providers["primary"])) == 1


def test_a_cancel_recorded_while_the_primary_refused_is_refunded_instead_of_failed_over(providers, monkeypatch):
    from providers.client import ProviderClient

    service = _alternatives(providers, "backup")
    providers["primary"].sim.balance = 0
    user = UserFactory(balance="100")
    order = _order(service, user)
    add = ProviderClient.add

    def add_while_the_customer_cancels(self, **fields):
        Order.objects.filter(pk=order.pk).update(cancel_requested_at="2026-01-01T00:00:00Z")
        return add(self, **fields)

    monkeypatch.setattr(ProviderClient, "add", add_while_the_customer_cancels)
    order_place(order_id=order.pk)
    order.refresh_from_db()
    assert (order.status, order.refunded) == (S.CANCELED, CHARGE)
    assert _adds(providers["backup"]) == []
    user.refresh_from_db()
    assert user.balance == Decimal("100")


def test_no_failover_for_an_order_that_left_placing_meanwhile(providers):
    service = _alternatives(providers, "backup")
    order = _order(service)
    Order.objects.filter(pk=order.pk).update(status=S.NEEDS_REVIEW)
    order = Order.objects.select_related("service", "provider").get(pk=order.pk)
    refusal = ProviderRefused("Not enough funds on balance", provider="primary", action="add")
    assert order_failover(order=order, error=refusal, actor="worker") is None
    order.refresh_from_db()
    assert (order.status, order.provider, order.provider_service) == (
        S.NEEDS_REVIEW,
        providers["primary"].provider,
        None,
    )


# The operator's list.


def test_an_alternative_must_be_of_the_services_kind_and_type_and_not_the_service_itself(providers):
    service = providers["primary"].service(1)
    with pytest.raises(AlternativeInvalid, match="always tried first"):
        service_alternative_check(service=service, provider_service=service.provider_service)
    with pytest.raises(AlternativeInvalid, match="type is 'Custom Comments'"):
        service_alternative_check(service=service, provider_service=_upstream_service(providers["backup"], 2))
    service_alternative_check(service=service, provider_service=_upstream_service(providers["backup"]))


def _staff(*perms: str):
    user = UserFactory(is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    client = Client()
    client.force_login(user)
    return client


def _service_form(service, alternatives: list[tuple[int, int]]) -> dict:
    data = {
        "name": service.name,
        "category": service.category_id,
        "description": service.description,
        "rate_override": "",
        "is_enabled": "on",
        "alternatives-TOTAL_FORMS": str(len(alternatives)),
        "alternatives-INITIAL_FORMS": "0",
        "alternatives-MIN_NUM_FORMS": "0",
        "alternatives-MAX_NUM_FORMS": "1000",
    }
    for index, (position, provider_service_id) in enumerate(alternatives):
        data[f"alternatives-{index}-position"] = str(position)
        data[f"alternatives-{index}-provider_service"] = str(provider_service_id)
    return data


ALTERNATIVE_EDITOR = (
    "orders.view_service",
    "orders.change_service",
    "orders.view_servicealternative",
    "orders.add_servicealternative",
    "orders.change_servicealternative",
    "orders.delete_servicealternative",
    "providers.view_providerservice",
)


def test_staff_with_the_alternative_permissions_add_one_in_the_service_admin(providers):
    service = providers["primary"].service(1)
    backup = _upstream_service(providers["backup"])
    client = _staff(*ALTERNATIVE_EDITOR)
    page = client.get(reverse("admin:orders_service_change", args=[service.pk]))
    assert "alternative provider services (failover" in page.text.lower()
    response = client.post(
        reverse("admin:orders_service_change", args=[service.pk]), _service_form(service, [(1, backup.pk)])
    )
    assert response.status_code == 302, response.text[:3000]
    assert list(service.alternatives.values_list("position", "provider_service")) == [(1, backup.pk)]


def test_the_service_admin_refuses_an_alternative_of_another_type(providers):
    service = providers["primary"].service(1)
    comments = _upstream_service(providers["backup"], 2)
    client = _staff(*ALTERNATIVE_EDITOR)
    response = client.post(
        reverse("admin:orders_service_change", args=[service.pk]), _service_form(service, [(1, comments.pk)])
    )
    assert response.status_code == 200
    assert "The alternative&#x27;s type is" in response.text
    assert not service.alternatives.exists()


@pytest.mark.parametrize("missing", ["orders.add_servicealternative", "orders.change_service"])
def test_staff_without_the_permission_cannot_add_an_alternative(providers, missing):
    service = providers["primary"].service(1)
    backup = _upstream_service(providers["backup"])
    client = _staff(*(perm for perm in ALTERNATIVE_EDITOR if perm != missing))
    response = client.post(
        reverse("admin:orders_service_change", args=[service.pk]), _service_form(service, [(1, backup.pk)])
    )
    assert response.status_code in (200, 302, 403)
    assert not service.alternatives.exists()


def test_an_order_for_a_provider_whose_circuit_is_open_goes_to_the_backup_without_a_call(providers, settings):
    from orders.tasks import provider_balances_task

    settings.PROVIDER_CIRCUIT_FAILURES = 2
    service = _alternatives(providers, "backup")
    providers["primary"].sim.inject("500", "balance", times=100)
    provider_balances_task()
    provider_balances_task()
    primary = providers["primary"].provider
    primary.refresh_from_db()
    assert primary.consecutive_failures == 2 and primary.next_probe_at is not None
    order = _order(service)

    order_place(order_id=order.pk)

    order.refresh_from_db()
    assert (order.status, order.provider, order.cost) == (S.PENDING, providers["backup"].provider, BACKUP_RATE)
    assert _adds(providers["primary"]) == []
    assert _failovers(order) == [
        "failover: primary service 1 did not take it (Provider primary, action add: its circuit is open after 2 "
        "failures in a row); placing at backup service 1, cost 2.68800"
    ]


def test_with_no_alternative_an_open_circuit_changes_nothing(providers, settings):
    from orders.tasks import provider_balances_task

    settings.PROVIDER_CIRCUIT_FAILURES = 1
    providers["primary"].sim.inject("500", "balance", times=100)
    provider_balances_task()
    order = _order(providers["primary"].service(1))
    order_place(order_id=order.pk)
    order.refresh_from_db()
    assert (order.status, order.provider) == (S.PENDING, providers["primary"].provider)
    assert len(_adds(providers["primary"])) == 1


def test_a_product_out_of_stock_at_the_primary_is_bought_from_the_backup_at_its_unit_rate(upstream_factory):
    made = {}
    for name, seed in (("primary", 0), ("backup", 1)):
        upstream = upstream_factory("003", seed=seed)
        upstream.provider = provider_create(name=name, api_url=upstream.url, api_key=upstream.sim.key)
        services_sync(provider_id=upstream.provider.pk)
        made[name] = upstream
    youtube = Service.objects.get(provider=made["primary"].provider, kind="product", provider_service__service_id="2")
    netflix = ProviderService.objects.get(provider=made["backup"].provider, kind="product", service_id="1")
    ServiceAlternative.objects.create(service=youtube, provider_service=netflix, position=1)
    user = UserFactory(balance="20")
    order = order_create(user=user, service_id=youtube.pk, data={"quantity": 1, "require": "acct"}, kind="product")

    order_place(order_id=order.pk)

    order.refresh_from_db()
    assert (order.status, order.provider, order.provider_service) == (S.PENDING, made["backup"].provider, netflix)
    assert (order.charge, order.cost) == (Decimal("12.00000"), Decimal("1.00000"))
    assert [form for action, form in made["backup"].sim.requests if action == "add_product_order"] == [
        {"action": "add_product_order", "product": "1", "quantity": "1", "require": "acct"}
    ]
    assert "Product is out of stock" in _failovers(order)[0]
    user.refresh_from_db()
    assert user.balance == Decimal("8")
    assert ledger_mismatches() == []
