"""A provider's settings go through provider_create / provider_update, from the admin as from code: one set of
rules, and the connection checked whenever the key, the URL or the dialect changes."""

from decimal import Decimal

import pytest

from providers.errors import ProviderError
from providers.models import Provider
from providers.services import ProviderInvalid, provider_create, provider_update
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db


def _settings(provider: Provider, **changes) -> dict:
    values = {
        "name": provider.name,
        "api_url": provider.api_url,
        "dialect": provider.dialect,
        "markup_percent": provider.markup_percent,
        "markup_fixed": provider.markup_fixed,
        "hold_new_services": provider.hold_new_services,
        "exchange_rate": provider.exchange_rate,
        "is_active": provider.is_active,
        "low_balance_alert": provider.low_balance_alert,
    }
    return values | changes


def _admin_form(provider: Provider, **changes) -> dict:
    """The change form as a browser posts it: text fields, and a checkbox only when ticked."""
    return {
        name: "on" if value is True else str(value)
        for name, value in _settings(provider, **changes).items()
        if value is not False
    }


def test_a_change_of_markup_alone_saves_without_calling_the_provider(upstream):
    provider = upstream.provider
    upstream.server.stop()  # any call would now fail
    updated = provider_update(provider_id=provider.pk, **_settings(provider, markup_percent=Decimal("25")))
    assert updated.markup_percent == Decimal("25")
    assert Provider.objects.get(pk=provider.pk).markup_percent == Decimal("25")


def test_a_new_key_the_provider_refuses_is_not_saved(upstream):
    provider = upstream.provider
    with pytest.raises(ProviderError, match="Invalid API key"):
        provider_update(provider_id=provider.pk, api_key="wrong", **_settings(provider, markup_percent=Decimal("5")))
    stored = Provider.objects.get(pk=provider.pk)
    assert (stored.api_key, stored.markup_percent) == (upstream.sim.key, Decimal("0"))


def test_the_update_keeps_the_workers_health_counters(upstream):
    provider = upstream.provider
    stale = Provider.objects.get(pk=provider.pk)
    Provider.objects.filter(pk=provider.pk).update(consecutive_failures=3, last_error="timeout")
    provider_update(provider_id=stale.pk, **_settings(stale, name="renamed"))
    stored = Provider.objects.get(pk=provider.pk)
    assert (stored.name, stored.consecutive_failures, stored.last_error) == ("renamed", 3, "timeout")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "SIM-STANDARD"}, "already exists"),
        ({"markup_percent": Decimal("-101")}, "below -100%"),
        ({"exchange_rate": Decimal("0")}, "exchange rate must be above 0"),
        ({"dialect": "999"}, "Unknown dialect"),
    ],
)
def test_create_and_update_refuse_the_same_settings(upstream, changes, message):
    other = Provider.objects.create(name="other", api_url="https://other.test/api/v2", api_key_encrypted="")
    with pytest.raises(ProviderInvalid, match=message):
        provider_update(provider_id=other.pk, **_settings(other, **changes))
    with pytest.raises(ProviderInvalid, match=message):
        provider_create(api_key=upstream.sim.key, **_settings(other, **({"name": "new"} | changes)))


def test_the_admin_edits_a_provider_through_the_service(client, upstream):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    provider = upstream.provider
    url = f"/admin/providers/provider/{provider.pk}/change/"
    Provider.objects.create(name="other", api_url="https://other.test/api/v2", api_key_encrypted="")
    response = client.post(url, _admin_form(provider, name="OTHER"))
    assert response.status_code == 200
    assert "A provider named &#x27;OTHER&#x27; already exists." in response.content.decode()
    response = client.post(url, {**_admin_form(provider), "api_key": "wrong"})
    assert response.status_code == 200
    assert "Connection check failed" in response.content.decode() and "Invalid API key" in response.content.decode()
    response = client.post(url, _admin_form(provider, markup_percent="12.50"))
    assert response.status_code == 302
    stored = Provider.objects.get(pk=provider.pk)
    assert (stored.markup_percent, stored.api_key) == (Decimal("12.50"), upstream.sim.key)
