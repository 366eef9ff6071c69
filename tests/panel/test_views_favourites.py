"""Favourite services: a star per service (POST with CSRF, from the page's script or a plain
form), a Favourites category at the top of the new-order picker."""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from panel.models import Favourite
from tests.orders.factories import ServiceFactory
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db


def _star(client, service_id: int, favourite: str, **extra):
    return client.post(reverse("service_favourite", args=[service_id]), {"favourite": favourite}, **extra)


def test_a_star_from_the_script_answers_json_and_is_kept_once(customer_client, customer):
    service = ServiceFactory()
    for _ in range(2):
        response = _star(customer_client, service.pk, "1", HTTP_ACCEPT="application/json")
        assert response.json() == {"service": service.pk, "favourite": True}
    assert list(Favourite.objects.filter(user=customer).values_list("service_id", flat=True)) == [service.pk]
    response = _star(customer_client, service.pk, "0", HTTP_ACCEPT="application/json")
    assert response.json() == {"service": service.pk, "favourite": False}
    assert not Favourite.objects.exists()


def test_without_script_the_form_stars_and_comes_back_to_the_page(customer_client, customer):
    service = ServiceFactory()
    response = customer_client.post(
        reverse("service_favourite", args=[service.pk]), {"favourite": "1", "next": "/services/?q=x"}
    )
    assert response.status_code == 302 and response.url == "/services/?q=x"
    assert Favourite.objects.filter(user=customer, service=service).exists()
    response = customer_client.post(
        reverse("service_favourite", args=[service.pk]), {"favourite": "1", "next": "https://evil.test/"}
    )
    assert response.url == reverse("services")


def test_a_service_not_on_sale_cannot_be_starred_but_a_star_can_always_be_removed(customer_client, customer):
    hidden = ServiceFactory(is_enabled=False)
    response = _star(customer_client, hidden.pk, "1", HTTP_ACCEPT="application/json")
    assert response.status_code == 404 and response.json() == {"error": "Incorrect service ID"}
    response = customer_client.post(reverse("service_favourite", args=[999999]), {"favourite": "1"}, follow=True)
    assert "Service 999999: Incorrect service ID" in response.content.decode()
    Favourite.objects.create(user=customer, service=hidden)
    assert _star(customer_client, hidden.pk, "0", HTTP_ACCEPT="application/json").json()["favourite"] is False
    assert not Favourite.objects.exists()


def test_starring_needs_a_post_with_the_csrf_token_and_a_customer(customer):
    service = ServiceFactory()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(customer)
    assert _star(strict, service.pk, "1").status_code == 403
    assert strict.get(reverse("service_favourite", args=[service.pk])).status_code == 405
    anonymous = Client()
    assert _star(anonymous, service.pk, "1").status_code == 302
    assert not Favourite.objects.exists()


def test_stars_are_each_customers_own(customer_client, customer):
    service = ServiceFactory()
    Favourite.objects.create(user=UserFactory(), service=service)
    html = customer_client.get(reverse("services")).content.decode()
    assert f'aria-pressed="false" data-testid="favourite-button" data-service-id="{service.pk}"' in html


def test_the_services_page_shows_each_services_star(customer_client, customer):
    starred, plain = ServiceFactory(), ServiceFactory()
    Favourite.objects.create(user=customer, service=starred)
    html = customer_client.get(reverse("services")).content.decode()
    assert f'aria-pressed="true" data-testid="favourite-button" data-service-id="{starred.pk}"' in html
    assert f'aria-pressed="false" data-testid="favourite-button" data-service-id="{plain.pk}"' in html


def test_the_new_order_picker_has_a_favourites_category_at_the_top(customer_client, customer):
    starred, plain = ServiceFactory(), ServiceFactory()
    Favourite.objects.create(user=customer, service=starred)
    response = customer_client.get(reverse("new_order"))
    html = response.content.decode()
    category_select = re.search(r'<select name="category".*?</select>', html, re.S).group(0)
    first_option = re.search(r"<option[^>]*>[^<]*</option>", category_select).group(0)
    assert 'value="favourites"' in first_option and "★ Favourites (1)" in first_option
    # Without script the service list opens with the favourites too.
    service_select = re.search(r'<select name="service".*?</select>', html, re.S).group(0)
    assert service_select.index('label="★ Favourites"') < service_select.index(f'<option value="{starred.pk}"')
    data = json.loads(re.search(r'id="services-data" type="application/json">(.*?)</script>', html, re.S).group(1))
    assert {s["id"]: s["favourite"] for s in data} == {starred.pk: True, plain.pk: False}


def test_an_order_still_goes_through_when_placed_from_the_favourites(customer_client, customer):
    service = ServiceFactory()
    Favourite.objects.create(user=customer, service=service)
    response = customer_client.post(
        reverse("new_order"),
        {"category": "favourites", "service": service.pk, "link": "https://x.test/1", "quantity": "100"},
    )
    assert response.status_code == 302 and customer.orders.count() == 1
