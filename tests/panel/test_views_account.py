import re

import pytest
from django.urls import reverse

from panel.selectors import user_by_api_key
from panel.services import api_key_rotate

pytestmark = pytest.mark.django_db


def test_the_account_page_shows_only_the_key_prefix(customer_client, customer):
    key = api_key_rotate(user=customer)
    html = customer_client.get(reverse("account")).content.decode()
    assert f'data-testid="api-key-prefix">{key[:8]}<' in html
    assert key not in html


def test_a_new_key_is_shown_once_and_the_old_one_stops_working(customer_client, customer):
    old_key = api_key_rotate(user=customer)
    response = customer_client.post(reverse("api_key_new"))
    html = response.content.decode()
    new_key = re.search(r'data-testid="api-key">([^<]+)<', html).group(1)
    assert user_by_api_key(key=new_key) == customer
    assert user_by_api_key(key=old_key) is None
    assert "no-store" in response["Cache-Control"]
    for page in ("account", "api_docs", "dashboard"):
        assert new_key not in customer_client.get(reverse(page)).content.decode()


def test_a_new_key_needs_post(customer_client):
    assert customer_client.get(reverse("api_key_new")).status_code == 405


def test_forms_carry_a_csrf_token(client, customer):
    client.force_login(customer)
    for name in ("account", "mass_order", "password_change"):
        assert "csrfmiddlewaretoken" in client.get(reverse(name)).content.decode(), name


def test_posts_without_a_csrf_token_are_refused(customer):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(customer)
    assert strict.post(reverse("api_key_new")).status_code == 403
