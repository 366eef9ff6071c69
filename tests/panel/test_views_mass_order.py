from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import Order
from panel.forms import MASS_ORDER_MAX_LINES
from tests.orders.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def test_valid_lines_are_placed_and_failed_lines_report_why(customer_client, customer):
    service = ServiceFactory(rate=Decimal("1"), min=50)
    lines = "\n".join(
        [
            f"{service.pk}|https://x.test/a|100",
            f"{service.pk}|https://x.test/b|10",
            "999999|https://x.test/c|100",
            "not a line",
            "",
            f" {service.pk} | https://x.test/d?a=1|b | 200 ",
        ]
    )
    response = customer_client.post(reverse("mass_order"), {"orders": lines}, follow=True)
    results = response.context["results"]
    placed = {o.link: o for o in Order.objects.filter(user=customer)}
    assert set(placed) == {"https://x.test/a", "https://x.test/d?a=1|b"}
    assert [r["line"] for r in results] == [1, 2, 3, 4, 5]
    assert results[0]["order"] == placed["https://x.test/a"].pk
    assert results[1]["error"] == "The minimum for this service is 50."
    assert results[2]["error"] == "Incorrect service ID"
    assert results[3]["error"] == "Write the line as service_id|link|quantity."
    assert results[4]["order"] == placed["https://x.test/d?a=1|b"].pk
    html = response.content.decode()
    assert html.count('data-ok="1"') == 2 and html.count('data-ok="0"') == 3
    assert "2 of 5 orders placed." in html
    customer.refresh_from_db()
    assert customer.balance == Decimal("9.7")


def test_running_out_of_funds_stops_only_the_lines_it_cannot_pay(customer_client, customer):
    service = ServiceFactory(rate=Decimal("4"), min=1)
    lines = "\n".join(f"{service.pk}|https://x.test/{n}|1000" for n in range(3))
    results = customer_client.post(reverse("mass_order"), {"orders": lines}, follow=True).context["results"]
    assert [bool(r["order"]) for r in results] == [True, True, False]
    assert results[2]["error"] == "Not enough funds on balance"


def test_the_results_are_shown_once_so_a_reload_places_nothing(customer_client):
    service = ServiceFactory()
    response = customer_client.post(reverse("mass_order"), {"orders": f"{service.pk}|https://x.test/1|100"})
    assert response.status_code == 302
    assert customer_client.get(reverse("mass_order")).context["results"]
    assert customer_client.get(reverse("mass_order")).context["results"] is None
    assert Order.objects.count() == 1


def test_an_empty_or_too_long_list_is_refused_beside_the_textarea(customer_client):
    html = customer_client.post(reverse("mass_order"), {"orders": "  \n "}).content.decode()
    assert "Write at least one order." in html
    lines = "\n".join(["1|https://x.test|100"] * (MASS_ORDER_MAX_LINES + 1))
    html = customer_client.post(reverse("mass_order"), {"orders": lines}).content.decode()
    assert f"At most {MASS_ORDER_MAX_LINES} lines at a time" in html
    assert Order.objects.count() == 0


def test_the_refused_lines_wait_in_the_box_to_be_fixed_and_sent_again(customer_client, customer):
    service = ServiceFactory(rate=Decimal("1"), min=50)
    lines = f"{service.pk}|https://x.test/a|100\n{service.pk}|https://x.test/b|10\nnot a line\n"
    response = customer_client.post(reverse("mass_order"), {"orders": lines}, follow=True)
    assert response.context["form"]["orders"].value() == f"{service.pk}|https://x.test/b|10\nnot a line"
    html = response.content.decode()
    assert "The 2 refused lines are back in the box below" in html
    assert f"{service.pk}|https://x.test/b|10\nnot a line</textarea>" in html
    # Fixed and sent again, they go through; the box is then empty.
    response = customer_client.post(
        reverse("mass_order"), {"orders": f"{service.pk}|https://x.test/b|100"}, follow=True
    )
    assert response.context["form"]["orders"].value() in (None, "")
    assert 'data-testid="mass-refused-kept"' not in response.content.decode()
    assert Order.objects.filter(user=customer).count() == 2
