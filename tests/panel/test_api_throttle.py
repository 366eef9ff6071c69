from urllib.parse import urlencode

import pytest
from django.core.cache import cache

from panel.services import api_key_rotate
from panel.throttling import throttle_rate_parse
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
    for rate in (settings.API_THROTTLE_KEY_RATE, settings.API_THROTTLE_IP_RATE):
        count, seconds = throttle_rate_parse(rate)
        assert count / seconds * 60 >= 1000


@pytest.mark.redis
def test_concurrent_hits_all_count_in_redis(settings):
    import threading

    from django.test import RequestFactory

    from panel.throttling import ApiIpThrottle

    settings.API_THROTTLE_IP_RATE = "20/min"
    request = RequestFactory().post("/api/v2", REMOTE_ADDR="203.0.113.9")
    allowed = []
    barrier = threading.Barrier(50)

    def hit():
        barrier.wait()
        allowed.append(ApiIpThrottle().allow_request(request, None))

    threads = [threading.Thread(target=hit) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 20


def test_fresh_forwarded_headers_do_not_escape_the_address_limit_without_a_trusted_proxy(client, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.API_THROTTLE_IP_RATE = "5/min"
    codes = [
        client.post(
            "/api/v2",
            urlencode({"key": f"guess-{n}", "action": "balance"}),
            content_type="application/x-www-form-urlencoded",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        ).status_code
        for n in range(30)
    ]
    assert codes == [200] * 5 + [429] * 25


def test_behind_one_proxy_the_address_it_saw_counts_not_what_the_client_wrote(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.API_THROTTLE_IP_RATE = "5/min"

    def post(forwarded: str) -> int:
        return client.post(
            "/api/v2",
            urlencode({"key": "guess", "action": "balance"}),
            content_type="application/x-www-form-urlencoded",
            REMOTE_ADDR="10.0.0.2",  # the proxy
            HTTP_X_FORWARDED_FOR=forwarded,
        ).status_code

    # The client forges the left part; the proxy appends the address it really saw.
    spoofed = [post(f"192.0.2.{n}, 203.0.113.7") for n in range(8)]
    assert spoofed == [200] * 5 + [429] * 3
    assert post("203.0.113.8") == 200


def test_the_client_address_rule(rf, settings):
    from core.client_ip import client_ip

    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.7, 10.0.0.1")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "10.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request) == "203.0.113.7"
    garbage = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-address")
    assert client_ip(garbage) == "10.0.0.2"
