"""The services list (prices, margins, edited in the list) and the bulk markup with its price preview."""

from decimal import Decimal

import pytest

from orders.models import Service, ServiceChange
from tests.orders.factories import CategoryFactory, ServiceFactory

pytestmark = pytest.mark.django_db
MARKUP = "/admin/orders/service/markup/"


@pytest.fixture
def operator(client):
    from tests.panel.factories import UserFactory

    client.force_login(UserFactory(is_staff=True, is_superuser=True))


def test_the_services_list_shows_price_cost_and_margin(client, operator):
    ServiceFactory(cost=Decimal("0.90"), rate=Decimal("1.20"))
    ServiceFactory(cost=Decimal("2"), rate=Decimal("1.20"), rate_override=Decimal("1.50"))
    page = client.get("/admin/orders/service/").content.decode()
    assert '<span class="console-up">25.0%</span>' in page
    assert '<span class="console-down">-33.3%</span>' in page
    assert 'id="markup-link"' in page


def test_prices_and_sale_are_edited_in_the_list(client, operator):
    service = ServiceFactory(rate=Decimal("1.20"))
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-0-id": str(service.pk),
        "form-0-rate_override": "2.5",
        "_save": "Save",
    }
    response = client.post("/admin/orders/service/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    service.refresh_from_db()
    assert (service.rate_override, service.is_enabled, service.disabled_by) == (Decimal("2.5"), False, "operator")


def test_the_markup_preview_shows_every_price_and_changes_nothing(client, operator):
    category = CategoryFactory(name="Views")
    cheap = ServiceFactory(category=category, cost=Decimal("1"), rate=Decimal("1.30"))
    dear = ServiceFactory(category=category, cost=Decimal("10"), rate=Decimal("20"))
    ServiceFactory(cost=Decimal("1"), rate=Decimal("1.30"))  # another category
    response = client.post(MARKUP, {"scope": "category", "category": category.pk, "percent": "50", "preview": "1"})
    page = response.content.decode()
    assert '<p data-testid="markup-summary">2 services, 2 prices change.' in page
    assert '<span class="console-up">+15.4%</span>' in page and '<span class="console-down">-25.0%</span>' in page
    assert 'data-testid="apply-markup">Change 2 prices' in page
    assert list(Service.objects.filter(rate_override__isnull=False)) == []
    assert {cheap.pk, dear.pk} == {c.service.pk for c in response.context["preview"]}


def test_applying_a_markup_by_provider_writes_price_overrides_and_catalog_changes(client, operator):
    service = ServiceFactory(cost=Decimal("0.33333"), rate=Decimal("0.40"))
    other = ServiceFactory(cost=Decimal("1"), rate=Decimal("1.30"))
    response = client.post(
        MARKUP,
        {"scope": "provider", "provider": service.provider_id, "percent": "20", "fixed": "0.1", "apply": "1"},
    )
    assert response.status_code == 302
    service.refresh_from_db()
    other.refresh_from_db()
    # 0.33333 × 1.2 + 0.1 = 0.499996, rounded up to 5 places.
    assert (service.rate_override, service.price, other.rate_override) == (Decimal("0.50000"), Decimal("0.5"), None)
    change = ServiceChange.objects.get(service=service)
    assert (change.kind, change.old_value, change.new_value) == ("rate", "0.40000", "0.50000")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"scope": "category", "percent": "10"}, "Choose the category."),
        ({"scope": "provider", "percent": "10"}, "Choose the provider."),
        ({"scope": "category", "percent": "5000"}, "The markup must be between -100% and 1000%."),
        ({"scope": "category", "percent": "ten"}, "Enter a number."),
    ],
)
def test_a_bad_markup_is_refused_with_a_clear_error(client, operator, data, error):
    service = ServiceFactory()
    data = {**data, "apply": "1"}
    if data["scope"] == "category" and "ten" not in data["percent"] and data["percent"] != "10":
        data["category"] = service.category_id
    response = client.post(MARKUP, data)
    assert response.status_code == 200 and error in response.content.decode()
    service.refresh_from_db()
    assert service.rate_override is None
