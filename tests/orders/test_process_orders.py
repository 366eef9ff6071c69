from io import StringIO

import pytest
from django.core.management import call_command

from orders.models import Order
from orders.services.ordering import order_create
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_process_orders_places_polls_and_reports_what_it_did(upstream):
    user = UserFactory(balance="100")
    service = upstream.service(1)
    order = order_create(user=user, service_id=service.pk, data={"link": "https://x.test/1", "quantity": 100})
    out = StringIO()
    call_command("process_orders", "--concurrency", "1", stdout=out)
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert "placement: 1 pending" in out.getvalue()
    upstream.finish_everything()
    out = StringIO()
    call_command("process_orders", stdout=out)
    assert "polled 1 orders in 1 calls, 1 changed status" in out.getvalue()
