from urllib.parse import urlencode

import pytest
from django.core.cache import cache

from panel.api import ApiIpThrottle, ApiKeyThrottle
from panel.services import api_key_rotate
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _post(client, **fields):
    return client.post("/api/v2", urlencode(fields), content_type="application/x-www-form-urlencoded")


def test_a_key_over_its_rate_gets_a_json_429_with_retry_after(client, settings):
    settings.API_THROTTLE_KEY_RATE = "3/min"
    key = api_key_rotate(user=UserFactory())
    answers = [_post(client, key=key, action="balance") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].json()["error"].startswith("Too many requests: retry in")
    assert int(answers[-1]["Retry-After"]) > 0
    other = api_key_rotate(user=UserFactory())
    assert _post(client, key=other, action="balance").status_code == 200


def test_an_address_over_its_rate_is_refused_whatever_the_key(client, settings):
    settings.API_THROTTLE_IP_RATE = "2/min"
    assert [_post(client, key=f"guess-{i}", action="balance").status_code for i in range(3)] == [200, 200, 429]


def test_the_default_rates_let_a_reseller_send_a_thousand_calls_a_minute(settings):
    for throttle in (ApiKeyThrottle(), ApiIpThrottle()):
        count, seconds = throttle.parse_rate(throttle.get_rate())
        assert count / seconds * 60 >= 1000
