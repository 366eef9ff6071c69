"""`/api/v2` throttling: a counter per API key and per client address, in fixed time windows."""

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from panel.api_keys import api_key_hash
from panel.client_ip import client_ip

THROTTLE_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def throttle_rate_parse(rate: str) -> tuple[int, int]:
    """ "3000/min" → (3000 requests, 60 seconds)."""
    count, _, period = rate.partition("/")
    return int(count), THROTTLE_PERIODS[period.strip()[:1].lower()]


class WindowThrottle(BaseThrottle):
    """A counter per client and fixed time window in the cache (Redis INCR in production).

    One atomic increment per request, so every hit counts even across many web workers; DRF's
    timestamp-list throttle rewrites a growing list on each request and loses concurrent hits.
    """

    scope = ""
    rate_setting = ""

    def ident_for(self, request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        ident = self.ident_for(request)
        if ident is None:
            return True
        limit, period = throttle_rate_parse(getattr(settings, self.rate_setting))
        now = time.time()
        key = f"throttle:{self.scope}:{ident}:{int(now // period)}"
        try:
            count = cache.incr(key)
        except ValueError:
            count = 1 if cache.add(key, 1, timeout=period + 1) else cache.incr(key)
        self.retry_after = period - (now % period)
        return count <= limit

    def wait(self) -> float:
        return self.retry_after


class ApiKeyThrottle(WindowThrottle):
    scope = "key"
    rate_setting = "API_THROTTLE_KEY_RATE"

    def ident_for(self, request) -> str | None:
        key = request.data.get("key") if hasattr(request.data, "get") else None
        if not isinstance(key, str) or not key:
            return None
        try:
            return api_key_hash(key)[:32]
        except UnicodeEncodeError:
            return None


class ApiIpThrottle(WindowThrottle):
    scope = "ip"
    rate_setting = "API_THROTTLE_IP_RATE"

    def ident_for(self, request) -> str | None:
        return client_ip(request)
