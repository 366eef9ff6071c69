from decimal import Decimal

import pytest
import responses

from orders.models import Category, Service, ServiceChange
from orders.services.catalog import catalog_reprice, service_operator_edit, services_set_enabled, services_sync
from providers.errors import ProviderError
from providers.models import ProviderService
from tests.providers.factories import ProviderFactory

pytestmark = pytest.mark.django_db
URL = "https://upstream.test/api/v2"


def _service(service_id, **overrides):
    return {
        "service": service_id,
        "name": f"Followers {service_id}",
        "type": "Default",
        "category": "Instagram",
        "rate": "0.90",
        "min": "50",
        "max": "10000",
        "refill": True,
        "cancel": True,
        **overrides,
    }


def _sync(provider, services):
    with responses.RequestsMock() as mock:
        mock.post(URL, json=services)
        return services_sync(provider_id=provider.pk)


@pytest.fixture
def provider():
    return ProviderFactory(api_url=URL, markup_percent=Decimal("50"), markup_fixed=Decimal("0.1"))


def test_new_services_go_on_sale_priced_with_the_markup_rounded_up(provider):
    report = _sync(provider, [_service(1), _service(2, rate="0.00003", category="TikTok")])
    assert (report.total, report.created) == (2, 2)
    first, second = Service.objects.order_by("provider_service__service_id")
    assert (first.cost, first.rate, first.is_enabled, first.category.name) == (
        Decimal("0.9"),
        Decimal("1.45"),
        True,
        "Instagram",
    )
    assert second.rate == Decimal("0.10005")  # 0.00003 × 1.5 + 0.1 = 0.100045, rounded up
    assert set(Category.objects.values_list("name", flat=True)) == {"Instagram", "TikTok"}
    assert ServiceChange.objects.filter(kind="added").count() == 2
    provider.refresh_from_db()
    assert provider.last_sync_ok is True and "2 new" in provider.last_sync_message


def test_held_providers_keep_new_services_disabled_for_an_operator(provider):
    provider.hold_new_services = True
    provider.save()
    _sync(provider, [_service(1)])
    service = Service.objects.get()
    assert (service.is_enabled, service.disabled_by) == (False, Service.DisabledBy.HELD)


def test_operator_edits_survive_the_next_sync(provider):
    _sync(provider, [_service(1)])
    service = Service.objects.get()
    service.name = "Our best followers"
    service.category = Category.objects.create(name="Featured")
    service.rate_override = Decimal("5")
    service_operator_edit(service=service, changed={"name", "category", "rate_override"})
    _sync(provider, [_service(1, name="Upstream renamed", category="Other", rate="1.00")])
    service.refresh_from_db()
    assert (service.name, service.category.name, service.price) == ("Our best followers", "Featured", Decimal("5"))
    assert service.rate == Decimal("1.6")


def test_an_operator_disabled_service_stays_disabled(provider):
    _sync(provider, [_service(1)])
    services_set_enabled(service_ids=list(Service.objects.values_list("pk", flat=True)), enabled=False)
    _sync(provider, [_service(1, rate="2")])
    assert Service.objects.get().is_enabled is False


def test_a_service_gone_upstream_is_disabled_not_deleted_and_comes_back(provider):
    _sync(provider, [_service(1), _service(2)])
    report = _sync(provider, [_service(1)])
    assert report.removed == 1
    gone = Service.objects.get(provider_service__service_id="2")
    assert (gone.is_enabled, gone.disabled_by) == (False, Service.DisabledBy.UPSTREAM)
    assert ProviderService.objects.get(service_id="2").is_available is False
    assert services_set_enabled(service_ids=[gone.pk], enabled=True) == 0
    report = _sync(provider, [_service(1), _service(2)])
    gone.refresh_from_db()
    assert (report.restored, gone.is_enabled) == (1, True)


def test_rate_min_and_max_changes_are_recorded(provider):
    _sync(provider, [_service(1)])
    _sync(provider, [_service(1, rate="1.10", min="100", max="5000")])
    changes = sorted(ServiceChange.objects.exclude(kind="added").values_list("kind", "old_value", "new_value"))
    assert changes == [("max", "10000", "5000"), ("min", "50", "100"), ("rate", "1.45000", "1.75000")]


def test_unchanged_services_write_nothing(provider):
    _sync(provider, [_service(1)])
    report = _sync(provider, [_service(1)])
    assert (report.created, report.updated, report.removed) == (0, 0, 0)


def test_a_markup_change_reprices_from_the_snapshot_without_calling_the_provider(provider):
    _sync(provider, [_service(1)])
    provider.markup_percent = Decimal("100")
    provider.save()
    catalog_reprice(provider_id=provider.pk)
    assert Service.objects.get().rate == Decimal("1.9")


def test_untrusted_names_are_stored_without_control_characters(provider):
    _sync(provider, [_service(1, name="<b>Likes</b>\x00\x07 fast", category="\x00")])
    service = Service.objects.get()
    assert (service.name, service.category.name) == ("<b>Likes</b> fast", "Other")


def test_a_failed_sync_is_recorded_and_changes_nothing(provider):
    _sync(provider, [_service(1)])
    with responses.RequestsMock() as mock:
        mock.post(URL, body="<html>502 Bad Gateway</html>", status=502)
        with pytest.raises(ProviderError):
            services_sync(provider_id=provider.pk)
    provider.refresh_from_db()
    assert provider.last_sync_ok is False and "502" in provider.last_sync_message
    assert Service.objects.get().is_enabled is True


@pytest.mark.postgres  # SQLite caps the parameters per statement, so its bulk inserts are smaller
def test_ten_thousand_services_sync_in_few_queries(provider, django_assert_max_num_queries):
    services = [_service(i, category=f"Category {i % 50}") for i in range(1, 10_001)]
    with django_assert_max_num_queries(100):
        report = _sync(provider, services)
    assert report.created == 10_000
