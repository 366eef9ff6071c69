"""The two groups an operator hands out hold exactly what they promise (panel/migrations/0002, support/0002)."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.db import connection

pytestmark = pytest.mark.django_db

SUPPORT = {
    "orders.view_order",
    "orders.view_orderevent",
    "orders.view_refill",
    "orders.resend_order",
    "orders.attach_upstream_id",
    "orders.cancel_refund_order",
    "panel.view_user",
    "support.handle_ticket",
    "support.view_ticket",
}
FINANCE = {
    "billing.view_fundsrequest",
    "billing.approve_funds",
    "billing.view_ledgerentry",
    "billing.adjust_balance",
    "billing.view_paymentmethod",
    "orders.view_dashboard",
    "panel.view_user",
    # billing/migrations/0006: affiliate payouts and deposit reversals.
    "billing.approve_affiliate_payout",
    "billing.view_affiliatepayout",
    "billing.view_affiliateaccount",
    "billing.view_affiliateentry",
    "billing.reverse_deposit",
}

SUPERVISORS = {
    "orders.view_order",
    "orders.view_orderevent",
    "orders.view_refill",
    "orders.mark_completed_order",
    "orders.mark_partial_order",
    "orders.cancel_order_by_hand",
    "panel.view_user",
}


def held(name: str) -> set[str]:
    group = Group.objects.get(name=name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_support_holds_exactly_the_order_powers():
    assert held("Support") == SUPPORT


def test_finance_holds_exactly_the_money_powers():
    assert held("Finance") == FINANCE


def test_supervisors_hold_exactly_the_powers_to_set_an_outcome_by_hand():
    assert held("Supervisors") == SUPERVISORS


def test_no_group_can_change_a_model_or_hand_out_powers():
    for name in ("Support", "Finance", "Supervisors"):
        assert not {p for p in held(name) if p.split(".")[1].startswith(("add_", "change_", "delete_"))}


def test_running_the_migration_again_changes_nothing():
    migration = importlib.import_module("panel.migrations.0002_staff_groups")
    with connection.schema_editor(atomic=False) as editor:
        migration.create_staff_groups(apps, editor)
    assert (held("Support"), held("Finance")) == (SUPPORT, FINANCE)
