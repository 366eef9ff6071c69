"""The customers list (balance, spent, orders, last login) and a customer's page with their orders and ledger."""

from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import Order
from orders.services.ordering import order_create
from tests.orders.factories import OrderFactory, ServiceFactory
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))


def test_the_list_shows_balance_spent_net_of_refunds_and_orders(client, operator):
    customer = UserFactory(username="buyer", balance="10")
    service = ServiceFactory(rate=Decimal("1"))
    for n in range(3):
        order_create(user=customer, service_id=service.pk, data={"link": f"https://x.test/{n}", "quantity": 1000})
    first = Order.objects.filter(user=customer).order_by("pk").first()
    Order.objects.filter(pk=first.pk).update(refunded=Decimal("0.25"))
    response = client.get(reverse("admin:panel_user_changelist") + "?q=buyer")
    row = next(obj for obj in response.context["cl"].result_list if obj.pk == customer.pk)
    assert (row.balance, row.spent_total, row.orders_total) == (Decimal("7"), Decimal("2.75"), 3)
    page = response.content.decode()
    assert f'href="/admin/orders/order/?user__id__exact={customer.pk}">3</a>' in page
    for header in ("Balance", "Spent", "Orders", "Last login"):
        assert header in page


def test_a_customer_page_shows_ten_orders_and_ten_ledger_rows_at_a_time(client, operator):
    customer = UserFactory(balance="100")
    orders = OrderFactory.create_batch(25, user=customer)
    page = client.get(reverse("admin:panel_user_change", args=[customer.pk]))
    assert page.status_code == 200
    formsets = {formset.formset.prefix: formset.formset for formset in page.context["inline_admin_formsets"]}
    shown = [form.instance.pk for form in formsets["orders"].forms]
    assert shown == [order.pk for order in sorted(orders, key=lambda o: -o.pk)][:10]
    second = client.get(reverse("admin:panel_user_change", args=[customer.pk]) + "?orders-page=3")
    formsets = {f.formset.prefix: f.formset for f in second.context["inline_admin_formsets"]}
    assert len(formsets["orders"].forms) == 5
    assert len(formsets["ledger_entries"].forms) == 1


def test_a_customers_page_does_not_offer_staff_permissions(client, operator):
    customer = UserFactory()
    page = client.get(reverse("admin:panel_user_change", args=[customer.pk])).content.decode()
    assert 'name="user_permissions"' not in page and 'name="is_staff"' in page
    staff = UserFactory(is_staff=True)
    page = client.get(reverse("admin:panel_user_change", args=[staff.pk])).content.decode()
    assert 'name="user_permissions"' in page


def test_the_list_shows_a_customers_discount(client, operator):
    from orders.customer_prices import CustomerDiscount

    reseller = UserFactory(username="reseller")
    CustomerDiscount.objects.create(user=reseller, percent=Decimal("5"))
    UserFactory(username="retail")
    page = client.get(reverse("admin:panel_user_changelist")).content.decode()
    assert '?q=reseller">5.00%</a>' in page
