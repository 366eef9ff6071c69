"""Every staff power asks for its permission: the admin's actions, its custom views and the staff pages.

The walk finds every action and custom URL of every registered ModelAdmin (and every page under the admin's
prefix): each must declare a permission (core/staff.py) and have a scenario in POWERS, so a new one without a
permission, or without a test here, fails. Each scenario is then tried by staff members missing one of its
permissions (refused, and nothing in the database changes), by one holding exactly its permissions and by the
shipped group that holds it (it works), and by the group that does not (refused).
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.test import Client, RequestFactory
from django.urls import URLPattern, get_resolver, reverse

from billing.models import AffiliateAccount, AffiliateEntry, AffiliatePayout, FundsRequest, LedgerEntry, PaymentMethod
from billing.services import (
    affiliate_account_get,
    affiliate_payout_request,
    affiliate_referrer_set,
    funds_request_approve,
    funds_request_create,
)
from orders.models import Order, Service
from orders.services.ordering import order_create
from panel.models import DisplayCurrency, User
from providers.models import Provider
from tests.orders.factories import ServiceFactory
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db


# The walk over what the admin offers.


def custom_actions():
    """(model_admin, function, name) of every action of ours; Django's own (delete_selected) are checked apart."""
    for model_admin in admin.site._registry.values():
        for func, name, _ in model_admin._get_base_actions():
            if not func.__module__.startswith("django."):
                yield model_admin, func, name


def custom_admin_urls():
    """The URLs a ModelAdmin adds to those of the Django class it extends."""
    for model_admin in admin.site._registry.values():
        django_class = next(cls for cls in type(model_admin).__mro__ if cls.__module__.startswith("django."))
        django_names = {pattern.name for pattern in django_class.get_urls(model_admin)}
        for pattern in model_admin.get_urls():
            if pattern.name not in django_names:
                yield pattern


def staff_pages():
    """Pages outside the admin site served under its prefix (the dashboard)."""
    prefix = reverse("admin:index").lstrip("/")
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLPattern) and str(pattern.pattern).startswith(prefix):
            yield pattern


def action_key(model_admin, name: str) -> str:
    return f"{model_admin.opts.label_lower}:{name}"


# Scenarios: one per action and custom view.


@dataclass(frozen=True)
class Power:
    key: str  # "app.model:action" for an action, the URL name for a view
    needs: tuple[str, ...]  # the permissions that grant the power: without any one of them it is refused
    given: Callable[[pytest.FixtureRequest], Any]  # builds what the power acts on
    act: Callable[[Client, Any], Any]  # uses the power, returns the response
    done: Callable[[Any, Any], bool]  # did it work?
    reach: tuple[str, ...] = ()  # what a staff member also needs to open the page the power is on
    group: str | None = None  # the shipped group that holds it

    @property
    def is_action(self) -> bool:
        return "." in self.key.split(":")[0]

    def __str__(self) -> str:
        return self.key


def run_action(key: str, ids: list[int]) -> Callable[[Client, Any], Any]:
    label, name = key.split(":")
    url = reverse(f"admin:{label.replace('.', '_')}_changelist")
    return lambda client, _given: client.post(url, {"action": name, "_selected_action": ids})


def changelist(key: str) -> str:
    return reverse(f"admin:{key.split(':')[0].replace('.', '_')}_changelist")


def upstream_provider(request) -> Provider:
    request.getfixturevalue("settings").CELERY_TASK_ALWAYS_EAGER = True
    provider = request.getfixturevalue("upstream").provider
    provider.refresh_from_db()
    return provider


def repriceable(request) -> dict:
    provider = upstream_provider(request)
    Provider.objects.filter(pk=provider.pk).update(markup_percent=Decimal("50"))
    return {"provider": provider, "rates": dict(Service.objects.filter(provider=provider).values_list("pk", "rate"))}


def charged_order(request, status: str = Order.Status.AWAITING) -> Order:
    customer = UserFactory(balance="10")
    order = order_create(
        user=customer,
        service_id=ServiceFactory(rate=Decimal("1")).pk,
        data={"link": "https://x.test/1", "quantity": 1000},
    )
    Order.objects.filter(pk=order.pk).update(status=status)
    return order


def pending_funds(request) -> FundsRequest:
    method = PaymentMethod.objects.create(name="Bank transfer")
    return funds_request_create(user_id=UserFactory().pk, method_id=method.pk, amount=Decimal("5000"))


def credited_funds(request) -> FundsRequest:
    """A credited deposit of 1000 by a referred customer: its referrer earned 50 (5%) on it."""
    referrer = UserFactory()
    customer = UserFactory()
    affiliate_referrer_set(user_id=customer.pk, code=affiliate_account_get(user_id=referrer.pk).code)
    method = PaymentMethod.objects.create(name="Bank transfer")
    funds = funds_request_create(user_id=customer.pk, method_id=method.pk, amount=Decimal("1000"))
    return funds_request_approve(funds_request_id=funds.pk)


def pending_payout(request) -> AffiliatePayout:
    referrer_id = AffiliateAccount.objects.get(pk=credited_funds(request).user_id).referred_by_id
    return affiliate_payout_request(user_id=referrer_id, amount=Decimal("20"), details="wallet T123")


def gateway_method(request, answer: dict) -> dict:
    """A Cryptomus method and a pending deposit, its API answered by `responses` (no network)."""
    import responses

    mock = responses.RequestsMock(assert_all_requests_are_fired=False)
    mock.start()
    request.addfinalizer(mock.stop)
    request.addfinalizer(mock.reset)
    method = PaymentMethod(name="Cryptomus", gateway="cryptomus")
    method.credentials = {"merchant": "m", "api_key": "k"}
    method.save()
    deposit = funds_request_create(user_id=UserFactory().pk, method_id=method.pk, amount=Decimal("10"))
    result = {"order_id": deposit.reference, "amount": "10.00", "currency": "USD", "status": "paid", "uuid": "u"}
    mock.add(responses.POST, "https://api.cryptomus.com/v1/payment/info", json={"state": 0, "result": result})
    mock.add(responses.POST, "https://api.cryptomus.com/v1/payment/services", json=answer)
    return {"method": method, "deposit": deposit, "mock": mock}


def rates_source(request) -> DisplayCurrency:
    """A display currency whose rate the configured source (answered by `responses`) moves from 0.90 to 0.95."""
    import responses

    request.getfixturevalue("settings").DISPLAY_CURRENCY_RATES_URL = "https://rates.test/{currency}"
    mock = responses.RequestsMock(assert_all_requests_are_fired=False)
    mock.start()
    request.addfinalizer(mock.stop)
    request.addfinalizer(mock.reset)
    mock.add(responses.GET, "https://rates.test/USD", json={"base_code": "USD", "rates": {"EUR": 0.95}})
    return DisplayCurrency.objects.create(code="EUR", rate=Decimal("0.90"))


def fresh(obj):
    obj.refresh_from_db()
    return obj


POWERS = [
    Power(
        key="providers.provider:test_connection",
        needs=("providers.change_provider",),
        given=upstream_provider,
        act=lambda client, provider: client.post(
            changelist("providers.provider:"), {"action": "test_connection", "_selected_action": [provider.pk]}
        ),
        done=lambda provider, _: Provider.objects.get(pk=provider.pk).balance_checked_at != provider.balance_checked_at,
    ),
    Power(
        key="providers.provider:sync_now",
        needs=("providers.change_provider", "orders.change_service"),
        given=upstream_provider,
        act=lambda client, provider: client.post(
            changelist("providers.provider:"), {"action": "sync_now", "_selected_action": [provider.pk]}
        ),
        done=lambda provider, _: Provider.objects.get(pk=provider.pk).last_sync_at > provider.last_sync_at,
    ),
    Power(
        key="providers.provider:reprice",
        needs=("providers.change_provider", "orders.change_service"),
        given=repriceable,
        act=lambda client, given: client.post(
            changelist("providers.provider:"), {"action": "reprice", "_selected_action": [given["provider"].pk]}
        ),
        done=lambda given, _: all(
            rate > given["rates"][pk]
            for pk, rate in Service.objects.filter(provider=given["provider"]).values_list("pk", "rate")
        ),
    ),
    Power(
        key="orders.service:enable",
        needs=("orders.change_service",),
        given=lambda request: ServiceFactory(is_enabled=False, disabled_by=Service.DisabledBy.OPERATOR),
        act=lambda client, service: client.post(
            changelist("orders.service:"), {"action": "enable", "_selected_action": [service.pk]}
        ),
        done=lambda service, _: fresh(service).is_enabled,
    ),
    Power(
        key="orders.service:disable",
        needs=("orders.change_service",),
        given=lambda request: ServiceFactory(),
        act=lambda client, service: client.post(
            changelist("orders.service:"), {"action": "disable", "_selected_action": [service.pk]}
        ),
        done=lambda service, _: not fresh(service).is_enabled,
    ),
    Power(
        key="admin:orders_service_markup",
        needs=("orders.change_service",),
        given=lambda request: ServiceFactory(cost=Decimal("1"), rate=Decimal("1.3")),
        act=lambda client, service: client.post(
            reverse("admin:orders_service_markup"),
            {"scope": "category", "category": service.category_id, "percent": "50", "fixed": "0", "apply": "1"},
        ),
        done=lambda service, _: fresh(service).rate_override == Decimal("1.5"),
    ),
    Power(
        key="orders.order:resend",
        needs=("orders.resend_order",),
        reach=("orders.view_order",),
        group="Support",
        given=lambda request: charged_order(request, Order.Status.NEEDS_REVIEW),
        act=lambda client, order: client.post(
            changelist("orders.order:"), {"action": "resend", "_selected_action": [order.pk], "post": "yes"}
        ),
        done=lambda order, _: fresh(order).status == Order.Status.AWAITING,
    ),
    Power(
        key="orders.order:cancel_and_refund",
        needs=("orders.cancel_refund_order",),
        reach=("orders.view_order",),
        group="Support",
        given=charged_order,
        act=lambda client, order: client.post(
            changelist("orders.order:"), {"action": "cancel_and_refund", "_selected_action": [order.pk], "post": "yes"}
        ),
        done=lambda order, _: (fresh(order).status, fresh(order.user).balance) == (Order.Status.CANCELED, 10),
    ),
    Power(
        key="admin:orders_order_attach",
        needs=("orders.attach_upstream_id",),
        group="Support",
        given=lambda request: charged_order(request, Order.Status.NEEDS_REVIEW),
        act=lambda client, order: client.post(
            reverse("admin:orders_order_attach", args=[order.pk]), {"upstream_order_id": "777"}
        ),
        done=lambda order, _: (fresh(order).status, order.upstream_order_id) == (Order.Status.PENDING, "777"),
    ),
    Power(
        key="admin:orders_order_mark_completed",
        needs=("orders.mark_completed_order",),
        group="Supervisors",
        given=lambda request: charged_order(request, Order.Status.IN_PROGRESS),
        act=lambda client, order: client.post(
            reverse("admin:orders_order_mark_completed", args=[order.pk]),
            {"seen_status": "in_progress", "reason": "delivered, the provider closed"},
        ),
        done=lambda order, _: (fresh(order).status, fresh(order.user).balance) == (Order.Status.COMPLETED, 9),
    ),
    Power(
        key="admin:orders_order_mark_partial",
        needs=("orders.mark_partial_order",),
        group="Supervisors",
        given=lambda request: charged_order(request, Order.Status.PENDING),
        act=lambda client, order: client.post(
            reverse("admin:orders_order_mark_partial", args=[order.pk]),
            {"seen_status": "pending", "remains": "400", "reason": "the provider delivered 600"},
        ),
        done=lambda order, _: (
            (fresh(order).status, fresh(order.user).balance) == (Order.Status.PARTIAL, Decimal("9.4"))
        ),
    ),
    Power(
        key="admin:orders_order_cancel_by_hand",
        needs=("orders.cancel_order_by_hand",),
        group="Supervisors",
        given=lambda request: charged_order(request, Order.Status.PROCESSING),
        act=lambda client, order: client.post(
            reverse("admin:orders_order_cancel_by_hand", args=[order.pk]),
            {"seen_status": "processing", "refund": "0.25", "reason": "the provider vanished"},
        ),
        done=lambda order, _: (
            (fresh(order).status, fresh(order.user).balance) == (Order.Status.CANCELED, Decimal("9.25"))
        ),
    ),
    Power(
        key="billing.fundsrequest:approve",
        needs=("billing.approve_funds",),
        reach=("billing.view_fundsrequest",),
        group="Finance",
        given=pending_funds,
        act=lambda client, funds: client.post(
            changelist("billing.fundsrequest:"), {"action": "approve", "_selected_action": [funds.pk]}
        ),
        done=lambda funds, _: (fresh(funds).status, fresh(funds.user).balance) == ("approved", 5000),
    ),
    Power(
        key="billing.fundsrequest:reject",
        needs=("billing.approve_funds",),
        reach=("billing.view_fundsrequest",),
        group="Finance",
        given=pending_funds,
        act=lambda client, funds: client.post(
            changelist("billing.fundsrequest:"), {"action": "reject", "_selected_action": [funds.pk]}
        ),
        done=lambda funds, _: fresh(funds).status == "rejected",
    ),
    Power(
        key="billing.fundsrequest:check_with_gateway",
        needs=("billing.approve_funds",),
        reach=("billing.view_fundsrequest",),
        group="Finance",
        given=lambda request: gateway_method(request, {"state": 0, "result": []}),
        act=lambda client, given: client.post(
            changelist("billing.fundsrequest:"),
            {"action": "check_with_gateway", "_selected_action": [given["deposit"].pk]},
        ),
        done=lambda given, _: fresh(given["deposit"]).status == "approved",
    ),
    Power(
        key="billing.fundsrequest:reverse",
        needs=("billing.reverse_deposit",),
        reach=("billing.view_fundsrequest",),
        group="Finance",
        given=credited_funds,
        act=lambda client, funds: client.post(
            changelist("billing.fundsrequest:"), {"action": "reverse", "_selected_action": [funds.pk]}
        ),
        done=lambda funds, _: (fresh(funds).status, fresh(funds.user).balance) == ("reversed", 0),
    ),
    Power(
        key="billing.affiliatepayout:approve",
        needs=("billing.approve_affiliate_payout",),
        reach=("billing.view_affiliatepayout",),
        group="Finance",
        given=pending_payout,
        act=lambda client, payout: client.post(
            changelist("billing.affiliatepayout:"), {"action": "approve", "_selected_action": [payout.pk]}
        ),
        done=lambda payout, _: fresh(payout).status == "approved",
    ),
    Power(
        key="billing.affiliatepayout:reject",
        needs=("billing.approve_affiliate_payout",),
        reach=("billing.view_affiliatepayout",),
        group="Finance",
        given=pending_payout,
        act=lambda client, payout: client.post(
            changelist("billing.affiliatepayout:"), {"action": "reject", "_selected_action": [payout.pk]}
        ),
        done=lambda payout, _: (fresh(payout).status, fresh(payout.account).balance) == ("rejected", 50),
    ),
    Power(
        key="billing.paymentmethod:test_credentials",
        needs=("billing.change_paymentmethod",),
        given=lambda request: gateway_method(request, {"state": 0, "result": []}),
        act=lambda client, given: client.post(
            changelist("billing.paymentmethod:"),
            {"action": "test_credentials", "_selected_action": [given["method"].pk]},
        ),
        done=lambda given, _: len(given["mock"].calls) == 1,
    ),
    Power(
        key="admin:billing_paymentmethod_test",
        needs=("billing.change_paymentmethod",),
        given=lambda request: gateway_method(request, {"state": 0, "result": []}),
        act=lambda client, given: client.post(reverse("admin:billing_paymentmethod_test", args=[given["method"].pk])),
        done=lambda given, _: len(given["mock"].calls) == 1,
    ),
    Power(
        key="admin:panel_user_balance",
        needs=("billing.adjust_balance",),
        group="Finance",
        given=lambda request: UserFactory(balance="1"),
        act=lambda client, customer: client.post(
            reverse("admin:panel_user_balance", args=[customer.pk]), {"amount": "2.5", "memo": "bank transfer 77"}
        ),
        done=lambda customer, _: fresh(customer).balance == Decimal("3.5"),
    ),
    Power(
        key="panel.displaycurrency:fetch_rates",
        needs=("panel.change_displaycurrency",),
        given=rates_source,
        act=lambda client, currency: client.post(
            changelist("panel.displaycurrency:"), {"action": "fetch_rates", "_selected_action": [currency.pk]}
        ),
        done=lambda currency, _: fresh(currency).rate == Decimal("0.95"),
    ),
    Power(
        key="staff_dashboard",
        needs=("orders.view_dashboard",),
        group="Finance",
        given=lambda request: None,
        act=lambda client, _: client.get(reverse("staff_dashboard")),
        done=lambda _, response: response.status_code == 200 and b'id="staff-dashboard"' in response.content,
    ),
]
GROUPS = ("Support", "Finance", "Supervisors")


def permissions(*names: str) -> list[Permission]:
    found = []
    for name in names:
        app_label, codename = name.split(".")
        found.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return found


def staff(*, perms=(), groups=(), every_permission_but: str | None = None) -> User:
    user = UserFactory(is_staff=True)
    if every_permission_but:
        user.user_permissions.set(Permission.objects.exclude(pk=permissions(every_permission_but)[0].pk))
    else:
        user.user_permissions.set(permissions(*perms))
    user.groups.set(Group.objects.filter(name__in=groups))
    return user


def world() -> dict:
    """What a staff power could change: balances, the ledger, orders, funds requests, the catalog, providers."""
    return {
        "balances": list(User.objects.order_by("pk").values_list("pk", "balance")),
        "ledger": list(LedgerEntry.objects.order_by("pk").values_list("pk", "amount")),
        "orders": list(Order.objects.order_by("pk").values_list("pk", "status", "upstream_order_id", "refunded")),
        "funds": list(FundsRequest.objects.order_by("pk").values_list("pk", "status", "reviewed_by")),
        "affiliate_balances": list(AffiliateAccount.objects.order_by("pk").values_list("pk", "balance")),
        "affiliate_ledger": list(AffiliateEntry.objects.order_by("pk").values_list("pk", "amount")),
        "payouts": list(AffiliatePayout.objects.order_by("pk").values_list("pk", "status", "reviewed_by")),
        "services": list(Service.objects.order_by("pk").values_list("pk", "is_enabled", "rate", "rate_override")),
        "display_rates": list(DisplayCurrency.objects.order_by("pk").values_list("pk", "rate")),
        "providers": list(
            Provider.objects.order_by("pk").values_list("pk", "balance_checked_at", "last_sync_at", "markup_percent")
        ),
    }


def assert_refused(power: Power, user: User, request) -> None:
    given = power.given(request)
    client = Client()
    client.force_login(user)
    before = world()
    response = power.act(client, given)
    assert world() == before
    assert not power.done(given, response)
    if power.is_action:
        page = client.get(changelist(power.key))
        assert page.status_code == 403 or f'<option value="{power.key.split(":")[1]}">' not in page.content.decode()
        # 403 without access to the list; else the list again (302 "No action selected", or 200 when none is offered).
        assert response.status_code in (200, 302, 403)
    else:
        assert response.status_code == 403


def assert_works(power: Power, user: User, request) -> None:
    given = power.given(request)
    client = Client()
    client.force_login(user)
    response = power.act(client, given)
    assert response.status_code in (200, 302), response.content.decode()[:2000]
    assert power.done(given, response)


# The walk.


def test_every_admin_action_declares_a_permission_its_admin_can_check():
    for model_admin, func, name in [*custom_actions(), *admin_site_actions()]:
        declared = getattr(func, "allowed_permissions", ())
        assert declared, f"{action_key(model_admin, name)} declares no permissions"
        for permission in declared:
            assert callable(getattr(model_admin, f"has_{permission}_permission", None)), (
                f"{action_key(model_admin, name)}: {type(model_admin).__name__} has no has_{permission}_permission"
            )


def admin_site_actions():
    for model_admin in admin.site._registry.values():
        for func, name, _ in model_admin._get_base_actions():
            if func.__module__.startswith("django."):
                yield model_admin, func, name


def test_every_custom_admin_view_and_staff_page_requires_permissions_that_exist():
    patterns = [*custom_admin_urls(), *staff_pages()]
    assert {p.name for p in patterns} >= {"orders_order_attach", "panel_user_balance", "staff_dashboard"}
    for pattern in patterns:
        required = getattr(pattern.callback, "required_permissions", ())
        assert required, f"{pattern.name} ({pattern.pattern}) requires no permission: use core.staff"
        permissions(*required)


def test_every_action_and_custom_view_has_a_scenario_here():
    walked = {action_key(model_admin, name) for model_admin, _, name in custom_actions()}
    walked |= {f"admin:{p.name}" for p in custom_admin_urls()} | {p.name for p in staff_pages()}
    assert walked == {power.key for power in POWERS}


def test_the_scenarios_name_the_permissions_the_code_declares():
    declared = {f"admin:{p.name}": set(p.callback.required_permissions) for p in custom_admin_urls()}
    declared |= {p.name: set(p.callback.required_permissions) for p in staff_pages()}
    for power in POWERS:
        if not power.is_action:
            assert set(power.needs) == declared[power.key], power.key


def test_staff_with_every_view_permission_is_offered_no_action_anywhere():
    viewer = staff(
        perms=[
            f"{p.content_type.app_label}.{p.codename}"
            for p in Permission.objects.all()
            if p.codename.startswith("view_") and p.codename != "view_dashboard"
        ]
    )
    request = RequestFactory().get("/admin/")
    request.user = User.objects.get(pk=viewer.pk)
    for model_admin in admin.site._registry.values():
        assert model_admin.get_actions(request) == {}, model_admin.opts.label


def test_a_superuser_is_offered_every_action_of_ours():
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    for model_admin, _, name in custom_actions():
        assert name in model_admin.get_actions(request), action_key(model_admin, name)


# Each power, tried.

REFUSALS = [(power, "nothing") for power in POWERS] + [(power, missing) for power in POWERS for missing in power.needs]


@pytest.mark.parametrize(
    ("power", "missing"), REFUSALS, ids=[f"{power}-without-{missing}" for power, missing in REFUSALS]
)
def test_staff_without_the_permission_is_refused_and_nothing_changes(request, power, missing):
    user = staff() if missing == "nothing" else staff(every_permission_but=missing)
    assert_refused(power, user, request)


@pytest.mark.parametrize("power", POWERS, ids=str)
def test_staff_with_exactly_the_permission_can_use_it(request, power):
    assert_works(power, staff(perms=[*power.needs, *power.reach]), request)


GROUPED = [power for power in POWERS if power.group]


@pytest.mark.parametrize("power", GROUPED, ids=str)
def test_the_group_holding_a_power_can_use_it(request, power):
    assert_works(power, staff(groups=[power.group]), request)


@pytest.mark.parametrize("power", GROUPED, ids=str)
def test_the_other_groups_are_refused(request, power):
    for other in GROUPS:
        if other != power.group:
            assert_refused(power, staff(groups=[other]), request)


# The cases the issue reproduced, spelled out.


def test_approving_funds_with_only_view_fundsrequest_is_refused_and_credits_nothing(client):
    funds = pending_funds(None)
    client.force_login(staff(perms=["billing.view_fundsrequest"]))
    client.post(changelist("billing.fundsrequest:"), {"action": "approve", "_selected_action": [funds.pk]})
    assert fresh(funds).status == FundsRequest.Status.PENDING
    assert fresh(funds.user).balance == 0 and not LedgerEntry.objects.exists()


def test_cancel_and_refund_with_only_view_order_is_refused(client):
    order = charged_order(None)
    client.force_login(staff(perms=["orders.view_order"]))
    client.post(changelist("orders.order:"), {"action": "cancel_and_refund", "_selected_action": [order.pk]})
    assert fresh(order).status == Order.Status.AWAITING
    assert fresh(order.user).balance == Decimal("9")
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND).exists()


def test_attaching_an_upstream_id_with_no_permission_is_refused(client):
    order = charged_order(None, Order.Status.NEEDS_REVIEW)
    client.force_login(staff())
    url = reverse("admin:orders_order_attach", args=[order.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"upstream_order_id": "777"}).status_code == 403
    assert fresh(order).status == Order.Status.NEEDS_REVIEW and not order.upstream_order_id


def test_the_old_change_user_check_no_longer_opens_the_credit_form(client):
    customer = UserFactory(balance="1")
    client.force_login(staff(perms=["panel.view_user", "panel.change_user"]))
    response = client.post(reverse("admin:panel_user_balance", args=[customer.pk]), {"amount": "100", "memo": "x"})
    assert response.status_code == 403
    assert fresh(customer).balance == Decimal("1")


def test_the_attach_button_and_the_dashboard_show_only_to_who_may_use_them(client):
    order = charged_order(None, Order.Status.NEEDS_REVIEW)
    client.force_login(staff(perms=["orders.view_order"]))
    assert "Attach the provider" not in client.get(reverse("admin:orders_order_change", args=[order.pk])).text
    assert 'id="staff-dashboard"' not in client.get(reverse("admin:index")).text
    client.force_login(staff(groups=["Support", "Finance"]))
    assert "Attach the provider" in client.get(reverse("admin:orders_order_change", args=[order.pk])).text
    assert 'id="staff-dashboard"' in client.get(reverse("admin:index")).text


# Who hands out powers.


def test_change_user_does_not_let_staff_grant_powers(client):
    customer = UserFactory()
    client.force_login(staff(perms=["panel.view_user", "panel.change_user"]))
    page = client.get(reverse("admin:panel_user_change", args=[customer.pk])).text
    assert 'name="is_superuser"' not in page and 'name="user_permissions"' not in page and 'name="groups"' not in page
    assert 'name="is_active"' in page


def test_change_user_does_not_open_staff_accounts_or_their_passwords(client):
    boss = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff(perms=["panel.view_user", "panel.change_user"]))
    password_url = reverse("admin:auth_user_password_change", args=[boss.pk])
    response = client.post(password_url, {"password1": "taken-over-1234", "password2": "taken-over-1234"})
    assert response.status_code == 403
    assert fresh(boss).check_password("password-for-tests")
    response = client.post(reverse("admin:panel_user_change", args=[boss.pk]), {"username": "renamed"})
    assert response.status_code == 403
    assert fresh(boss).username != "renamed"


def test_only_superusers_change_groups(client):
    support = Group.objects.get(name="Support")
    client.force_login(staff(perms=["auth.view_group", "auth.change_group", "auth.add_group", "auth.delete_group"]))
    response = client.post(
        reverse("admin:auth_group_change", args=[support.pk]),
        {"name": "Support", "permissions": [p.pk for p in Permission.objects.all()]},
    )
    assert response.status_code == 403
    assert client.get(reverse("admin:auth_group_add")).status_code == 403
    assert support.permissions.count() == 9  # panel 0002 and support 0002
