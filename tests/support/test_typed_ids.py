"""Order and ticket ids typed into the support pages follow core.ids: a clear answer, never a 500."""

import pytest
from django.urls import reverse

from support.forms import TicketOpenForm
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db
NOT_IDS = ["²", "١٢", "1_0", "9" * 19]


@pytest.mark.parametrize("text", NOT_IDS)
def test_the_staff_queue_searches_a_text_that_only_looks_like_a_number_by_name(client, handler, text):
    client.force_login(handler)
    response = client.get(reverse("support:staff_queue"), {"q": text})
    assert response.status_code == 200 and response.context["ticket_rows"] == []


@pytest.mark.parametrize("text", NOT_IDS)
def test_a_new_ticket_link_with_no_order_id_opens_an_empty_form(client, text):
    client.force_login(UserFactory())
    response = client.get(reverse("support:ticket_new"), {"order": text})
    assert response.status_code == 200 and response.context["form"].initial == {}


def test_a_new_ticket_link_names_its_order(client):
    client.force_login(UserFactory())
    response = client.get(reverse("support:ticket_new"), {"order": " 7 "})
    assert response.context["form"].initial == {"orders": "7", "subject_type": "order_other"}


@pytest.mark.parametrize("text", NOT_IDS)
def test_order_ids_in_a_ticket_are_plain_numbers(text):
    form = TicketOpenForm(data={"subject_type": "order_other", "title": "t", "body": "b", "orders": f"5, {text}"})
    assert not form.is_valid()
    assert form.errors["orders"] == ["Order IDs are numbers separated by commas."]
